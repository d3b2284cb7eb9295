// filter-gunzip: gzip decompression in-process with the node binary's zlib. Decodes multi-member
// streams (filter-gzip's one member per slice, pigz, `gzip` CLI output with names and other header
// fields, concatenated .gz files); zlib checks every member's CRC-32 and length.
//
// Members become slices (member-slices=true): each non-empty member's output is one slice
// (numbered from 0), its last block marked, with a `slice` message mapping the member's compressed
// range to its output range. Errors name the member and the input offset; input ending inside a
// member is truncated; bytes after the last member that are not a gzip member, and an empty input,
// are errors (as with `gzip -d`). Single-threaded (StreamFilter).
#include <zlib.h>

#include <string>

#include "stream_filter.h"
#include "xfa/element.h"

namespace xfa {
namespace {

class FilterGunzip final : public StreamFilter {
 public:
  explicit FilterGunzip(const Props& p) : StreamFilter("filter-gunzip"), member_slices_(p.get_bool("member-slices", true)) {}
  ~FilterGunzip() override { end(); }

  Status setup() override {
    zs_ = z_stream{};
    if (inflateInit2(&zs_, 16 + 15) != Z_OK) return plain_error("setup", "cannot initialise zlib inflate");
    live_ = true;
    return ok();
  }

  void close() override {
    StreamFilter::close();
    end();
  }

 protected:
  void consume(const Block& b) override {
    if (bad_) return;
    zs_.next_in = const_cast<Bytef*>(b.data());
    zs_.avail_in = static_cast<uInt>(b.size());
    for (;;) {
      size_t room_n = 0;
      zs_.next_out = room(&room_n);
      zs_.avail_out = static_cast<uInt>(room_n);
      const uInt in0 = zs_.avail_in;
      const int r = inflate(&zs_, Z_NO_FLUSH);
      const size_t produced = room_n - zs_.avail_out;
      commit(produced);
      member_out_ += produced;
      in_total_ += in0 - zs_.avail_in;
      member_in_ += in0 - zs_.avail_in;
      if (r == Z_STREAM_END) {
        end_member();
        if (zs_.avail_in == 0) break;
        continue;
      }
      if (r != Z_OK && r != Z_BUF_ERROR) return corrupt(r);
      if (zs_.avail_in == 0 && zs_.avail_out > 0) break;
    }
  }

  void finish() override {
    if (bad_) return;
    if (member_in_ > 0) {
      fail(plain_error("inflate", "truncated input: it ends inside member " + std::to_string(members_) +
                                      " at input offset " + std::to_string(member_start_) + " (" +
                                      std::to_string(member_in_) + " bytes of it read)"));
    } else if (in_total_ == 0) {
      fail(plain_error("inflate", "empty input: not gzip data"));
    }
  }

 private:
  void end_member() {
    if (member_slices_ && member_out_ > 0) {
      end_slice(slice_);
      post_slice(slice_, member_start_, member_in_, out_total() - member_out_, member_out_);
      ++slice_;
    }
    ++members_;
    member_start_ = in_total_;
    member_in_ = member_out_ = 0;
    inflateReset(&zs_);
  }

  void corrupt(int r) {
    bad_ = true;
    std::string why = zs_.msg ? zs_.msg : "zlib error " + std::to_string(r);
    if (members_ > 0 && member_in_ <= 2 && why == "incorrect header check") why = "not a gzip member (trailing garbage?)";
    fail(plain_error("inflate", "member " + std::to_string(members_) + " at input offset " + std::to_string(member_start_) +
                                    ": " + why + " (input byte " + std::to_string(in_total_) + ")"));
  }

  void end() {
    if (live_) inflateEnd(&zs_);
    live_ = false;
  }

  const bool member_slices_;
  z_stream zs_{};
  bool live_ = false;
  bool bad_ = false;
  uint64_t in_total_ = 0;
  uint64_t member_start_ = 0, member_in_ = 0, member_out_ = 0;
  uint64_t members_ = 0, slice_ = 0;
};

const bool registered = register_element({
    "filter-gunzip",
    "filter",
    "Decompresses gzip in-process (multi-member streams)",
    "Decodes a gzip stream of any number of members, as written by `gzip`, `pigz` or filter-gzip; each "
    "member's CRC-32 and length are verified. With member-slices each member's output becomes one slice with "
    "a `slice` message (compressed range → output range). Corrupt, truncated or non-gzip input fails with "
    "the member and the input offset.",
    {{"member-slices", PropType::kBool, "true", 0, -1, false, "each member's output is one slice"}},
    StreamFilter::pairs(),
    "source-file path=/tmp/disk.tar.gz ! filter-gunzip ! dest-file path=/tmp/disk.tar",
    [](const Props& p) { return std::make_unique<FilterGunzip>(p); },
});

}  // namespace
}  // namespace xfa
