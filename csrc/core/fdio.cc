#include "fdio.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <string>

namespace xfa {

namespace {
constexpr size_t kSpliceChunk = 1u << 20;

bool would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK; }

mode_t fd_mode(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 ? st.st_mode : 0;
}
}  // namespace

bool fd_is_regular(int fd) { return S_ISREG(fd_mode(fd)); }
bool fd_is_pipe(int fd) { return S_ISFIFO(fd_mode(fd)); }

bool wait_fd(int fd, bool for_write, int cancel_fd) {
  pollfd p[2] = {{fd, static_cast<short>(for_write ? POLLOUT : POLLIN), 0}, {cancel_fd, POLLIN, 0}};
  for (;;) {
    const int r = poll(p, cancel_fd >= 0 ? 2 : 1, -1);
    if (r < 0 && errno == EINTR) continue;
    if (cancel_fd >= 0 && (p[1].revents & POLLIN)) return false;
    return true;  // ready, hung up or in error: the next syscall tells which
  }
}

int set_nonblocking(int fd, bool on) {
  const int fl = fcntl(fd, F_GETFL);
  if (fl < 0) return -1;
  return fcntl(fd, F_SETFL, on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK));
}

int private_dup(int fd, bool for_write) {
  const mode_t m = fd_mode(fd);
  if (S_ISFIFO(m) || S_ISCHR(m)) {
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    const int nfd = open(path.c_str(), (for_write ? O_WRONLY : O_RDONLY) | O_NONBLOCK | O_CLOEXEC);
    if (nfd >= 0) return nfd;
  }
  return fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

IoResult read_some(int fd, void* buf, size_t n, int cancel_fd) {
  const bool regular = fd_is_regular(fd);
  for (;;) {
    if (!regular && !wait_fd(fd, false, cancel_fd)) return {IoStatus::kCancelled, 0, 0};
    const ssize_t r = read(fd, buf, n);
    if (r > 0) return {IoStatus::kOk, static_cast<size_t>(r), 0};
    if (r == 0) return {IoStatus::kEof, 0, 0};
    if (errno == EINTR || would_block(errno)) continue;
    return {IoStatus::kError, 0, errno};
  }
}

IoResult read_full(int fd, void* buf, size_t n, int cancel_fd) {
  size_t got = 0;
  while (got < n) {
    const IoResult r = read_some(fd, static_cast<char*>(buf) + got, n - got, cancel_fd);
    if (r.status == IoStatus::kEof) break;
    if (r.status != IoStatus::kOk) return {r.status, got, r.err};
    got += r.n;
  }
  return {got == 0 && n > 0 ? IoStatus::kEof : IoStatus::kOk, got, 0};
}

namespace {
// For a blocking pipe, the bytes a write can take without blocking: capacity minus what is queued.
// Keeps a blocked writer wakeable by cancel even when the reader is someone else's process.
size_t pipe_room(int fd, size_t want) {
  const int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || (fl & O_NONBLOCK)) return want;
  const int cap = fcntl(fd, F_GETPIPE_SZ);
  int queued = 0;
  if (cap <= 0 || ioctl(fd, FIONREAD, &queued) != 0) return want;
  const size_t room = cap > queued ? static_cast<size_t>(cap - queued) : 0;
  return std::min(want, std::max<size_t>(room, PIPE_BUF));
}
}  // namespace

IoResult write_all(int fd, const void* buf, size_t n, int cancel_fd) {
  const bool regular = fd_is_regular(fd);
  const bool fifo = !regular && fd_is_pipe(fd);
  size_t done = 0;
  while (done < n) {
    if (!regular && !wait_fd(fd, true, cancel_fd)) return {IoStatus::kCancelled, done, 0};
    const size_t want = fifo ? pipe_room(fd, n - done) : n - done;
    const ssize_t r = write(fd, static_cast<const char*>(buf) + done, want);
    if (r >= 0) {
      done += static_cast<size_t>(r);
      continue;
    }
    if (errno == EINTR || would_block(errno)) continue;
    return {IoStatus::kError, done, errno};
  }
  return {IoStatus::kOk, done, 0};
}

namespace {

// copy_file_range between regular files; kError with EXDEV/EINVAL/ENOSYS means "use another way".
IoResult copy_range(int in, int out, int cancel_fd, const std::function<void(uint64_t)>& on_bytes,
                    uint64_t* total) {
  for (;;) {
    if (cancel_fd >= 0) {
      pollfd p{cancel_fd, POLLIN, 0};
      if (poll(&p, 1, 0) > 0) return {IoStatus::kCancelled, 0, 0};
    }
    const ssize_t r = copy_file_range(in, nullptr, out, nullptr, 8u << 20, 0);
    if (r > 0) {
      *total += static_cast<uint64_t>(r);
      on_bytes(static_cast<uint64_t>(r));
      continue;
    }
    if (r == 0) return {IoStatus::kEof, 0, 0};
    if (errno == EINTR) continue;
    return {IoStatus::kError, 0, errno};
  }
}

IoResult splice_loop(int in, int out, int cancel_fd, const std::function<void(uint64_t)>& on_bytes) {
  const bool in_pipe = fd_is_pipe(in);
  for (;;) {
    const ssize_t r = splice(in, nullptr, out, nullptr, kSpliceChunk, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (r > 0) {
      on_bytes(static_cast<uint64_t>(r));
      continue;
    }
    if (r == 0) return {IoStatus::kEof, 0, 0};
    if (errno == EINTR) continue;
    if (!would_block(errno)) return {IoStatus::kError, 0, errno};
    // Which side is not ready? An empty input pipe waits for input, otherwise the output is full.
    int avail = 0;
    const bool wait_in = in_pipe && ioctl(in, FIONREAD, &avail) == 0 && avail == 0;
    if (!wait_fd(wait_in ? in : out, !wait_in, cancel_fd)) return {IoStatus::kCancelled, 0, 0};
  }
}

IoResult rw_loop(int in, int out, int cancel_fd, void* scratch, size_t size,
                 const std::function<void(uint64_t)>& on_bytes) {
  for (;;) {
    const IoResult r = read_some(in, scratch, size, cancel_fd);
    if (r.status != IoStatus::kOk) return r;
    const IoResult w = write_all(out, scratch, r.n, cancel_fd);
    if (w.status != IoStatus::kOk) return {w.status, 0, w.err != 0 ? w.err : 0};
    on_bytes(r.n);
  }
}

}  // namespace

IoResult copy_fd(int in, int out, int cancel_fd, void* scratch, size_t scratch_size,
                 const std::function<void(uint64_t)>& on_bytes) {
  if (fd_is_regular(in) && fd_is_regular(out)) {
    uint64_t total = 0;
    const IoResult r = copy_range(in, out, cancel_fd, on_bytes, &total);
    // Some filesystems refuse copy_file_range; fall back before anything was copied.
    if (r.status != IoStatus::kError || total != 0 ||
        (r.err != EXDEV && r.err != EINVAL && r.err != ENOSYS && r.err != EOPNOTSUPP))
      return r;
  } else if (fd_is_pipe(in) || fd_is_pipe(out)) {
    const IoResult r = splice_loop(in, out, cancel_fd, on_bytes);
    if (r.status != IoStatus::kError || r.err != EINVAL) return r;
  }
  return rw_loop(in, out, cancel_fd, scratch, scratch_size, on_bytes);
}

}  // namespace xfa
