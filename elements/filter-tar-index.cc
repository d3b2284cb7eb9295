// filter-tar-index: passes a tar stream through unchanged while parsing it, posts one `object`
// message per member, and with slice-on=member cuts slices at member boundaries so that a restore
// can start any slice with `tar -x`.
//
// Formats: v7, ustar (prefix + name), GNU (L/K long names, old-style S sparse with extension
// headers, D dumpdirs, V labels, base-256 sizes) and pax (x headers: path, linkpath, size,
// GNU.sparse.*; g global headers are passed through, never reported). Every header's checksum is
// verified; a bad checksum, a malformed pax record, or a stream that ends inside a member or
// without the end-of-archive zero block fails the transfer naming the offset. After the
// end-of-archive marker the rest (record padding) passes through unparsed. An empty stream is an
// empty archive.
//
// Slices: with slice-on=member a slice ends at the end of a member (its data padding included)
// once it holds at least min-slice bytes, so small members are merged and a member never straddles
// two slices; a member's extension headers (L, K, x) belong to it. A block that holds the cut is
// split: the bytes after the cut are copied into new pooled blocks (at most one block per cut,
// and cuts are at least min-slice apart). With slice-on=none the upstream's marks pass through.
// Either way the element posts identity `slice` messages (in range = out range).
//
// Threads: pull() on downstream's thread or push() on upstream's; no threads of its own. EOF
// checks the archive is complete and posts the last slice. Cancel: pull returns EOF, push drops.
#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <stdexcept>
#include <string>

#include "xfa/element.h"

namespace xfa {
namespace {

constexpr size_t kBlock = 512;
constexpr size_t kMaxExtHeader = 1 << 20;  // L/K/x/g payload we are willing to hold

uint64_t round_up(uint64_t n) { return (n + kBlock - 1) / kBlock * kBlock; }

// One member as the `object` message describes it.
struct Member {
  std::string path;
  std::string type;
  std::string link;
  uint64_t size = 0;       // data bytes stored in the archive
  uint64_t real_size = 0;  // sparse files: the file's logical size
  uint64_t header_offset = 0;
  uint64_t data_offset = 0;
};

// Incremental tar parser. feed() consumes bytes and stops right after a member ends, so the
// caller can cut there. Errors are sentences; offsets are stream offsets.
class TarParser {
 public:
  // Consumes up to n bytes at stream offset `at`; returns how many. After the call,
  // member_ended() tells whether the last consumed byte ended a member, took() whether a new
  // member header was completed (its description is member()).
  size_t feed(const uint8_t* p, size_t n, uint64_t at) {
    ended_ = false;
    size_t used = 0;
    while (used < n && error_.empty() && !ended_) used += step(p + used, n - used, at + used);
    return used;
  }

  bool member_ended() const { return ended_; }
  bool has_new_member() const { return new_member_; }
  const Member& member() const { return cur_; }
  void clear_new_member() { new_member_ = false; }
  const std::string& error() const { return error_; }
  bool at_end() const { return state_ == State::kEnd; }

  // At EOF: an empty sentence when the archive is complete.
  std::string finish(uint64_t total) const {
    const std::string at = std::to_string(total);
    switch (state_) {
      case State::kEnd:
        return "";
      case State::kHeader:
        if (filled_ > 0) return "truncated tar archive: the stream ends at offset " + at + " inside the header block at offset " + std::to_string(total - filled_);
        if (total == 0) return "";
        return "truncated tar archive: the stream ends at offset " + at + " with no end-of-archive marker (zero blocks)";
      default:
        return "truncated tar archive: the stream ends at offset " + at + " inside member \"" + pending_name() + "\" (header at offset " +
               std::to_string(unit_start_) + ", its data ends at offset " + std::to_string(unit_end_) + ")";
    }
  }

 private:
  enum class State { kHeader, kExtData, kSparseExt, kData, kEnd };

