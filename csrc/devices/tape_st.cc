// TapeIo on a real Linux st(4) drive: open/read/write and the MTIOCTOP/MTIOCGET ioctls. Not
// exercised by the tests (no drive); the emulator (tape_emu.cc) follows the same contract.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mtio.h>
#include <unistd.h>

#include <cerrno>

#include "tape_io.h"

namespace xfa::devices {
namespace {

class StTape final : public TapeIo {
 public:
  explicit StTape(std::string path) : path_(std::move(path)) {}
  ~StTape() override { close(); }

  int open(bool write) override {
    close();
    fd_ = ::open(path_.c_str(), (write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    return fd_ < 0 ? errno : 0;
  }
  void close() override {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool is_open() const override { return fd_ >= 0; }

  ssize_t read(void* buf, size_t n) override {
    ssize_t r;
    do r = ::read(fd_, buf, n);
    while (r < 0 && errno == EINTR);
    return r;
  }
  ssize_t write(const void* buf, size_t n) override {
    ssize_t r;
    do r = ::write(fd_, buf, n);
    while (r < 0 && errno == EINTR);
    if (r == 0) {  // some drives report the early warning as a 0-byte write
      errno = ENOSPC;
      return -1;
    }
    return r;
  }
  int op(short mt_op, int count) override {
    struct mtop m = {};
    m.mt_op = mt_op;
    m.mt_count = count;
    return ::ioctl(fd_, MTIOCTOP, &m);
  }
  int position(TapePosition* out) override {
    struct mtget g = {};
    if (::ioctl(fd_, MTIOCGET, &g) != 0) return -1;
    out->fileno = g.mt_fileno;
    out->blkno = g.mt_blkno;
    out->bot = GMT_BOT(g.mt_gstat);
    out->eod = GMT_EOD(g.mt_gstat);
    out->eot = GMT_EOT(g.mt_gstat);
    return 0;
  }

 private:
  const std::string path_;
  int fd_ = -1;
};

}  // namespace

std::unique_ptr<TapeIo> make_st_io(const std::string& path) { return std::make_unique<StTape>(path); }

}  // namespace xfa::devices
