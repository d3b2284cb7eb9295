// An st(4) emulator on a tape image file, for testing the tape device without a drive.
//
// Image: a 64-byte text line "XFATAPE1 CAPACITY EARLY_WARNING\n" (bytes of record data the tape
// holds, and where the early warning starts; space-padded), then the recorded tape: each record
// is a 4-byte little-endian length and the bytes, a filemark is the length 0xFFFFFFFF. The end
// of the file is the end of data. Writing anywhere truncates what follows, as on tape.
// Behaviour: see tape_io.h (EIO at end of data, ENOMEM for a short read buffer, ENOSPC once at the
// early warning and always past the capacity, fixed or variable blocks with MTSETBLK).
#include <fcntl.h>
#include <sys/mtio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "tape_io.h"

namespace xfa::devices {
namespace {

constexpr uint32_t kFilemark = 0xFFFFFFFFu;
constexpr size_t kImageHeader = 64;

class EmulatedTape final : public TapeIo {
 public:
  explicit EmulatedTape(std::string path) : path_(std::move(path)) {}
  ~EmulatedTape() override { close(); }

  int open(bool write) override {
    close();
    fd_ = ::open(path_.c_str(), (write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd_ < 0) return errno == ENOENT ? ENOMEDIUM : errno;
    char head[kImageHeader + 1] = {};
    unsigned long long cap = 0, ew = 0;
    if (::pread(fd_, head, kImageHeader, 0) != static_cast<ssize_t>(kImageHeader) ||
        std::sscanf(head, "XFATAPE1 %llu %llu", &cap, &ew) != 2) {
      close();
      return EIO;
    }
    capacity_ = cap;
    ew_ = ew;
    writable_ = write;
    recs_.clear();
    uint64_t off = kImageHeader;
    for (;;) {
      uint8_t len[4];
      if (::pread(fd_, len, 4, static_cast<off_t>(off)) != 4) break;
      const uint32_t n = len[0] | len[1] << 8 | len[2] << 16 | static_cast<uint32_t>(len[3]) << 24;
      recs_.push_back({off, n});
      off += 4 + (n == kFilemark ? 0 : n);
    }
    pos_ = 0;
    blk_ = 0;
    warned_ = false;
    return 0;
  }

  void close() override {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool is_open() const override { return fd_ >= 0; }

  ssize_t read(void* buf, size_t n) override {
    if (fd_ < 0) return err(EBADF);
    size_t done = 0;
    char* out = static_cast<char*>(buf);
    for (;;) {
      if (pos_ >= recs_.size()) return done > 0 ? static_cast<ssize_t>(done) : err(EIO);
      const Rec& r = recs_[pos_];
      if (r.len == kFilemark) {
        if (done > 0) return static_cast<ssize_t>(done);  // the filemark is read next time
        ++pos_;
        return 0;
      }
      if (blk_ == 0) {  // variable: one record per read
        ++pos_;
        if (r.len > n) return err(ENOMEM);
        if (::pread(fd_, out, r.len, static_cast<off_t>(r.off + 4)) != static_cast<ssize_t>(r.len)) return err(EIO);
        return static_cast<ssize_t>(r.len);
      }
      if (n % blk_ != 0) return err(EINVAL);
      if (done + r.len > n) return static_cast<ssize_t>(done);
      if (::pread(fd_, out + done, r.len, static_cast<off_t>(r.off + 4)) != static_cast<ssize_t>(r.len)) return err(EIO);
      done += r.len;
      ++pos_;
      if (done == n) return static_cast<ssize_t>(done);
    }
  }

  ssize_t write(const void* buf, size_t n) override {
    if (fd_ < 0 || !writable_) return err(EBADF);
    if (n == 0) return 0;
    if (blk_ != 0 && n % blk_ != 0) return err(EINVAL);
    truncate_here();
    const uint64_t used = used_bytes();
    if (used + n > capacity_) return err(ENOSPC);
    if (used + n > ew_ && !warned_) {
      warned_ = true;
      return err(ENOSPC);
    }
    const size_t rec = blk_ ? blk_ : n;
    for (size_t at = 0; at < n; at += rec)
      if (!append(static_cast<const char*>(buf) + at, static_cast<uint32_t>(rec))) return err(EIO);
    return static_cast<ssize_t>(n);
  }

  int op(short mt_op, int count) override {
    if (fd_ < 0) return err(EBADF);
    switch (mt_op) {
      case MTREW:
        pos_ = 0;
        warned_ = false;
        return 0;
      case MTSETBLK:
        blk_ = static_cast<size_t>(count);
        return 0;
      case MTEOM:
        pos_ = recs_.size();
        return 0;
      case MTWEOF:
        if (!writable_) return err(EBADF);
        truncate_here();
        for (int i = 0; i < count; ++i)
          if (!append(nullptr, kFilemark)) return err(EIO);
        return 0;
      case MTFSF:
        for (int i = 0; i < count; ++i) {
          while (pos_ < recs_.size() && recs_[pos_].len != kFilemark) ++pos_;
          if (pos_ >= recs_.size()) return err(EIO);
          ++pos_;
        }
        return 0;
      case MTBSF:
        for (int i = 0; i < count; ++i) {
          do {
            if (pos_ == 0) return err(EIO);
            --pos_;
          } while (recs_[pos_].len != kFilemark);
        }
        return 0;  // on the BOT side of the filemark
      case MTFSR:
        for (int i = 0; i < count; ++i) {
          if (pos_ >= recs_.size() || recs_[pos_].len == kFilemark) return err(EIO);
          ++pos_;
        }
        return 0;
      case MTBSR:
        for (int i = 0; i < count; ++i) {
          if (pos_ == 0 || recs_[pos_ - 1].len == kFilemark) return err(EIO);
          --pos_;
        }
        return 0;
      default:
        return err(ENOTTY);
    }
  }

  int position(TapePosition* out) override {
    if (fd_ < 0) return err(EBADF);
    TapePosition p;
    for (size_t i = 0; i < pos_; ++i) {
      if (recs_[i].len == kFilemark) {
        ++p.fileno;
        p.blkno = 0;
      } else {
        ++p.blkno;
      }
    }
    p.bot = pos_ == 0;
    p.eod = pos_ == recs_.size();
    p.eot = used_bytes() > ew_;
    *out = p;
    return 0;
  }

 private:
  struct Rec {
    uint64_t off;
    uint32_t len;
  };

  static ssize_t err(int e) {
    errno = e;
    return -1;
  }

  uint64_t used_bytes() const {
    uint64_t u = 0;
    for (size_t i = 0; i < pos_ && i < recs_.size(); ++i)
      if (recs_[i].len != kFilemark) u += recs_[i].len;
    return u;
  }

  void truncate_here() {
    if (pos_ >= recs_.size()) return;
    const uint64_t end = recs_[pos_].off;
    recs_.resize(pos_);
    if (::ftruncate(fd_, static_cast<off_t>(end)) != 0) {
      // the next append fails and reports EIO
    }
  }

  bool append(const char* data, uint32_t len) {
    const uint64_t off = recs_.empty() ? kImageHeader : recs_.back().off + 4 + (recs_.back().len == kFilemark ? 0 : recs_.back().len);
    const uint8_t l[4] = {static_cast<uint8_t>(len), static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len >> 16),
                          static_cast<uint8_t>(len >> 24)};
    if (::pwrite(fd_, l, 4, static_cast<off_t>(off)) != 4) return false;
    if (len != kFilemark && ::pwrite(fd_, data, len, static_cast<off_t>(off + 4)) != static_cast<ssize_t>(len)) return false;
    recs_.push_back({off, len});
    pos_ = recs_.size();
    return true;
  }

  const std::string path_;
  int fd_ = -1;
  bool writable_ = false;
  uint64_t capacity_ = 0, ew_ = 0;
  std::vector<Rec> recs_;
  size_t pos_ = 0;
  size_t blk_ = 0;
  bool warned_ = false;
};

}  // namespace

std::unique_ptr<TapeIo> make_emulated_io(const std::string& image) { return std::make_unique<EmulatedTape>(image); }

}  // namespace xfa::devices
