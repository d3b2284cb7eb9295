// dest-fd: Amanda's Dest::Fd — writes to a file descriptor the caller already has open. The fd is
// dup()ed at construction; the caller's own fd is never closed by xfa.
#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "fdio.h"
#include "unique_fd.h"
#include "xfa/element.h"

namespace xfa {
namespace {

class DestFd final : public Element {
 public:
  explicit DestFd(const Props& p) : Element("dest-fd") {
    const int fd = static_cast<int>(p.get_int("fd", -1));
    label_ = "fd " + std::to_string(fd);
    fd_.reset(fcntl(fd, F_DUPFD_CLOEXEC, 3));
    if (!fd_) throw std::invalid_argument("fd " + std::to_string(fd) + ": " + std::strerror(errno));
  }

  MechPairs mech_pairs() const override {
    return {{Mech::kWriteFd, Mech::kNone, 0, 0, 0}, {Mech::kPushBuffer, Mech::kNone, 1, 0, 0}};
  }

  // WRITEFD: upstream (maybe a child process) writes our fd directly.
  int input_fd() override { return fd_.get(); }
  void release_input() override { fd_.reset(); }

  // PUSH: we write on the pusher's thread.
  void push(BlockRef b) override {
    if (!b) return fd_.reset();
    if (cancelled() || !fd_) return;
    const IoResult r = write_all(fd_.get(), b->data(), b->size(), cancel_fd());
    count_in(r.n);
    if (r.status == IoStatus::kError) {
      fail(sys_error("write " + label_, r.err));
      fd_.reset();
    }
  }

  void close() override { fd_.reset(); }

  std::string fd_label() const override { return label_; }

 private:
  UniqueFd fd_;
  std::string label_;
};

const bool registered = register_element({
    "dest-fd",
    "dest",
    "Writes to an open file descriptor",
    "Writes the stream to a file descriptor the caller passes (a pipe, a socket, a file). The "
    "descriptor is duplicated; the caller keeps and closes its own.",
    {{"fd", PropType::kInt, "", 0, 1048576, true, "the file descriptor to write"}},
    {{Mech::kWriteFd, Mech::kNone, 0, 0, 0}, {Mech::kPushBuffer, Mech::kNone, 1, 0, 0}},
    "source-file path=/etc/hosts ! dest-fd fd=1",
    [](const Props& p) { return std::make_unique<DestFd>(p); },
});

}  // namespace
}  // namespace xfa
