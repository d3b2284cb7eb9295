// filter-zstd: zstd compression in-process (libzstd built from zstd-napi's sources), on the
// element's own threads (ParallelFilter: reader, `workers` compressors, writer).
//
// Output, by mode:
//   seekable=false, workers=1   one zstd frame for the whole stream, like `zstd -c`.
//   seekable=false, workers=N   one independent frame per `frame-size` of input, compressed N at a
//                               time (zstd's own -T threads are not used: every thread is one the
//                               worker pool granted, so a transfer never runs more than it asked for).
//   seekable=true               one frame per slice (slice-size, or the upstream's marks when 0;
//                               a slice above 1 GiB is split into 1 GiB frames, the seekable
//                               format's frame limit), then the zstd seekable-format seek table
//                               (csrc/core/zstd_seek_table.h) as one more slice with in_length 0.
//                               Slices are compressed in parallel; one slice message each.
// Every frame is standard zstd, so `zstd -d` decodes any of these streams whole, and a frame range
// taken from the seek table decodes alone.
#include <zstd.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <thread>

#include "parallel_filter.h"
#include "xfa/element.h"
#include "zstd_seek_table.h"

namespace xfa {
namespace {

uint32_t worker_count(const Props& p) {
  const int64_t w = p.get_int("workers", 1);
  if (w > 0) return static_cast<uint32_t>(w);
  const unsigned hw = std::thread::hardware_concurrency();
  return hw ? hw : 1;
}

// Jobs are small (1 MiB: compressed while the input is still in the core's cache); frames span
// several jobs of one compressor. Enough jobs may be in flight for every compressor to hold a whole
// frame (up to 64 MiB of it) plus the reader's and writer's.
ParallelConfig make_config(const Props& p) {
  ParallelConfig c;
  c.workers = worker_count(p);
  c.job_bytes = static_cast<uint64_t>(p.get_int("job-size", 1 << 20));
  c.per_slice = p.get_bool("seekable", false);
  c.slice_size = static_cast<uint64_t>(p.get_int("slice-size", 0));
  if (!c.per_slice && c.slice_size) throw std::invalid_argument("property \"slice-size\" needs seekable=true");
  const uint64_t frame = static_cast<uint64_t>(p.get_int("frame-size", 4 << 20));
  c.frame_bytes = c.per_slice || c.workers == 1 ? 0 : std::max(frame, c.job_bytes);
  c.max_frame_bytes = c.per_slice ? zstd_seek::kMaxFrameDecompressed : 0;
  c.pin_frames = true;  // a frame longer than a job is one sequential context
  c.empty_frame_at_eof = !c.per_slice;  // like `zstd -c </dev/null`: one empty frame
  const uint64_t per_frame = c.per_slice ? (c.slice_size ? c.slice_size : c.job_bytes) : std::max(c.frame_bytes, c.job_bytes);
  const uint64_t jobs_per_frame = (std::min<uint64_t>(per_frame, 64u << 20) + c.job_bytes - 1) / c.job_bytes;
  c.max_inflight = static_cast<size_t>(c.workers * jobs_per_frame + 2);
  return c;
}

class FilterZstd final : public ParallelFilter {
 public:
  explicit FilterZstd(const Props& p)
      : ParallelFilter("filter-zstd", make_config(p)), level_(static_cast<int>(p.get_int("level", 3))),
        checksum_(p.get_bool("checksum", true)) {
    if (level_ < ZSTD_minCLevel() || level_ > ZSTD_maxCLevel())
      throw std::invalid_argument("property \"level\" must be between " + std::to_string(ZSTD_minCLevel()) + " and " +
                                  std::to_string(ZSTD_maxCLevel()));
  }
  ~FilterZstd() override { free_contexts(); }

  // Main thread: one compression context per compressor thread.
  Status setup() override {
    for (uint32_t i = 0; i < config().workers; ++i) {
      ZSTD_CCtx* c = ZSTD_createCCtx();
      if (!c) return plain_error("setup", "cannot allocate a zstd compression context");
      cctx_.push_back(c);
      if (Status s = check(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level_), "set level")) return s;
      if (Status s = check(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, checksum_ ? 1 : 0), "set checksum")) return s;
    }
    return ok();
  }

  void close() override {
    ParallelFilter::close();
    free_contexts();
  }

