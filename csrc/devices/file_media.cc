#include "file_media.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "unique_fd.h"

namespace xfa::devices {
namespace {

uint64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

void SpaceMonitor::reset(std::string dir, bool monitor_free_space) {
  dir_ = std::move(dir);
  monitor_ = monitor_free_space;
  known_ = false;
  since_check_ = 0;
}

bool SpaceMonitor::at_peom(const DeviceProperties& p, uint64_t volume_bytes, uint64_t size) {
  return p.enforce_max_volume_usage && p.max_volume_usage > 0 && volume_bytes + size > p.max_volume_usage;
}

void SpaceMonitor::refresh() {
  struct statvfs st;
  if (::statvfs(dir_.c_str(), &st) != 0) {
    known_ = false;
    return;
  }
  free_ = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  known_ = true;
  since_check_ = 0;
  checked_ns_ = mono_ns();
}

bool SpaceMonitor::at_leom(const DeviceProperties& p, uint64_t volume_bytes, uint64_t size) {
  if (!p.leom) return false;
  const uint64_t zone = kEarlyWarningBlocks * p.block_size;
  if (p.enforce_max_volume_usage && p.max_volume_usage > 0 && volume_bytes + size + zone > p.max_volume_usage) return true;
  if (!monitor_ || dir_.empty()) return false;
  if (!known_ || since_check_ >= (100u << 20) || free_ < 128 * p.block_size + size ||
      mono_ns() - checked_ns_ > 5000000000ull)
    refresh();
  return known_ && free_ < size + zone;
}

void SpaceMonitor::wrote(uint64_t n) {
  since_check_ += n;
  free_ = free_ > n ? free_ - n : 0;
}

WriteOutcome write_or_cut(int fd, uint64_t offset, const void* data, size_t n, int* err) {
  const char* p = static_cast<const char*>(data);
  size_t done = 0;
  while (done < n) {
    const ssize_t w = ::pwrite(fd, p + done, n - done, static_cast<off_t>(offset + done));
    if (w > 0) {
      done += static_cast<size_t>(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    const int e = w == 0 ? ENOSPC : errno;  // a write that makes no progress: the medium is full
    // Leave no half block: the file ends with its last complete block again.
    if (::ftruncate(fd, static_cast<off_t>(offset)) == 0) ::fsync(fd);
    *err = e;
    return e == ENOSPC || e == EDQUOT || e == EFBIG ? WriteOutcome::kNoSpace : WriteOutcome::kError;
  }
  return WriteOutcome::kOk;
}

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

int fsync_dir(const std::string& dir) {
  UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!d) return errno;
  return ::fsync(d.get()) == 0 ? 0 : errno;
}

}  // namespace xfa::devices
