// source-file: Amanda's Source::File — reads a file from its start. The file is opened in
// setup(), so a missing or unreadable file fails the transfer before any thread starts.
#include <fcntl.h>

#include <cerrno>

#include "unique_fd.h"
#include "xfa/element.h"

namespace xfa {
namespace {

class SourceFile final : public Element {
 public:
  explicit SourceFile(const Props& p) : Element("source-file"), path_(p.get_string("path", "")) {}

  MechPairs mech_pairs() const override { return {{Mech::kNone, Mech::kReadFd, 0, 0, 0}}; }

  Status setup() override {
    fd_.reset(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd_) return sys_error("open " + path_, errno);
    return ok();
  }

  int output_fd() override { return fd_.get(); }
  std::string fd_label() const override { return path_; }
  void release_output() override { fd_.reset(); }
  void close() override { fd_.reset(); }

 private:
  const std::string path_;
  UniqueFd fd_;
};

const bool registered = register_element({
    "source-file",
    "source",
    "Reads a file",
    "Opens the file read-only and streams it from the start to EOF.",
    {{"path", PropType::kString, "", 0, -1, true, "the file to read"}},
    {{Mech::kNone, Mech::kReadFd, 0, 0, 0}},
    "source-file path=/var/backups/x.tar ! dest-file path=/mnt/copy/x.tar",
    [](const Props& p) { return std::make_unique<SourceFile>(p); },
});

}  // namespace
}  // namespace xfa
