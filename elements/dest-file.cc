// dest-file: writes NAME.tmp, and only when the whole transfer succeeded fsyncs it, renames it to
// NAME and fsyncs the directory — a backup is not written until it is on disk. A failed or
// cancelled transfer removes NAME.tmp and never touches NAME.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "fdio.h"
#include "unique_fd.h"
#include "xfa/element.h"

namespace xfa {
namespace {

std::string dir_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

class DestFile final : public Element {
 public:
  explicit DestFile(const Props& p)
      : Element("dest-file"), path_(p.get_string("path", "")), tmp_(path_ + ".tmp"), sync_(p.get_bool("sync", true)) {}

  MechPairs mech_pairs() const override {
    return {{Mech::kWriteFd, Mech::kNone, 0, 0, 0}, {Mech::kPushBuffer, Mech::kNone, 1, 0, 0}};
  }

  Status setup() override {
    struct stat st;
    if (::stat(path_.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return sys_error("open " + path_, EISDIR);
    fd_.reset(::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
    if (!fd_) return sys_error("open " + tmp_, errno);
    created_ = true;
    return ok();
  }

  int input_fd() override { return fd_.get(); }
  std::string fd_label() const override { return tmp_; }

  void push(BlockRef b) override {
    if (!b || cancelled() || !fd_) return;
    const IoResult r = write_all(fd_.get(), b->data(), b->size(), cancel_fd());
    count_in(r.n);
    if (r.status == IoStatus::kError) fail(sys_error("write " + tmp_, r.err));
  }

  Status commit() override {
    if (sync_ && ::fsync(fd_.get()) != 0) return sys_error("fsync " + tmp_, errno);
    if (::close(fd_.release()) != 0) return sys_error("close " + tmp_, errno);
    if (::rename(tmp_.c_str(), path_.c_str()) != 0) return sys_error("rename " + tmp_ + " to " + path_, errno);
    created_ = false;
    if (sync_) {
      UniqueFd dir(::open(dir_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (dir && ::fsync(dir.get()) != 0) return sys_error("fsync " + dir_of(path_), errno);
    }
    return ok();
  }

  void abort() override {
    fd_.reset();
    if (created_) ::unlink(tmp_.c_str());
    created_ = false;
  }

  void close() override { fd_.reset(); }

 private:
  const std::string path_;
  const std::string tmp_;
  const bool sync_;
  UniqueFd fd_;
  bool created_ = false;
};

const bool registered = register_element({
    "dest-file",
    "dest",
    "Writes a file atomically (NAME.tmp, fsync, rename)",
    "Writes to NAME.tmp; when the transfer succeeds, fsyncs it, renames it to NAME and fsyncs the "
    "directory. A failed or cancelled transfer deletes NAME.tmp and leaves NAME as it was.",
    {{"path", PropType::kString, "", 0, -1, true, "the file to write"},
     {"sync", PropType::kBool, "true", 0, -1, false, "fsync the file and its directory before reporting success"}},
    {{Mech::kWriteFd, Mech::kNone, 0, 0, 0}, {Mech::kPushBuffer, Mech::kNone, 1, 0, 0}},
    "source-file path=/etc/hosts ! dest-file path=/tmp/hosts.copy",
    [](const Props& p) { return std::make_unique<DestFile>(p); },
});

}  // namespace
}  // namespace xfa
