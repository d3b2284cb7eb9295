// Shared by filter-catenize and filter-decatenize: the restart-marker frame format and a runner
// that pushes one slice through a fresh child process.
//
// Frame (all integers little-endian), repeated once per slice, nothing between frames:
//   0  8  magic 89 58 46 41 43 41 54 0A  ("\x89XFACAT\n": a text-mode transfer mangles it)
//   8  2  version (1)
//  10  2  header length (48)
//  12  4  flags (0)
//  16  8  slice number
//  24  8  input length: the slice's bytes before the filter (what the inverse must give back)
//  32  8  output length: payload bytes that follow this header
//  40  4  CRC32C of the payload
//  44  4  CRC32C of header bytes 0..43, so a damaged length is never trusted
//  48  payload (the filter's output for this slice)
// A SliceIndex trailer (src/slice-index.ts: a zstd skippable frame, 5D 2A 4D 18 + u32 size, then
// the magic "\x89XFAIDX\n") may follow the last frame; a sequential reader stops there.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <string>
#include <vector>

#include "child.h"
#include "process_runner.h"
#include "crc32c.h"
#include "fdio.h"
#include "unique_fd.h"
#include "xfa/element.h"

namespace xfa {
namespace catenize {

constexpr size_t kHeaderSize = 48;
constexpr uint8_t kMagic[8] = {0x89, 'X', 'F', 'A', 'C', 'A', 'T', '\n'};
constexpr uint8_t kIndexSkippable[4] = {0x5D, 0x2A, 0x4D, 0x18};  // zstd skippable frame 0x184D2A5D
constexpr uint8_t kIndexMagic[8] = {0x89, 'X', 'F', 'A', 'I', 'D', 'X', '\n'};  // at offset 8
constexpr uint16_t kVersion = 1;

struct FrameHeader {
  uint64_t slice = 0;
  uint64_t in_length = 0;
  uint64_t out_length = 0;
  uint32_t crc = 0;
};

inline void put_le(uint8_t* p, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline uint64_t get_le(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

inline void encode(const FrameHeader& h, uint8_t* p) {
  std::memcpy(p, kMagic, 8);
  put_le(p + 8, kVersion, 2);
  put_le(p + 10, kHeaderSize, 2);
  put_le(p + 12, 0, 4);
  put_le(p + 16, h.slice, 8);
  put_le(p + 24, h.in_length, 8);
  put_le(p + 32, h.out_length, 8);
  put_le(p + 40, h.crc, 4);
  put_le(p + 44, crc32c(p, 44), 4);
}

// Empty string when the header is sound; otherwise what is wrong with it.
inline std::string decode(const uint8_t* p, FrameHeader* h) {
  if (std::memcmp(p, kMagic, 8) != 0) return "no restart marker";
  if (get_le(p + 44, 4) != crc32c(p, 44)) return "restart marker damaged (header CRC mismatch)";
  if (get_le(p + 8, 2) != kVersion || get_le(p + 10, 2) != kHeaderSize) {
    return "unsupported frame version " + std::to_string(get_le(p + 8, 2));
  }
  h->slice = get_le(p + 16, 8);
  h->in_length = get_le(p + 24, 8);
  h->out_length = get_le(p + 32, 8);
  h->crc = static_cast<uint32_t>(get_le(p + 40, 4));
  return "";
}

// Shared with the other process elements (csrc/core/process_runner.h).
using xfa::command_from_props;
using xfa::parse_exit_codes;
inline std::vector<std::string> command_from(const Props& p) { return command_from_props(p); }

inline std::vector<PropSpec> command_props(const std::string& example) {
  return {{"cmd", PropType::kString, "", 0, -1, false, "the command run once per slice, e.g. \"" + example + "\" (no shell)"},
          {"argv", PropType::kStrings, "", 0, -1, false, "the argument vector, instead of cmd"},
          {"ok-exit", PropType::kStrings, "0", 0, -1, false, "exit statuses that mean success, e.g. 0,2"}};
}

// Runs one child per slice: write() feeds its stdin while its stdout is collected into pooled
// blocks and its stderr into a short tail; finish() closes stdin, drains, reaps and judges the
// exit status. One poll() loop over stdin, stdout, stderr and the cancel fd, so neither pipe can
// fill up while we wait on the other. Data thread only, except kill() (any thread).
class SliceRunner {
 public:
  SliceRunner(Element& owner, std::vector<std::string> argv, std::vector<int> ok_codes)
      : owner_(owner), argv_(std::move(argv)), ok_codes_(std::move(ok_codes)) {}

  // Spawns the child; the first output block keeps `reserve` bytes free at its start.
  Status spawn(size_t reserve) {
    out_blocks_.clear();
    out_bytes_ = 0;
    crc_ = crc32c_init();
    tail_.clear();
    refused_ = false;
    reserve_ = reserve;
    UniqueFd in_r, out_w, err_w;
    if (Status s = make_pipe(&in_r, &in_)) return s;
    if (Status s = make_pipe(&out_, &out_w)) return s;
    if (Status s = make_pipe(&err_, &err_w)) return s;
    set_nonblocking(in_.get(), true);
    set_nonblocking(out_.get(), true);
    set_nonblocking(err_.get(), true);
    Status s = child_.spawn(argv_, in_r.get(), out_w.get(), err_w.get());
    if (!s && owner_.cancelled()) child_.kill(SIGKILL);  // unblock() may have run before the pid existed
    return s;
  }

  // Feeds n bytes. After the child stopped reading (EPIPE) the rest is discarded; finish() then
  // reports why through the exit status.
  Status write(const uint8_t* p, size_t n) { return pump(p, n, false); }

  // Closes stdin, collects the rest of the output, reaps the child and checks its status.
  Status finish() {
    if (Status s = pump(nullptr, 0, true)) return s;
    const int st = child_.wait();
    if (owner_.cancelled()) return plain_error("cancel", "cancelled");
    const int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (code >= 0 && std::find(ok_codes_.begin(), ok_codes_.end(), code) != ok_codes_.end()) {
      if (refused_) return plain_error("run " + argv_[0], argv_[0] + " exited before reading all of its input" + tail_text());
      return ok();
    }
    return plain_error("run " + argv_[0], describe_exit(argv_[0], st) + tail_text());
  }

  std::deque<BlockRef>& blocks() { return out_blocks_; }
  uint64_t output_bytes() const { return out_bytes_; }
  uint32_t output_crc() const { return crc32c_final(crc_); }
  bool running() const { return child_.running(); }
  void kill() { child_.kill(SIGKILL); }

  void close() {
    child_.kill(SIGKILL);
    child_.wait();
    in_.reset();
    out_.reset();
    err_.reset();
    out_blocks_.clear();
  }

 private:
  static Status make_pipe(UniqueFd* r, UniqueFd* w) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return sys_error("pipe", errno);
    r->reset(p[0]);
    w->reset(p[1]);
    return ok();
  }

  Status pump(const uint8_t* p, size_t n, bool closing) {
    for (;;) {
      if (!in_) n = 0;
      if (closing && n == 0) in_.reset();
      if (n == 0 && (!closing || (!out_ && !err_))) return ok();
      pollfd fds[4];
      int k = 0;
      const int iw = n > 0 ? add(fds, &k, in_.get(), POLLOUT) : -1;
      const int io = out_ ? add(fds, &k, out_.get(), POLLIN) : -1;
      const int ie = err_ ? add(fds, &k, err_.get(), POLLIN) : -1;
      const int ic = add(fds, &k, owner_.cancel_fd(), POLLIN);
      if (::poll(fds, k, -1) < 0) {
        if (errno == EINTR) continue;
        return sys_error("poll", errno);
      }
      if (fds[ic].revents) return plain_error("cancel", "cancelled");
      if (io >= 0 && fds[io].revents) {
        if (Status s = read_output()) return s;
      }
      if (ie >= 0 && fds[ie].revents) read_stderr();
      if (iw >= 0 && fds[iw].revents) {
        const ssize_t w = ::write(in_.get(), p, std::min<size_t>(n, 1 << 20));
        if (w > 0) {
          p += w;
          n -= static_cast<size_t>(w);
        } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
          refused_ = true;  // EPIPE: the child closed stdin; its exit status will tell why
          in_.reset();
        }
      }
    }
  }

  static int add(pollfd* fds, int* k, int fd, short ev) {
    fds[*k] = pollfd{fd, ev, 0};
    return (*k)++;
  }

  Status read_output() {
    if (out_blocks_.empty() || out_blocks_.back()->size() == out_blocks_.back()->capacity()) {
      BlockRef b = owner_.alloc_block();
      b->set_size(out_blocks_.empty() ? reserve_ : 0);
      out_blocks_.push_back(std::move(b));
    }
    Block& b = *out_blocks_.back();
    const ssize_t r = ::read(out_.get(), b.data() + b.size(), b.capacity() - b.size());
    if (r > 0) {
      crc_ = crc32c_update(crc_, b.data() + b.size(), static_cast<size_t>(r));
      b.set_size(b.size() + static_cast<size_t>(r));
      out_bytes_ += static_cast<uint64_t>(r);
    } else if (r == 0) {
      out_.reset();
    } else if (errno != EAGAIN && errno != EINTR) {
      return sys_error("read from " + argv_[0], errno);
    }
    return ok();
  }

  void read_stderr() {
    char buf[1024];
    const ssize_t r = ::read(err_.get(), buf, sizeof buf);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
      err_.reset();
      return;
    }
    if (r > 0) tail_.append(buf, static_cast<size_t>(r));
    if (tail_.size() > 2048) tail_.erase(0, tail_.size() - 1024);
  }

  std::string tail_text() const {
    std::string t = tail_;
    while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
    return t.empty() ? "" : ": " + t;
  }

  Element& owner_;
  const std::vector<std::string> argv_;
  const std::vector<int> ok_codes_;
  Child child_;
  UniqueFd in_, out_, err_;
  std::deque<BlockRef> out_blocks_;
  uint64_t out_bytes_ = 0;
  uint32_t crc_ = crc32c_init();
  std::string tail_;
  bool refused_ = false;
  size_t reserve_ = 0;
};

}  // namespace catenize
}  // namespace xfa
