// StreamFilter: the base of single-threaded transforming filters (filter-unzstd, filter-gunzip).
// The transform runs on one thread and its output leaves on another, through a short BlockQueue, so
// decoding overlaps the writing downstream (decoders are fast: the output I/O is a large share):
//   PULL → PUSH  run(0) pulls and transforms, run(1) pushes;
//   PUSH → PUSH  upstream's push() transforms, run(0) pushes;
//   PULL → PULL  run(0) pulls and transforms, downstream's pull() takes the output.
// The subclass implements consume() and finish() and writes its output through room()/commit();
// end_slice() closes an output slice (the block carrying its last byte gets slice_end) so a
// decoder can turn each frame back into one slice. A full block leaves only once a byte has gone
// into the next one, so the last block of a slice can still be marked.
//
// EOF: finish() runs once at the upstream's EOF unless the transfer was cancelled or failed; then
// the partial block and EOF go downstream. Cancel: unblock() cancels the queue, so every wait
// ends; pull() returns EOF, push() drops its block, and run() returns.
#pragma once

#include "block_queue.h"
#include "xfa/element.h"

namespace xfa {

class StreamFilter : public Element {
 public:
  explicit StreamFilter(std::string kind) : Element(std::move(kind)), out_q_(kQueueBlocks) {}

  static MechPairs pairs() {
    return {{Mech::kPullBuffer, Mech::kPushBuffer, 1, 0, 2},
            {Mech::kPushBuffer, Mech::kPushBuffer, 1, 0, 1},
            {Mech::kPullBuffer, Mech::kPullBuffer, 1, 0, 1}};
  }
  MechPairs mech_pairs() const override { return pairs(); }

  void run(int thread_index) override;
  BlockRef pull() override;
  void push(BlockRef b) override;
  void unblock() override;
  void close() override;

 protected:
  // The data thread: transform one input block. Report bad input with fail().
  virtual void consume(const Block& in) = 0;
  // The data thread, once, at the upstream's EOF: check for truncated input, flush.
  virtual void finish() = 0;

  // Output: free space in the current block (≥ 1 byte); commit(n) after writing n bytes of it.
  uint8_t* room(size_t* n);
  void commit(size_t n);
  // The output since the previous end_slice() is slice `slice`: mark its last block and send it.
  void end_slice(uint64_t slice);
  // Slice number given to output blocks from now on (until the next end_slice()).
  void set_out_slice(uint64_t slice) { out_slice_ = slice; }
  uint64_t out_total() const { return out_total_; }

 private:
  static constexpr size_t kQueueBlocks = 8;
  void transform_loop();
  void writer_loop();
  void emit(BlockRef b);
  void at_eof();

  BlockRef held_;  // the previous, full block (see room())
  BlockRef cur_;
  uint64_t out_slice_ = 0;
  uint64_t out_total_ = 0;
  BlockQueue out_q_;  // transformed blocks on their way downstream
  bool eof_ = false;
};

}  // namespace xfa
