// source-fd: Amanda's Source::Fd — reads a file descriptor the caller already has open (a pipe
// from another program, a socket, a file). The fd is dup()ed at construction; the caller's own fd
// is never closed by xfa.
#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "unique_fd.h"
#include "xfa/element.h"

namespace xfa {
namespace {

class SourceFd final : public Element {
 public:
  explicit SourceFd(const Props& p) : Element("source-fd") {
    const int fd = static_cast<int>(p.get_int("fd", -1));
    label_ = "fd " + std::to_string(fd);
    fd_.reset(fcntl(fd, F_DUPFD_CLOEXEC, 3));
    if (!fd_) throw std::invalid_argument("fd " + std::to_string(fd) + ": " + std::strerror(errno));
  }

  MechPairs mech_pairs() const override { return {{Mech::kNone, Mech::kReadFd, 0, 0, 0}}; }
  int output_fd() override { return fd_.get(); }
  void release_output() override { fd_.reset(); }
  void close() override { fd_.reset(); }

  std::string fd_label() const override { return label_; }

 private:
  UniqueFd fd_;
  std::string label_;
};

const bool registered = register_element({
    "source-fd",
    "source",
    "Reads an open file descriptor",
    "Reads from a file descriptor the caller passes (a pipe, a socket, a file) until EOF. The descriptor "
    "is duplicated; the caller keeps and closes its own.",
    {{"fd", PropType::kInt, "", 0, 1048576, true, "the file descriptor to read"}},
    {{Mech::kNone, Mech::kReadFd, 0, 0, 0}},
    "source-fd fd=0 ! filter-crc ! dest-null",
    [](const Props& p) { return std::make_unique<SourceFd>(p); },
});

}  // namespace
}  // namespace xfa