  size_t step(const uint8_t* p, size_t n, uint64_t at) {
    switch (state_) {
      case State::kHeader:
      case State::kSparseExt: {
        const size_t k = std::min(n, kBlock - filled_);
        std::memcpy(hdr_ + filled_, p, k);
        filled_ += k;
        if (filled_ == kBlock) {
          filled_ = 0;
          state_ == State::kHeader ? on_header(at + k - kBlock) : on_sparse_ext();
        }
        return k;
      }
      case State::kExtData: {
        const size_t k = static_cast<size_t>(std::min<uint64_t>(n, remaining_));
        const size_t keep = static_cast<size_t>(std::min<uint64_t>(k, ext_size_ > ext_.size() ? ext_size_ - ext_.size() : 0));
        ext_.append(reinterpret_cast<const char*>(p), keep);
        remaining_ -= k;
        if (remaining_ == 0) on_ext_done(at + k);
        return k;
      }
      case State::kData: {
        const size_t k = static_cast<size_t>(std::min<uint64_t>(n, remaining_));
        remaining_ -= k;
        if (remaining_ == 0) end_member();
        return k;
      }
      case State::kEnd:
        return n;
    }
    return n;
  }

  // ----- headers -----

  void on_header(uint64_t off) {
    if (std::all_of(hdr_, hdr_ + kBlock, [](uint8_t c) { return c == 0; })) {
      if (pending_ext_) return fail_at(off, "zero block after an extension header");
      state_ = State::kEnd;  // GNU tar also stops at the first zero block
      return;
    }
    if (!checksum_ok()) {
      return fail_at(off, seen_any_ ? "bad tar header checksum" : "not a tar archive (bad header checksum)");
    }
    seen_any_ = true;
    if (!pending_ext_) unit_start_ = off;
    uint64_t size = 0;
    if (!parse_number(hdr_ + 124, 12, &size)) return fail_at(off, "bad size field in tar header");
    const char type = static_cast<char>(hdr_[156]);
    if (type == 'L' || type == 'K' || type == 'x' || type == 'g' || type == 'X') return begin_ext(type, size, off);
    begin_member(type, size, off);
  }

  bool checksum_ok() const {
    uint64_t want = 0;
    if (!parse_number(hdr_ + 148, 8, &want)) return false;
    uint64_t usum = 0;
    int64_t ssum = 0;
    for (size_t i = 0; i < kBlock; ++i) {
      const uint8_t c = (i >= 148 && i < 156) ? ' ' : hdr_[i];
      usum += c;
      ssum += static_cast<int8_t>(c);
    }
    return want == usum || static_cast<int64_t>(want) == ssum;
  }

  // Octal (NUL/space padded) or GNU base-256 (high bit of the first byte set, positive only).
  static bool parse_number(const uint8_t* f, size_t len, uint64_t* out) {
    if (f[0] & 0x80) {
      if (f[0] != 0x80) return false;  // negative or too large
      uint64_t v = 0;
      for (size_t i = 1; i < len; ++i) {
        if (v >> 56) return false;
        v = (v << 8) | f[i];
      }
      *out = v;
      return true;
    }
    size_t i = 0;
    while (i < len && f[i] == ' ') ++i;
    uint64_t v = 0;
    bool any = false;
    for (; i < len && f[i] >= '0' && f[i] <= '7'; ++i) {
      if (v >> 60) return false;
      v = v * 8 + (f[i] - '0');
      any = true;
    }
    for (; i < len; ++i)
      if (f[i] != ' ' && f[i] != 0) return false;
    *out = v;
    return any || f[0] == 0 || f[0] == ' ';
  }

  static std::string field(const uint8_t* f, size_t len) {
    const size_t n = static_cast<size_t>(std::find(f, f + len, 0) - f);
    return std::string(reinterpret_cast<const char*>(f), n);
  }

  // ----- extension headers (L, K, x, g) -----

  void begin_ext(char type, uint64_t size, uint64_t off) {
    if (size > kMaxExtHeader) return fail_at(off, std::string("extension header '") + type + "' too large (" + std::to_string(size) + " bytes)");
    ext_type_ = type;
    ext_size_ = size;
    ext_.clear();
    pending_ext_ = type != 'g';
    ext_off_ = off;
    remaining_ = round_up(size);
    unit_end_ = off + kBlock + remaining_;
    if (remaining_ == 0) return on_ext_done(off + kBlock);
    state_ = State::kExtData;
  }

