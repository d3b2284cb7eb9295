// dest-holding: writes a dump to a holding disk as Amanda's chunker does
// (server-src/xfer-dest-holding.c): chunk files of at most `chunksize` bytes, each a 32 KiB
// Amanda header followed by data. The first chunk is `path` with a FILE header; the following
// ones are `path.1`, `path.2`, ... with CONT_FILE headers, and every header's CONT_FILENAME names
// the next chunk (absolute path; empty in the last), so Amanda's own tools (amflush, amrestore,
// Source::Holding) and source-holding follow the chain.
//
// Atomicity: every chunk is written as NAME.tmp; only when the whole transfer succeeded are they
// fsynced and renamed, last chunk first, so the first chunk (the name callers look for) appears
// only when the whole chain is there. A failed or cancelled transfer removes every .tmp it made.
//
// No room. A single process has no driver to ask for another holding disk mid-dump, so the
// handshake is declared up front:
//  * When a write finds the filesystem full, the chunk is cut back to its last complete 32 KiB
//    block and closed: `chunk-done` {noRoom: true}. The rest goes to a new chunk, created in the
//    first directory that has room for it, in order: `path`'s directory, then each `overflow`
//    directory (chunks there are named DIR/<basename of path>.N).
//  * When none has room, a `no-space` message is posted, and then
//      no-room=fail (default): the transfer fails with ENOSPC;
//      no-room=wait: the element retries every `retry-interval` (the application frees space:
//      flushes older dumps, deletes files) until it succeeds or the transfer is cancelled (the
//      wait is on the cancel fd: a cancel ends it at once). Bytes not yet written stay in memory.
//  * The first chunk's header is written in setup(): no room for it fails the transfer there.
// `chunk-done` {headerSize, dataSize, noRoom, filename} is posted for every chunk as it is closed
// (filename: its final name); `crc` (CRC32C of the data) at EOF.
//
// Threads: push() on upstream's thread (it may block in no-room=wait); no threads of its own.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <vector>

#include "crc32c.h"
#include "media_util.h"
#include "unique_fd.h"
#include "xfa/element.h"

namespace xfa {
namespace {

using amanda::kHeaderSize;

std::string dir_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string absolute(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  char cwd[4096];
  if (!::getcwd(cwd, sizeof cwd)) return path;
  return std::string(cwd) + "/" + path;
}

bool is_no_space(int e) { return e == ENOSPC || e == EDQUOT || e == EFBIG; }

struct Chunk {
  std::string path;  // final name
  std::string tmp;   // path + ".tmp"
  UniqueFd fd;
  uint64_t data = 0;  // data bytes written after the header
  amanda::Header header;
  bool renamed = false;
};

class DestHolding final : public Element {
 public:
  explicit DestHolding(const Props& p)
      : Element("dest-holding"),
        path_(absolute(p.get_string("path", ""))),
        header_(media::header_prop(p, "header")),
        chunksize_(static_cast<uint64_t>(p.get_int("chunksize", int64_t{1} << 30))),
        retry_ms_(static_cast<int>(p.get_int("retry-interval", 10000))),
        sync_(p.get_bool("sync", true)) {
    if (header_.type != amanda::FileType::kDumpFile)
      throw std::invalid_argument("property \"header\": holding files start with a FILE header, not " +
                                  std::string(amanda::file_type_token(header_.type)));
    if (chunksize_ < 2 * kHeaderSize) throw std::invalid_argument("property \"chunksize\" must be at least 64 KiB (a 32 KiB header and data)");
    dirs_.push_back(dir_of(path_));
    for (const auto& item : p.get_strings("overflow")) {
      std::string cur;
      for (char c : item + ",") {
        if (c != ',') {
          cur += c;
          continue;
        }
        while (cur.size() > 1 && cur.back() == '/') cur.pop_back();
        if (!cur.empty()) dirs_.push_back(absolute(cur));
        cur.clear();
      }
    }
    const std::string mode = p.get_string("no-room", "fail");
    if (mode == "wait") wait_ = true;
    else if (mode != "fail") throw std::invalid_argument("property \"no-room\": \"" + mode + "\" is not fail or wait");
    header_.cont_filename.clear();
    header_.blocksize = kHeaderSize;
    std::string check;
    if (Status s = amanda::build_text(header_, &check)) throw std::invalid_argument("property \"header\": " + s->detail);
  }

  MechPairs mech_pairs() const override { return {{Mech::kPushBuffer, Mech::kNone, 1, 0, 0}}; }
  std::string fd_label() const override { return path_ + ".tmp"; }  // any thread: constant

