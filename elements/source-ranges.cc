// source-ranges: the restore source that reads only what it is told to. `ranges` lists stored
// byte ranges "off:len,off:len..." of the file at `path`; each is read with pread(2) and becomes
// one slice (its last block marked slice_end). Slices are numbered 0, 1, ... or, with `slices`,
// with the numbers the ranges had when they were written, so a filter that authenticates the
// slice number (filter-decrypt) or checks their order (filter-decatenize) sees the original ones.
// Ranges are validated against the file's size in setup(), before any byte moves: a range past
// the end is an error, not a short read. Stats: bytes_out is exactly the bytes read from storage.
//
// Threads: pull() on downstream's thread; no threads of its own. EOF after the last range.
// Cancel: pull() returns EOF (a pread of a regular file never waits).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>

#include "unique_fd.h"
#include "xfa/element.h"

namespace xfa {
namespace {

struct Range {
  uint64_t off;
  uint64_t len;
  uint64_t slice;
};

uint64_t parse_u64(const std::string& s, const std::string& what) {
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos)
    throw std::invalid_argument(what + ": \"" + s + "\" is not a byte count");
  return std::stoull(s);
}

// Items split on commas and whitespace, so both "a,b" and a list property work.
std::vector<std::string> items(const std::vector<std::string>& words) {
  std::vector<std::string> out;
  for (const auto& w : words) {
    std::string cur;
    for (char c : w + ",") {
      if (c == ',' || c == ' ' || c == '\t' || c == '\n') {
        if (!cur.empty()) out.push_back(cur);
        cur.clear();
      } else {
        cur += c;
      }
    }
  }
  return out;
}

std::vector<Range> parse_ranges(const Props& p) {
  std::vector<Range> out;
  for (const auto& r : items(p.get_strings("ranges"))) {
    const size_t colon = r.find(':');
    if (colon == std::string::npos) throw std::invalid_argument("property \"ranges\": \"" + r + "\" is not OFFSET:LENGTH");
    const uint64_t off = parse_u64(r.substr(0, colon), "property \"ranges\"");
    const uint64_t len = parse_u64(r.substr(colon + 1), "property \"ranges\"");
    if (len == 0) throw std::invalid_argument("property \"ranges\": \"" + r + "\" is empty");
    if (off + len < off) throw std::invalid_argument("property \"ranges\": \"" + r + "\" overflows");
    out.push_back({off, len, out.size()});
  }
  const std::vector<std::string> numbers = items(p.get_strings("slices"));
  if (!numbers.empty() && numbers.size() != out.size())
    throw std::invalid_argument("property \"slices\" has " + std::to_string(numbers.size()) + " numbers for " + std::to_string(out.size()) + " ranges");
  for (size_t i = 0; i < numbers.size(); ++i) out[i].slice = parse_u64(numbers[i], "property \"slices\"");
  return out;
}

class SourceRanges final : public Element {
 public:
  explicit SourceRanges(const Props& p) : Element("source-ranges"), path_(p.get_string("path", "")), ranges_(parse_ranges(p)) {}

  MechPairs mech_pairs() const override { return {{Mech::kNone, Mech::kPullBuffer, 0, 0, 0}}; }

  Status setup() override {
    fd_.reset(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd_) return sys_error("open " + path_, errno);
    struct stat st;
    if (::fstat(fd_.get(), &st) != 0) return sys_error("stat " + path_, errno);
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) return plain_error("open " + path_, "not a regular file (pread needs one)");
    for (size_t i = 0; i < ranges_.size() && S_ISREG(st.st_mode); ++i) {
      const Range& r = ranges_[i];
      if (r.off + r.len > static_cast<uint64_t>(st.st_size)) {
        return plain_error("range " + std::to_string(i) + " (" + std::to_string(r.off) + ":" + std::to_string(r.len) + ")",
                           "extends past the end of " + path_ + " (" + std::to_string(st.st_size) + " bytes)");
      }
    }
    return ok();
  }

  BlockRef pull() override {
    if (cancelled() || failed_ || next_ >= ranges_.size()) return {};
    const Range& r = ranges_[next_];
    BlockRef b = alloc_block();
    const size_t want = static_cast<size_t>(std::min<uint64_t>(b->capacity(), r.len - done_));
    size_t got = 0;
    while (got < want) {
      const ssize_t n = ::pread(fd_.get(), b->data() + got, want - got, static_cast<off_t>(r.off + done_ + got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return fail_read(r, n < 0 ? errno : 0);
      got += static_cast<size_t>(n);
    }
    done_ += got;
    b->set_size(got);
    const bool end = done_ == r.len;
    b->set_slice(r.slice, end);
    if (end) {
      ++next_;
      done_ = 0;
    }
    count_out(got);
    return b;
  }

  std::string fd_label() const override { return path_; }
  void close() override { fd_.reset(); }

 private:
  BlockRef fail_read(const Range& r, int err) {
    failed_ = true;
    const std::string op = "pread " + path_ + " at " + std::to_string(r.off + done_);
    fail(err ? sys_error(op, err) : plain_error(op, "unexpected end of file (the file shrank?)"));
    return {};
  }

  const std::string path_;
  const std::vector<Range> ranges_;
  UniqueFd fd_;
  size_t next_ = 0;
  uint64_t done_ = 0;
  bool failed_ = false;
};

const bool registered = register_element({
    "source-ranges",
    "source",
    "Reads only the given byte ranges of a file (pread), one slice per range",
    "The restore source for selective restores: reads each OFFSET:LENGTH of `ranges` with pread(2), in "
    "the order given, and makes each a slice (numbered 0, 1, ... or as `slices` says). Ranges past the "
    "end of the file fail the transfer in setup. bytes_out counts exactly the bytes read.",
    {{"path", PropType::kString, "", 0, -1, true, "the file to read"},
     {"ranges", PropType::kStrings, "", 0, -1, false, "OFFSET:LENGTH[,OFFSET:LENGTH...] in bytes"},
     {"slices", PropType::kStrings, "", 0, -1, false, "the slice number of each range (default 0, 1, ...)"}},
    {{Mech::kNone, Mech::kPullBuffer, 0, 0, 0}},
    "source-ranges path=/srv/backup.zst ranges=\"0:4096,1048576:65536\" ! dest-file path=/tmp/part",
    [](const Props& p) { return std::make_unique<SourceRanges>(p); },
});

}  // namespace
}  // namespace xfa