  void on_ext_done(uint64_t end) {
    state_ = State::kHeader;
    switch (ext_type_) {
      case 'L':
        long_name_ = field(reinterpret_cast<const uint8_t*>(ext_.data()), ext_.size());
        break;
      case 'K':
        long_link_ = field(reinterpret_cast<const uint8_t*>(ext_.data()), ext_.size());
        break;
      case 'g':
        ended_ = true;  // a global header stands alone: a slice may end after it
        return;
      default:
        if (!parse_pax(ext_)) return fail_at(ext_off_, "malformed pax extended header");
    }
    (void)end;
  }

  // Records are "LEN key=value\n", LEN counting the whole record.
  bool parse_pax(const std::string& s) {
    size_t i = 0;
    while (i < s.size()) {
      if (s[i] == 0) break;  // some writers pad with NULs
      size_t j = i;
      uint64_t len = 0;
      while (j < s.size() && s[j] >= '0' && s[j] <= '9' && len < (1u << 30)) len = len * 10 + (s[j++] - '0');
      if (j == i || j >= s.size() || s[j] != ' ' || len < 5 || i + len > s.size() || s[i + len - 1] != '\n') return false;
      const std::string rec = s.substr(j + 1, i + len - 1 - (j + 1));
      const size_t eq = rec.find('=');
      if (eq == std::string::npos || eq == 0) return false;
      pax_[rec.substr(0, eq)] = rec.substr(eq + 1);
      i += len;
    }
    return true;
  }

  bool pax_number(const char* key, uint64_t* out) const {
    const auto it = pax_.find(key);
    if (it == pax_.end()) return false;
    const std::string& v = it->second;
    if (v.empty() || v.size() > 19 || v.find_first_not_of("0123456789") != std::string::npos) return false;
    *out = std::stoull(v);
    return true;
  }

  // ----- members -----

  void begin_member(char type, uint64_t size, uint64_t off) {
    cur_ = Member();
    cur_.header_offset = unit_start_;
    cur_.path = member_path();
    cur_.link = long_link_.empty() ? field(hdr_ + 157, 100) : long_link_;
    if (pax_.count("linkpath")) cur_.link = pax_["linkpath"];
    pax_number("size", &size);
    cur_.type = type_name(type);
    const bool pax_sparse = pax_.count("GNU.sparse.major") || pax_.count("GNU.sparse.size") || pax_.count("GNU.sparse.realsize");
    if (pax_sparse) {
      cur_.type = "sparse";
      if (!pax_number("GNU.sparse.realsize", &cur_.real_size)) pax_number("GNU.sparse.size", &cur_.real_size);
      if (pax_.count("GNU.sparse.name")) cur_.path = pax_["GNU.sparse.name"];
    }
    cur_.size = has_data(type) ? size : 0;
    if (type == 'S') {
      uint64_t real = 0;
      if (!parse_number(hdr_ + 483, 12, &real)) return fail_at(off, "bad sparse real-size field");
      cur_.real_size = real;
    }
    long_name_.clear();
    long_link_.clear();
    pax_.clear();
    pending_ext_ = false;
    remaining_ = round_up(cur_.size);
    if (type == 'S' && hdr_[482] != 0) {
      state_ = State::kSparseExt;
      data_at_ = off + kBlock;
      return;
    }
    start_data(off + kBlock);
  }

  void on_sparse_ext() {
    data_at_ += kBlock;
    if (hdr_[504] == 0) start_data(data_at_);
  }

  void start_data(uint64_t data_offset) {
    cur_.data_offset = data_offset;
    unit_end_ = data_offset + remaining_;
    new_member_ = true;
    state_ = State::kData;
    if (remaining_ == 0) end_member();
  }

  void end_member() {
    state_ = State::kHeader;
    ended_ = true;
  }

  std::string member_path() {
    if (pax_.count("path")) return pax_["path"];
    if (!long_name_.empty()) return long_name_;
    const std::string name = field(hdr_, 100);
    const bool posix = std::memcmp(hdr_ + 257, "ustar\0", 6) == 0;
    const std::string prefix = posix ? field(hdr_ + 345, 155) : "";
    return prefix.empty() ? name : prefix + "/" + name;
  }

  static bool has_data(char type) { return !std::strchr("123456", type) || type == 0; }