  Status setup() override {
    struct stat st;
    if (::stat(path_.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return sys_error("open " + path_, EISDIR);
    int err = 0;
    if (!open_chunk(path_, &err)) return sys_error("create " + path_ + ".tmp", err);
    return ok();
  }

  void push(BlockRef b) override {
    if (!b) return finish_data();
    if (cancelled() || failed_) return;
    const uint8_t* p = b->data();
    size_t n = b->size();
    count_in(n);
    crc_ = crc32c_update(crc_, p, n);
    size_ += n;
    while (n > 0 && !failed_ && !cancelled()) {
      Chunk& c = chunks_.back();
      const uint64_t room = chunksize_ - kHeaderSize - c.data;
      if (room == 0) {
        if (!next_chunk(false)) return;
        continue;
      }
      const size_t k = static_cast<size_t>(std::min<uint64_t>(room, n));
      int err = 0;
      const size_t wrote = write_data(c, p, k, &err);
      p += wrote;
      n -= wrote;
      if (wrote == k) continue;
      if (!is_no_space(err)) {
        failed_ = true;
        fail(sys_error("write " + c.tmp, err));
        return;
      }
      if (!next_chunk(true)) return;
    }
  }

  Status commit() override {
    Chunk& last = chunks_.back();
    if (Status s = close_chunk(last)) return s;
    std::set<std::string> dirs;
    for (size_t i = chunks_.size(); i-- > 0;) {
      Chunk& c = chunks_[i];
      if (::rename(c.tmp.c_str(), c.path.c_str()) != 0) return sys_error("rename " + c.tmp + " to " + c.path, errno);
      c.renamed = true;
      dirs.insert(dir_of(c.path));
    }
    if (sync_) {
      for (const auto& d : dirs) {
        UniqueFd fd(::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (fd && ::fsync(fd.get()) != 0) return sys_error("fsync " + d, errno);
      }
    }
    return ok();
  }

  void abort() override {
    for (Chunk& c : chunks_) {
      c.fd.reset();
      ::unlink((c.renamed ? c.path : c.tmp).c_str());
    }
    chunks_.clear();
  }

  void close() override {
    for (Chunk& c : chunks_) c.fd.reset();
  }

 private:
  // Creates chunk number chunks_.size() at `path` (.tmp) with its header. On failure nothing is
  // left behind and *err says why.
  bool open_chunk(const std::string& path, int* err) {
    Chunk c;
    c.path = path;
    c.tmp = path + ".tmp";
    c.header = header_;
    if (!chunks_.empty()) c.header.type = amanda::FileType::kContDumpFile;
    c.fd.reset(::open(c.tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
    if (!c.fd) {
      *err = errno;
      return false;
    }
    if (!write_header(c, err)) {
      c.fd.reset();
      ::unlink(c.tmp.c_str());
      return false;
    }
    chunks_.push_back(std::move(c));
    return true;
  }

  bool write_header(Chunk& c, int* err) {
    std::string block;
    if (Status s = amanda::build(c.header, &block)) {  // validated in the constructor; a long path may not fit
      *err = ENAMETOOLONG;
      return false;
    }
    for (size_t done = 0; done < block.size();) {
      const ssize_t w = ::pwrite(c.fd.get(), block.data() + done, block.size() - done, static_cast<off_t>(done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        *err = w < 0 ? errno : ENOSPC;
        return false;
      }
      done += static_cast<size_t>(w);
    }
    return true;
  }

  // Writes up to n bytes of data; on a full filesystem cuts the chunk back to its last complete
  // 32 KiB block and returns how many bytes were kept (*err = ENOSPC).
  size_t write_data(Chunk& c, const uint8_t* p, size_t n, int* err) {
    size_t done = 0;
    while (done < n) {
      const ssize_t w = ::pwrite(c.fd.get(), p + done, n - done, static_cast<off_t>(kHeaderSize + c.data + done));
      if (w > 0) {
        done += static_cast<size_t>(w);
        continue;
      }
      if (w < 0 && errno == EINTR) continue;
      *err = w < 0 ? errno : ENOSPC;
      const uint64_t keep_total = (c.data + done) / kHeaderSize * kHeaderSize;
      const uint64_t kept = keep_total > c.data ? keep_total - c.data : 0;
      if (::ftruncate(c.fd.get(), static_cast<off_t>(kHeaderSize + c.data + kept)) != 0) {
        // Could not cut back: keep what the file has and say so.
        *err = errno;
        c.data += done;
        return done;
      }
      c.data += kept;
      return static_cast<size_t>(kept);
    }
    c.data += n;
    return n;
  }

  Status close_chunk(Chunk& c) {
    if (!c.fd) return ok();
    if (sync_ && ::fsync(c.fd.get()) != 0) return sys_error("fsync " + c.tmp, errno);
    if (::close(c.fd.release()) != 0) return sys_error("close " + c.tmp, errno);
    return ok();
  }

  void chunk_done(const Chunk& c, bool no_room) {
    post(msg(MsgType::kChunkDone).set("header_size", static_cast<int64_t>(kHeaderSize)).set("data_size", static_cast<int64_t>(c.data))
             .set("no_room", no_room).set("filename", c.path));
  }

  std::string chunk_path(size_t dir, size_t seq) const {
    if (dir == 0) return path_ + "." + std::to_string(seq);
    return dirs_[dir] + "/" + base_of(path_) + "." + std::to_string(seq);
  }

  // Closes the current chunk (full, or out of room) and opens the next, where there is room.
  bool next_chunk(bool no_room) {
    const size_t prev = chunks_.size() - 1;
    chunk_done(chunks_[prev], no_room);
    const size_t seq = chunks_.size();
    size_t first_dir = no_room ? dir_ + 1 : dir_;
    bool announced = false;
    for (;;) {
      int err = 0;
      for (size_t d = first_dir; d < dirs_.size(); ++d) {
        if (!open_chunk(chunk_path(d, seq), &err)) {
          if (is_no_space(err)) continue;
          return fail_now(sys_error("create " + chunk_path(d, seq) + ".tmp", err));
        }
        dir_ = d;
        // Chain the previous chunk to this one, then let it go.
        Chunk& p = chunks_[prev];
        p.header.cont_filename = chunks_.back().path;
        int herr = 0;
        if (!write_header(p, &herr)) return fail_now(sys_error("rewrite header of " + p.tmp, herr));
        if (Status s = close_chunk(p)) return fail_now(*s);
        return true;
      }
      if (!announced) post(msg(MsgType::kNoSpace));
      announced = true;
      if (!wait_) {
        return fail_now(Error{"", "create chunk " + std::to_string(seq), ENOSPC,
                              "no room for it in " + std::to_string(dirs_.size()) + " holding director" +
                                  (dirs_.size() == 1 ? "y" : "ies") + " (" + dirs_joined() + ")"});
      }
      pollfd pfd{cancel_fd(), POLLIN, 0};
      while (::poll(&pfd, 1, retry_ms_) < 0 && errno == EINTR) {
      }
      if (cancelled()) return false;
      first_dir = 0;  // space may have been freed anywhere
    }
  }

  bool fail_now(Error e) {
    failed_ = true;
    fail(std::move(e));
    return false;
  }

  std::string dirs_joined() const {
    std::string s;
    for (const auto& d : dirs_) s += (s.empty() ? "" : ", ") + d;
    return s;
  }

  void finish_data() {
    if (eof_ || cancelled() || failed_) return;
    eof_ = true;
    chunk_done(chunks_.back(), false);
    post(msg(MsgType::kCrc).set("crc", crc_hex(crc32c_final(crc_))).set("size", static_cast<int64_t>(size_)));
  }

  const std::string path_;
  amanda::Header header_;
  const uint64_t chunksize_;
  const int retry_ms_;
  const bool sync_;
  bool wait_ = false;
  std::vector<std::string> dirs_;
  size_t dir_ = 0;
  std::vector<Chunk> chunks_;
  bool failed_ = false;
  bool eof_ = false;
  uint32_t crc_ = crc32c_init();
  uint64_t size_ = 0;
};

const bool registered = register_element({
    "dest-holding",
    "dest",
    "Writes a dump to a holding disk: 32 KiB-header chunks chained by CONT_FILENAME",
    "Amanda's holding-disk format: chunk files PATH, PATH.1, PATH.2... of at most `chunksize` bytes, "
    "each a 32 KiB Amanda header (FILE, then CONT_FILE) and data; CONT_FILENAME in each header names "
    "the next chunk. Written as .tmp and renamed (last chunk first) only when the transfer succeeds; "
    "a failure or cancel removes them. `chunk-done` per chunk, `crc` at EOF. When the disk fills up, "
    "the chunk is closed (chunk-done noRoom) and the dump continues in the first of PATH's directory "
    "and the `overflow` directories that has room; when none has, `no-space` is posted and the "
    "transfer fails (no-room=fail) or retries every retry-interval until space appears or it is "
    "cancelled (no-room=wait).",
    {{"path", PropType::kString, "", 0, -1, true, "the first chunk: HOLDINGDIR/DATESTAMP/host.disk.level"},
     {"header", PropType::kString, "", 0, -1, true, "the dump's Amanda FILE header (text, or its first line)"},
     {"chunksize", PropType::kSize, "1GiB", 65536, 9.0e18, false, "largest chunk file, header included"},
     {"overflow", PropType::kStrings, "", 0, -1, false, "more holding directories, used in order when one is full"},
     {"no-room", PropType::kString, "fail", 0, -1, false, "fail or wait, when no directory has room"},
     {"retry-interval", PropType::kDuration, "10s", 10, 86400000, false, "no-room=wait: how often to retry"},
     {"sync", PropType::kBool, "true", 0, -1, false, "fsync the chunks and directories before reporting success"}},
    {{Mech::kPushBuffer, Mech::kNone, 1, 0, 0}},
    "source-file path=/tmp/home.tar ! dest-holding path=/holding/20240102030405/host._home.0 chunksize=1GiB "
    "header=\"AMANDA: FILE 20240102030405 host /home lev 0 comp N program /bin/tar\"",
    [](const Props& p) { return std::make_unique<DestHolding>(p); },
});

}  // namespace
}  // namespace xfa
