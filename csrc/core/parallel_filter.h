// ParallelFilter: the base of filters that encode independent pieces of a stream on several
// threads and emit the results in stream order (filter-zstd, filter-gzip; pigz's scheme).
//
// The input is cut into *jobs* of at most `job_bytes`, never spanning two frames. A *frame* is the
// codec's restartable unit (a zstd frame, a gzip member): with `per_slice` a frame ends at every
// slice end (SliceCutter: `slice_size` bytes, or the upstream's marks when 0), and the output
// carries the same slice numbers, a slice_end on each slice's last block, and one `slice` message
// per slice. Without `per_slice` slices are ignored and frames end every `frame_bytes` (0 = one
// frame for the whole stream).
//
// Roles, each on the element's own run() threads (declared in the MechPair, never std::thread):
//   reader      pulls upstream blocks, cuts jobs (PULL input; with PUSH input upstream's push()
//               does this on its own thread);
//   compressor  ×workers: encode(worker, job), any order, in parallel;
//   writer      hands finished jobs downstream in order (PUSH output; with PULL output
//               downstream's pull() does it), then the codec's trailer, then EOF.
// Input blocks are held by reference (no copy) until their job's output is written. At most
// `max_inflight` jobs exist at once: that is the back-pressure and the memory bound.
//
// With `pin_frames`, all jobs of one frame go to the same compressor in order (a zstd frame is one
// sequential context); otherwise any compressor takes any job (gzip members are built from
// independent raw-deflate pieces, each primed with the previous piece's last `dict_bytes`).
//
// EOF: the reader's EOF closes the open job; the writer ends after the last job and the trailer.
// Cancel: unblock() sets `stopped_` and wakes every condition variable; pull() then returns EOF,
// push() drops its block, every run() returns, and the writer still pushes EOF downstream.
// Lock order: mu_ is a leaf lock; codec hooks and neighbours are always called without it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "xfa/element.h"
#include "xfa/slice.h"

namespace xfa {

// Output bytes in pooled blocks, filled in order. Used by one thread at a time.
class OutBlocks {
 public:
  explicit OutBlocks(Element* e) : e_(e) {}
  // Free space at the end, at least 1 byte (a fresh block when the last is full).
  uint8_t* room(size_t* n);
  void commit(size_t n);
  void append(const void* p, size_t n);
  uint64_t bytes() const { return bytes_; }
  // The last n (≤ bytes()) bytes into dst.
  void tail(uint8_t* dst, size_t n) const;
  // The filled blocks (a trailing empty block that room() made but nothing filled is dropped).
  std::vector<BlockRef>& blocks();

 private:
  Element* e_;
  std::vector<BlockRef> blocks_;
  uint64_t bytes_ = 0;
};

struct CodecJob {
  struct Span {
    BlockRef block;  // keeps the bytes alive
    const uint8_t* data;
    size_t size;
  };
  explicit CodecJob(Element* e) : out(e) {}

  uint64_t seq = 0;
  uint64_t frame = 0;  // frame number in the stream
  uint64_t slice = 0;  // input slice (per_slice mode)
  bool frame_start = false;
  bool frame_end = false;
  bool slice_end = false;
  std::vector<Span> in;
  uint64_t in_bytes = 0;
  std::vector<uint8_t> dict;  // the frame's input just before this job (dict_bytes at most)
  OutBlocks out;
  uint32_t check = 0;  // the codec's per-job value (zstd: frame checksum, gzip: CRC-32 of `in`)

  // Pipeline bookkeeping (under ParallelFilter::mu_).
  bool taken = false;
  bool done = false;
};

struct ParallelConfig {
  uint32_t workers = 1;
  uint64_t job_bytes = 4u << 20;
  bool per_slice = true;
  uint64_t slice_size = 0;
  uint64_t frame_bytes = 0;      // !per_slice: end a frame every N input bytes, 0 = never
  uint64_t max_frame_bytes = 0;  // exact cap on one frame's input, 0 = none
  size_t dict_bytes = 0;
  bool pin_frames = false;
  bool empty_frame_at_eof = false;  // an empty stream still yields one (empty) frame
  size_t max_inflight = 0;          // 0 = 2 × workers + 2
};

class ParallelFilter : public Element {
 public:
  ParallelFilter(std::string kind, ParallelConfig cfg);
  ~ParallelFilter() override;

  // The class's table for `workers` compressors (thread counts include reader/writer roles).
  static MechPairs pairs_for(uint32_t workers);
  MechPairs mech_pairs() const override { return pairs_for(cfg_.workers); }

  void run(int thread_index) override;
  BlockRef pull() override;
  void push(BlockRef b) override;
  void unblock() override;
  void close() override;

 protected:
  // Compressor thread `worker` (0-based, < workers): encode job.in (+dict) into job.out, set
  // job.check. Return false after fail()ing.
  virtual bool encode(int worker, CodecJob& job) = 0;
  // Writer role, in stream order, before the job's output leaves: may append to job.out.
  virtual void ordered(CodecJob& /*job*/) {}
  // Writer role, after the last job: bytes that end the stream (with per_slice they form one more
  // slice, numbered after the last, with in_length 0).
  virtual void trailer(OutBlocks& /*out*/) {}

  const ParallelConfig& config() const { return cfg_; }

 private:
  enum class Role { kReader, kWriter, kCompressor };
  void reader_loop();
  void writer_loop();
  void compressor_loop(int worker);

  // Reader side (one thread at a time).
  void feed(const BlockRef& b);
  void add_piece(const BlockRef& b, const uint8_t* p, size_t n, bool end, uint64_t slice);
  bool open_job(uint64_t slice);
  void close_job(bool frame_end, bool slice_end);
  void finish_input();

  // Compressor side.
  CodecJob* take_job_locked(int worker);

  // Writer side.
  BlockRef next_out();
  void emit_job(CodecJob& j);
  void emit_trailer();

  const ParallelConfig cfg_;
  SliceCutter cutter_;

  std::mutex mu_;
  std::condition_variable space_cv_;  // reader: a job slot was freed
  std::condition_variable work_cv_;   // compressors: a job was queued / input ended
  std::condition_variable done_cv_;   // writer: a job finished / input ended
  bool stopped_ = false;
  bool input_done_ = false;
  size_t inflight_ = 0;
  std::deque<std::unique_ptr<CodecJob>> jobs_;  // dispatched, not yet written, in seq order
  std::map<uint64_t, int> frame_owner_;          // pin_frames: frame → compressor

  // Reader state.
  std::unique_ptr<CodecJob> cur_;
  uint64_t next_seq_ = 0;
  uint64_t frame_no_ = 0;
  bool in_frame_ = false;
  uint64_t frame_in_ = 0;
  uint64_t last_slice_ = 0;
  bool any_job_ = false;
  std::vector<uint8_t> tail_;  // last dict_bytes of the open frame's input
  bool input_finished_ = false;

  // Writer state.
  std::vector<BlockRef> pending_;
  size_t pending_pos_ = 0;
  bool out_finished_ = false;
  uint64_t in_pos_ = 0, out_pos_ = 0;
  uint64_t slice_in0_ = 0, slice_out0_ = 0;
  uint64_t next_out_slice_ = 0;
};

}  // namespace xfa