  static std::string type_name(char t) {
    switch (t) {
      case 0:
      case '0':
      case '7':
        return "file";
      case '1':
        return "hardlink";
      case '2':
        return "symlink";
      case '3':
        return "chardev";
      case '4':
        return "blockdev";
      case '5':
      case 'D':
        return "dir";
      case '6':
        return "fifo";
      case 'S':
        return "sparse";
      case 'V':
        return "label";
      case 'M':
        return "continuation";
      default:
        return "unknown";
    }
  }

  std::string pending_name() const {
    return state_ == State::kData || state_ == State::kSparseExt ? cur_.path : std::string("(extension header)");
  }

  void fail_at(uint64_t off, const std::string& what) { error_ = what + " at offset " + std::to_string(off); }

  State state_ = State::kHeader;
  uint8_t hdr_[kBlock];
  size_t filled_ = 0;
  uint64_t remaining_ = 0;  // data + padding still to skip (kData, kExtData)
  uint64_t unit_start_ = 0;  // first header of the member being read (its L/K/x included)
  uint64_t unit_end_ = 0;
  uint64_t data_at_ = 0;
  char ext_type_ = 0;
  uint64_t ext_size_ = 0;
  uint64_t ext_off_ = 0;
  std::string ext_;
  bool pending_ext_ = false;
  std::string long_name_, long_link_;
  std::map<std::string, std::string> pax_;
  Member cur_;
  bool new_member_ = false;
  bool ended_ = false;
  bool seen_any_ = false;
  std::string error_;
};

class FilterTarIndex final : public Element {
 public:
  explicit FilterTarIndex(const Props& p)
      : Element("filter-tar-index"), min_slice_(static_cast<uint64_t>(p.get_int("min-slice", 1 << 20))) {
    const std::string on = p.get_string("slice-on", "none");
    if (on != "none" && on != "member") throw std::invalid_argument("property \"slice-on\" must be none or member, not \"" + on + "\"");
    by_member_ = on == "member";
  }

  MechPairs mech_pairs() const override {
    return {{Mech::kPullBuffer, Mech::kPullBuffer, 0, 0, 0}, {Mech::kPushBuffer, Mech::kPushBuffer, 0, 0, 0}};
  }

  BlockRef pull() override {
    while (out_.empty() && !eof_) {
      BlockRef b = cancelled() ? BlockRef() : upstream()->pull();
      b ? process(std::move(b)) : finish();
    }
    if (out_.empty() || cancelled()) return {};
    BlockRef b = std::move(out_.front());
    out_.pop_front();
    return b;
  }

  void push(BlockRef b) override {
    if (!b) {
      finish();
      for (auto& o : out_) downstream()->push(std::move(o));
      out_.clear();
      return downstream()->push({});
    }
    if (cancelled() || failed_) return;
    process(std::move(b));
    for (auto& o : out_) downstream()->push(std::move(o));
    out_.clear();
  }

 private:
  // Parses one block and queues it (split at member cuts) on out_.
  void process(BlockRef b) {
    if (failed_ || eof_) return;
    count_in(b->size());
    std::deque<BlockRef> work{std::move(b)};
    while (!work.empty() && !failed_) {
      BlockRef cur = std::move(work.front());
      work.pop_front();
      const size_t cut = scan(*cur);
      if (failed_) return;
      if (cut == kNoCut) {
        const bool upstream_end = !by_member_ && cur->slice_end();
        emit(std::move(cur), upstream_end);
        continue;
      }
      split_tail(*cur, cut, &work);
      emit(std::move(cur), true);
    }
  }

  static constexpr size_t kNoCut = static_cast<size_t>(-1);

  // Feeds the block to the parser; returns the position just after the first member end where a
  // slice should be cut, or kNoCut.
  size_t scan(const Block& b) {
    size_t pos = 0;
    while (pos < b.size()) {
      const size_t k = parser_.feed(b.data() + pos, b.size() - pos, offset_ + pos);
      pos += k;
      if (parser_.has_new_member()) post_member(parser_.member());
      if (!parser_.error().empty()) {
        failed_ = true;
        fail(plain_error("parse tar", parser_.error()));
        return kNoCut;
      }
      if (by_member_ && parser_.member_ended() && offset_ + pos - slice_start_ >= min_slice_) {
        return pos;
      }
    }
    return kNoCut;
  }

