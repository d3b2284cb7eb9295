// source-holding: reads a dump from a holding disk (Amanda's Source::Holding): the first chunk
// `path` (a FILE header), then each chunk its header's CONT_FILENAME names, skipping every 32 KiB
// header. Each following chunk must be a CONT_FILE of the same dump (host, disk, datestamp,
// level): a chunk of another dump, a loop or a missing chunk is an error naming the chunk that
// pointed to it. Holding disks get moved: with relocate=true (default), a CONT_FILENAME that does
// not exist is also looked for under the same name in the directory of the chunk that named it
// (an `info` message says so).
//
// The first chunk is opened and its header checked in setup(). Outcome: `crc` of the data at EOF.
// Threads: pull() on downstream's thread; no threads of its own.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <set>

#include "crc32c.h"
#include "media_util.h"
#include "unique_fd.h"
#include "xfa/element.h"

namespace xfa {
namespace {

using amanda::kHeaderSize;

// pread() until n bytes or EOF: the count, or -1 with errno.
ssize_t read_at(int fd, uint64_t offset, void* buf, size_t n) {
  char* p = static_cast<char*>(buf);
  size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(fd, p + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return static_cast<ssize_t>(done);
}

class SourceHolding final : public Element {
 public:
  explicit SourceHolding(const Props& p)
      : Element("source-holding"), path_(p.get_string("path", "")), relocate_(p.get_bool("relocate", true)) {}

  MechPairs mech_pairs() const override { return {{Mech::kNone, Mech::kPullBuffer, 0, 0, 0}}; }
  std::string fd_label() const override { return path_; }  // any thread: constant

  Status setup() override {
    if (Status s = open_chunk(path_, "")) return s;
    if (cur_header_.type != amanda::FileType::kDumpFile) {
      return plain_error("open " + path_, std::string("not the first chunk of a holding file: its header is ") +
                                              amanda::file_type_token(cur_header_.type) + ", not FILE");
    }
    first_ = cur_header_;
    return ok();
  }

  BlockRef pull() override {
    if (cancelled() || done_) return {};
    BlockRef b = alloc_block();
    size_t filled = 0;
    while (filled < b->capacity()) {
      const ssize_t n = read_at(fd_.get(), offset_, b->data() + filled, b->capacity() - filled);
      if (n < 0) return fail_now(sys_error("read " + cur_path_, errno));
      if (n > 0) {
        offset_ += static_cast<uint64_t>(n);
        filled += static_cast<size_t>(n);
        continue;
      }
      // End of this chunk.
      if (cur_header_.cont_filename.empty()) break;
      const std::string from = cur_path_;
      if (Status s = open_chunk(cur_header_.cont_filename, from)) return fail_now(*s);
      if (cur_header_.type != amanda::FileType::kContDumpFile || cur_header_.name != first_.name ||
          cur_header_.disk != first_.disk || cur_header_.datestamp != first_.datestamp ||
          cur_header_.dumplevel != first_.dumplevel) {
        return fail_now(plain_error("open " + cur_path_, "named by CONT_FILENAME in " + from + ", it is not a continuation of " +
                                                             describe(first_) + " but a " + amanda::file_type_token(cur_header_.type) +
                                                             " of " + describe(cur_header_)));
      }
    }
    crc_ = crc32c_update(crc_, b->data(), filled);
    size_ += filled;
    count_out(filled);
    if (filled == 0) {
      done_ = true;
      post(msg(MsgType::kCrc).set("crc", crc_hex(crc32c_final(crc_))).set("size", static_cast<int64_t>(size_)));
      return {};
    }
    b->set_size(filled);
    return b;
  }

  void close() override { fd_.reset(); }

 private:
  static std::string describe(const amanda::Header& h) {
    return h.name + ":" + h.disk + " " + h.datestamp + " level " + std::to_string(h.dumplevel);
  }

  // Opens a chunk and reads its header; `from` is the chunk whose CONT_FILENAME named it.
  Status open_chunk(const std::string& path, const std::string& from) {
    std::string p = path;
    const std::string named = from.empty() ? "" : " (chunk " + std::to_string(chunks_ + 1) + ", named by CONT_FILENAME in " + from + ")";
    UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd && errno == ENOENT && relocate_ && !from.empty()) {
      const auto slash = path.rfind('/');
      const auto fslash = from.rfind('/');
      const std::string alt = (fslash == std::string::npos ? std::string(".") : from.substr(0, fslash)) + "/" +
                              (slash == std::string::npos ? path : path.substr(slash + 1));
      fd.reset(::open(alt.c_str(), O_RDONLY | O_CLOEXEC));
      if (fd) {
        post(msg(MsgType::kInfo).set("message", "holding chunk " + path + " not found; using " + alt + " (relocated)"));
        p = alt;
      } else {
        errno = ENOENT;
      }
    }
    if (!fd) {
      Error e = sys_error("open " + path, errno);
      if (!from.empty()) e.detail = "chunk " + std::to_string(chunks_ + 1) + ", named by CONT_FILENAME in " + from;
      return e;
    }
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return sys_error("stat " + p, errno);
    if (!seen_.insert({st.st_dev, st.st_ino}).second)
      return plain_error("open " + p, "the CONT_FILENAME chain loops back to this chunk" + named);
    std::string buf(kHeaderSize, '\0');
    const ssize_t n = read_at(fd.get(), 0, buf.data(), buf.size());
    if (n < 0) return sys_error("read " + p, errno);
    if (static_cast<size_t>(n) < kHeaderSize)
      return plain_error("read " + p, "truncated: " + std::to_string(n) + " bytes, less than the 32768-byte header" + named);
    amanda::Header h;
    if (amanda::classify(buf.data(), buf.size()) != amanda::FileType::kUnknown)
      return plain_error("read " + p, "not a holding-disk chunk: no Amanda header" + named);
    if (Status s = amanda::parse(buf.data(), buf.size(), &h)) return plain_error("read " + p, s->detail + named);
    fd_ = std::move(fd);
    cur_path_ = p;
    cur_header_ = h;
    offset_ = kHeaderSize;
    ++chunks_;
    return ok();
  }

  BlockRef fail_now(Error e) {
    done_ = true;
    fail(std::move(e));
    return {};
  }

  const std::string path_;
  const bool relocate_;
  UniqueFd fd_;
  std::string cur_path_;
  amanda::Header cur_header_;
  amanda::Header first_;
  uint64_t offset_ = 0;
  size_t chunks_ = 0;
  std::set<std::pair<dev_t, ino_t>> seen_;
  bool done_ = false;
  uint32_t crc_ = crc32c_init();
  uint64_t size_ = 0;
};

const bool registered = register_element({
    "source-holding",
    "source",
    "Reads a dump from a holding disk, following the CONT_FILENAME chunk chain",
    "Opens the first chunk PATH (its header must be FILE), then every chunk CONT_FILENAME names "
    "(CONT_FILE headers of the same dump), skipping the 32 KiB headers. relocate=true also looks for a "
    "missing chunk in the directory of the chunk that named it (a moved holding disk). Reports the "
    "data's `crc` at EOF.",
    {{"path", PropType::kString, "", 0, -1, true, "the first chunk of the holding file"},
     {"relocate", PropType::kBool, "true", 0, -1, false, "look for moved chunks next to the one naming them"}},
    {{Mech::kNone, Mech::kPullBuffer, 0, 0, 0}},
    "source-holding path=/holding/20240102030405/host._home.0 ! dest-file path=/tmp/home.tar",
    [](const Props& p) { return std::make_unique<SourceHolding>(p); },
});

}  // namespace
}  // namespace xfa
