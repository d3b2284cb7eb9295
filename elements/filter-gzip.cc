// filter-gzip: gzip compression in-process with the node binary's zlib, pigz-style: each job is an
// independent raw-deflate piece primed with the 32 KiB of input before it (so the ratio is that of
// one stream), ended with a sync flush so pieces concatenate; the writer joins the pieces' CRC-32s
// (crc32_combine) and closes each member with its trailer. `workers` pieces are compressed at once
// on the element's own threads.
//
// Catenary: one gzip member per slice (slice-size, or the upstream's marks when 0; no marks = one
// member), same slice numbers, one `slice` message per slice. `gzip -d` decodes the multi-member
// stream whole, and any member range decodes alone. An empty stream is one empty member, like
// `gzip -c </dev/null`.
#include <zlib.h>

#include <stdexcept>
#include <string>
#include <thread>

#include "parallel_filter.h"
#include "xfa/element.h"

namespace xfa {
namespace {

constexpr size_t kWindow = 32768;

ParallelConfig make_config(const Props& p) {
  ParallelConfig c;
  const int64_t w = p.get_int("workers", 1);
  const unsigned hw = std::thread::hardware_concurrency();
  c.workers = w > 0 ? static_cast<uint32_t>(w) : (hw ? hw : 1);
  c.job_bytes = static_cast<uint64_t>(p.get_int("job-size", 1 << 20));
  c.per_slice = true;
  c.slice_size = static_cast<uint64_t>(p.get_int("slice-size", 0));
  c.dict_bytes = kWindow;
  c.pin_frames = false;
  c.empty_frame_at_eof = true;
  return c;
}

void put32(uint8_t* p, uint32_t x) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(x >> (8 * i));
}

class FilterGzip final : public ParallelFilter {
 public:
  explicit FilterGzip(const Props& p)
      : ParallelFilter("filter-gzip", make_config(p)), level_(static_cast<int>(p.get_int("level", 6))) {
    if (level_ < 0 || level_ > 9) throw std::invalid_argument("property \"level\" must be between 0 and 9");
  }
  ~FilterGzip() override { end_streams(); }

  // Main thread: one raw-deflate stream per compressor thread.
  Status setup() override {
    streams_.resize(config().workers);
    for (z_stream& s : streams_) {
      s = z_stream{};
      if (deflateInit2(&s, level_, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        s.state = nullptr;
        return plain_error("setup", "cannot initialise zlib deflate");
      }
    }
    return ok();
  }

  void close() override {
    ParallelFilter::close();
    end_streams();
  }

 protected:
  // Compressor thread `w`: one self-contained raw-deflate piece (header first in a member's first
  // piece), its CRC-32 in job.check.
  bool encode(int w, CodecJob& job) override {
    z_stream& s = streams_[static_cast<size_t>(w)];
    deflateReset(&s);
    if (!job.dict.empty()) deflateSetDictionary(&s, job.dict.data(), static_cast<uInt>(job.dict.size()));
    if (job.frame_start) put_header(job.out);
    uLong crc = crc32(0, Z_NULL, 0);
    for (const CodecJob::Span& sp : job.in) {
      crc = crc32_z(crc, sp.data, sp.size);
      s.next_in = const_cast<Bytef*>(sp.data);
      s.avail_in = static_cast<uInt>(sp.size);
      while (s.avail_in > 0) {
        if (!step(s, job, Z_NO_FLUSH)) return false;
      }
    }
    // A sync flush ends the piece on a byte boundary without a final block, so the next piece's
    // deflate data can follow it directly.
    const int flush = job.frame_end ? Z_FINISH : Z_SYNC_FLUSH;
    for (;;) {
      const int r = step(s, job, flush);
      if (!r) return false;
      if (flush == Z_FINISH ? r == Z_STREAM_END + 1 : s.avail_out != 0) break;
    }
    job.check = static_cast<uint32_t>(crc);
    return true;
  }

  // Writer role: a member's CRC and length, closed with the gzip trailer.
  void ordered(CodecJob& job) override {
    member_crc_ = job.frame_start ? job.check : crc32_combine(member_crc_, job.check, static_cast<z_off_t>(job.in_bytes));
    member_len_ = (job.frame_start ? 0 : member_len_) + job.in_bytes;
    if (!job.frame_end) return;
    uint8_t t[8];
    put32(t, static_cast<uint32_t>(member_crc_));
    put32(t + 4, static_cast<uint32_t>(member_len_));  // ISIZE is the length modulo 2^32
    job.out.append(t, sizeof t);
  }

 private:
  void put_header(OutBlocks& out) const {
    // No name, no mtime (reproducible output); XFL says fastest/best like gzip; OS = Unix.
    const uint8_t xfl = level_ == 9 ? 2 : level_ == 1 ? 4 : 0;
    const uint8_t h[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3};
    out.append(h, sizeof h);
  }

  // One deflate() call into the job's output. 0 = failed; else the zlib result + 1.
  int step(z_stream& s, CodecJob& job, int flush) {
    size_t room = 0;
    uint8_t* dst = job.out.room(&room);
    s.next_out = dst;
    s.avail_out = static_cast<uInt>(room);
    const int r = deflate(&s, flush);
    job.out.commit(room - s.avail_out);
    if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR) {
      fail(plain_error("deflate", "member " + std::to_string(job.frame) + ": zlib error " + std::to_string(r)));
      return 0;
    }
    return r + 1;
  }

  void end_streams() {
    for (z_stream& s : streams_)
      if (s.state) deflateEnd(&s);
    streams_.clear();
  }

  const int level_;
  std::vector<z_stream> streams_;
  uLong member_crc_ = 0;
  uint64_t member_len_ = 0;
};

const bool registered = register_element({
    "filter-gzip",
    "filter",
    "Compresses to gzip in-process, one member per slice, pigz-style on several threads",
    "Deflates the stream with zlib at `level` into gzip members: one member per slice (slice-size, or the "
    "upstream's marks when 0; a stream without marks is one member). Each member is built from job-size "
    "pieces compressed `workers` at a time, each primed with the previous 32 KiB (like pigz), so the ratio "
    "matches a single stream. Keeps slice numbers and posts one `slice` message per slice. `gzip -d` decodes "
    "the whole stream, and each member decodes alone.",
    {{"level", PropType::kInt, "6", 0, 9, false, "compression level (1 fastest, 9 best, 0 store)"},
     {"workers", PropType::kInt, "1", 0, 64, false, "compression threads; 0 = one per CPU"},
     {"slice-size", PropType::kSize, "0", 0, 1.0e15, false, "cut a slice (member) every N input bytes; 0 = follow upstream marks"},
     {"job-size", PropType::kSize, "1MiB", 65536, 1073741824.0, false, "input bytes per parallel piece"}},
    ParallelFilter::pairs_for(1),
    "source-file path=/var/backup/disk.tar ! filter-gzip level=1 workers=2 ! dest-file path=/tmp/disk.tar.gz",
    [](const Props& p) { return std::make_unique<FilterGzip>(p); },
});

}  // namespace
}  // namespace xfa