  // Moves the bytes after `cut` into new pooled blocks queued at the front of `work`.
  void split_tail(Block& b, size_t cut, std::deque<BlockRef>* work) {
    std::deque<BlockRef> tail;
    for (size_t at = cut; at < b.size();) {
      BlockRef t = alloc_block();
      const size_t n = std::min(t->capacity(), b.size() - at);
      std::memcpy(t->data(), b.data() + at, n);
      t->set_size(n);
      tail.push_back(std::move(t));
      at += n;
    }
    b.set_size(cut);
    work->insert(work->begin(), std::make_move_iterator(tail.begin()), std::make_move_iterator(tail.end()));
  }

  void emit(BlockRef b, bool end) {
    const uint64_t n = b->size();
    offset_ += n;
    count_out(n);
    if (by_member_) b->set_slice(slice_, end);
    else slice_ = b->slice();
    open_ = true;
    if (end) end_slice();
    if (n > 0) out_.push_back(std::move(b));
  }

  void end_slice() {
    if (offset_ > slice_start_) post_slice(slice_, slice_start_, offset_ - slice_start_, slice_start_, offset_ - slice_start_);
    slice_start_ = offset_;
    if (by_member_) ++slice_;
    open_ = false;
  }

  void post_member(const Member& m) {
    parser_.clear_new_member();
    Message o = msg(MsgType::kObject);
    o.set("path", m.path)
        .set("object_type", m.type)
        .set("size", static_cast<int64_t>(m.size))
        .set("header_offset", static_cast<int64_t>(m.header_offset))
        .set("data_offset", static_cast<int64_t>(m.data_offset));
    if (!m.link.empty() && (m.type == "hardlink" || m.type == "symlink")) o.set("link_target", m.link);
    if (m.type == "sparse") o.set("real_size", static_cast<int64_t>(m.real_size));
    post(std::move(o));
  }

  void finish() {
    if (eof_) return;
    eof_ = true;
    if (failed_ || cancelled()) return;
    const std::string e = parser_.finish(offset_);
    if (!e.empty()) {
      failed_ = true;
      return fail(plain_error("parse tar", e));
    }
    if (open_ && offset_ > slice_start_) end_slice();
  }

  const uint64_t min_slice_;
  bool by_member_ = false;
  TarParser parser_;
  std::deque<BlockRef> out_;
  uint64_t offset_ = 0;  // bytes emitted so far (= bytes parsed before the current block)
  uint64_t slice_ = 0;
  uint64_t slice_start_ = 0;
  bool open_ = false;
  bool eof_ = false;
  bool failed_ = false;
};

const bool registered = register_element({
    "filter-tar-index",
    "filter",
    "Passes a tar stream through, reports its members and cuts slices at member boundaries",
    "Parses ustar, GNU (long names, sparse, dumpdirs) and pax tar streams without changing a byte. "
    "Each member becomes an `object` message (path, objectType file/dir/symlink/hardlink/sparse/..., "
    "size of its stored data, headerOffset of its first header including L/K/x extension headers, "
    "dataOffset; linkTarget for links, realSize for sparse files). With slice-on=member a slice ends "
    "after a member once it holds min-slice bytes, so every slice starts with a member header and "
    "`tar -x` can start at any slice. Bad checksums, non-tar input and truncated archives fail the "
    "transfer naming the offset.",
    {{"slice-on", PropType::kString, "none", 0, -1, false, "none (keep upstream slices) or member (cut at member boundaries)"},
     {"min-slice", PropType::kSize, "1MiB", 0, 9.0e18, false, "with slice-on=member: merge members until a slice holds this many bytes"}},
    {{Mech::kPullBuffer, Mech::kPullBuffer, 0, 0, 0}, {Mech::kPushBuffer, Mech::kPushBuffer, 0, 0, 0}},
    "source-file path=/tmp/etc.tar ! filter-tar-index slice-on=member min-slice=1MiB ! dest-file path=/tmp/etc.tar.copy",
    [](const Props& p) { return std::make_unique<FilterTarIndex>(p); },
});

}  // namespace
}  // namespace xfa
