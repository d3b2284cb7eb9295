// Cancellable fd I/O for the data path.
//
// Every call waits with poll() on the fd AND the transfer's cancel eventfd, so a cancel wakes it
// at once. Works with blocking and non-blocking fds: for pipes, sockets and terminals the call
// polls first, so a blocking fd is only touched when it is ready. Regular files never wait.
// Callers run on worker threads (or the thread of a pull/push); nothing here allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

namespace xfa {

enum class IoStatus { kOk, kEof, kCancelled, kError };

struct IoResult {
  IoStatus status;
  size_t n;  // bytes moved
  int err;   // errno when status == kError
};

// Reads at least one byte (up to n). kEof when the fd is at end of file and nothing was read.
IoResult read_some(int fd, void* buf, size_t n, int cancel_fd);
// Reads until n bytes or EOF; kEof only when zero bytes were read.
IoResult read_full(int fd, void* buf, size_t n, int cancel_fd);
// Writes all n bytes (kOk), or stops on error/cancel reporting how many went out.
IoResult write_all(int fd, const void* buf, size_t n, int cancel_fd);

// Copies from `in` to `out` until EOF on `in`, with copy_file_range(2) between regular files,
// splice(2) when either side is a pipe, and read/write through `scratch` otherwise.
// `on_bytes` is called after each chunk with its size (progress accounting).
IoResult copy_fd(int in, int out, int cancel_fd, void* scratch, size_t scratch_size,
                 const std::function<void(uint64_t)>& on_bytes);

// True for a regular file (never blocks, needs no poll).
bool fd_is_regular(int fd);
bool fd_is_pipe(int fd);

// Sets or clears O_NONBLOCK on the fd's open file description. Only for descriptions xfa owns
// alone (our end of a pipe): children inherit description flags.
int set_nonblocking(int fd, bool on);

// A private, non-blocking description of the same FIFO/terminal (reopened through /proc/self/fd),
// or a dup() for anything else; O_CLOEXEC. -1 with errno on failure.
int private_dup(int fd, bool for_write);

// Blocks until fd is readable/writable or cancel is signalled. Returns false when cancelled.
bool wait_fd(int fd, bool for_write, int cancel_fd);

}  // namespace xfa