 protected:
  // Compressor thread `w`; a job that does not start its frame continues w's open frame.
  bool encode(int w, CodecJob& job) override {
    ZSTD_CCtx* c = cctx_[static_cast<size_t>(w)];
    if (job.frame_start) {
      ZSTD_CCtx_reset(c, ZSTD_reset_session_only);
      // A frame that is one job has a known size: the header records it, small frames get small
      // tables.
      if (job.frame_end) ZSTD_CCtx_setPledgedSrcSize(c, job.in_bytes);
    }
    for (const CodecJob::Span& s : job.in) {
      ZSTD_inBuffer in{s.data, s.size, 0};
      while (in.pos < in.size) {
        if (!step(c, job, &in, ZSTD_e_continue)) return false;
      }
    }
    if (!job.frame_end) return true;
    ZSTD_inBuffer none{nullptr, 0, 0};
    for (;;) {
      size_t left = 0;
      if (!step(c, job, &none, ZSTD_e_end, &left)) return false;
      if (left == 0) break;
    }
    if (checksum_) {
      uint8_t t[4];
      job.out.tail(t, 4);
      job.check = static_cast<uint32_t>(t[0]) | static_cast<uint32_t>(t[1]) << 8 | static_cast<uint32_t>(t[2]) << 16 |
                  static_cast<uint32_t>(t[3]) << 24;
    }
    return true;
  }

  // Writer role: seek-table entries, in frame order.
  void ordered(CodecJob& job) override {
    if (!config().per_slice) return;
    frame_c_ += job.out.bytes();
    frame_d_ += job.in_bytes;
    if (!job.frame_end) return;
    table_.entries.push_back({static_cast<uint32_t>(frame_c_), static_cast<uint32_t>(frame_d_), job.check});
    frame_c_ = frame_d_ = 0;
  }

  void trailer(OutBlocks& out) override {
    if (!config().per_slice) return;
    table_.checksums = checksum_;
    const std::vector<uint8_t> t = zstd_seek::build(table_);
    out.append(t.data(), t.size());
  }

 private:
  bool step(ZSTD_CCtx* c, CodecJob& job, ZSTD_inBuffer* in, ZSTD_EndDirective mode, size_t* left = nullptr) {
    size_t room = 0;
    uint8_t* dst = job.out.room(&room);
    ZSTD_outBuffer out{dst, room, 0};
    const size_t r = ZSTD_compressStream2(c, &out, in, mode);
    job.out.commit(out.pos);
    if (ZSTD_isError(r)) {
      fail(plain_error("compress", "frame " + std::to_string(job.frame) + ": " + ZSTD_getErrorName(r)));
      return false;
    }
    if (left) *left = r;
    return true;
  }

  static Status check(size_t r, const char* what) {
    if (ZSTD_isError(r)) return plain_error(what, ZSTD_getErrorName(r));
    return ok();
  }

  void free_contexts() {
    for (ZSTD_CCtx* c : cctx_) ZSTD_freeCCtx(c);
    cctx_.clear();
  }

  const int level_;
  const bool checksum_;
  std::vector<ZSTD_CCtx*> cctx_;
  zstd_seek::Table table_;
  uint64_t frame_c_ = 0, frame_d_ = 0;
};

const bool registered = register_element({
    "filter-zstd",
    "filter",
    "Compresses with zstd in-process, multi-threaded, optionally seekable",
    "Compresses the stream with libzstd at `level`. With workers=N the input is compressed N jobs at a time on "
    "the element's own threads (0 = one per CPU); without seekable every frame-size bytes are then their own "
    "frame (workers=1 writes one frame, like `zstd -c`). With seekable=true every slice (slice-size, or the "
    "upstream's marks when 0) becomes one zstd frame and the stream ends with the standard zstd seekable-format "
    "seek table (skippable frame 0x184D2A5E, footer magic 0x8F92EAB1, per-frame sizes and checksums); the "
    "output keeps the slice numbers, marks each slice's last block and posts one `slice` message per slice, "
    "plus one for the seek table (in_length 0). `zstd -d` decodes every mode.",
    {{"level", PropType::kInt, "3", -131072, 22, false, "compression level (negative = faster)"},
     {"workers", PropType::kInt, "1", 0, 64, false, "compression threads; 0 = one per CPU"},
     {"seekable", PropType::kBool, "false", 0, -1, false, "one frame per slice plus a seek table"},
     {"slice-size", PropType::kSize, "0", 0, 1.0e15, false, "cut a slice every N input bytes (seekable); 0 = follow upstream marks"},
     {"checksum", PropType::kBool, "true", 0, -1, false, "content checksum in every frame (and in the seek table)"},
     {"job-size", PropType::kSize, "1MiB", 65536, 1073741824.0, false, "input bytes per parallel job"},
     {"frame-size", PropType::kSize, "4MiB", 65536, 1073741824.0, false, "frame size when workers > 1 and not seekable"}},
    ParallelFilter::pairs_for(1),
    "source-file path=/var/backup/disk.tar ! filter-zstd level=1 workers=2 seekable=true slice-size=4MiB ! "
    "dest-file path=/tmp/disk.tar.zst",
    [](const Props& p) { return std::make_unique<FilterZstd>(p); },
});

}  // namespace
}  // namespace xfa
