// diskflat: Amanda's diskflat device (device-src/diskflat-device.c): a whole volume in one
// regular file, holding a single dump file:
//
//   [0, 32 KiB)        TAPESTART label
//   [32 KiB, 64 KiB)   file 1's header
//   [64 KiB, EOF)      file 1's data blocks (block n at 64 KiB + n * block_size)
//
// Not appendable, no partial deletion; a second start_file() in a session is refused ("Can't
// write more than one file to the diskflat device", as Amanda). start(kWrite) truncates the
// file; abort_file() cuts it back to the label; erase() empties it (an unlabeled volume).
// End of medium: MAX_VOLUME_USAGE and the filesystem's free space, as vfs.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "devices.h"
#include "file_media.h"
#include "unique_fd.h"

namespace xfa::devices {
namespace {

using amanda::FileType;
using amanda::Header;
using amanda::kHeaderSize;

constexpr uint64_t kDataStart = 2 * kHeaderSize;

std::string dir_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

class DiskflatDevice final : public Device {
 public:
  DiskflatDevice(std::string spec, std::string path) : Device(std::move(spec)), path_(std::move(path)) {
    props_.header_block_size = kHeaderSize;
    props_.appendable = false;
    props_.partial_deletion = false;
    props_.full_deletion = true;
  }

  const char* type() const override { return "diskflat"; }

  Status read_label() override {
    status_ = kDeviceSuccess;
    volume_label_.clear();
    volume_time_.clear();
    volume_header_ = Header();
    UniqueFd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
      status_ = errno == ENOENT ? kVolumeMissing : kDeviceError;
      return dev_error("read_label", errno, "open " + path_);
    }
    std::string buf(kHeaderSize, '\0');
    const ssize_t n = read_at(fd.get(), 0, buf.data(), buf.size());
    if (n < 0) {
      status_ = kVolumeError | kDeviceError;
      return dev_error("read_label", errno, "read " + path_);
    }
    if (amanda::classify(buf.data(), static_cast<size_t>(n)) != FileType::kUnknown) {
      status_ = kVolumeUnlabeled;
      return dev_error("read_label", 0, "the volume is unlabeled (no Amanda label at the start of " + path_ + ")");
    }
    return accept_label(buf.data(), static_cast<size_t>(n), "the volume " + path_);
  }

  Status start(DeviceAccess mode, const std::string& label, const std::string& timestamp) override {
    if (Status s = begin_start()) return s;
    files_written_ = 0;
    if (mode == DeviceAccess::kAppend) return dev_error("start", ENOTSUP, "diskflat volumes are not appendable (one dump file per volume)");
    if (mode == DeviceAccess::kRead) {
      if (Status s = read_label()) return s;
      fd_.reset(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd_) return dev_error("start", errno, "open " + path_);
      access_ = mode;
      return ok();
    }
    if (mode != DeviceAccess::kWrite) return dev_error("start", EINVAL, "access mode NULL");
    Header h;
    h.type = FileType::kTapeStart;
    h.name = label;
    h.datestamp = timestamp.empty() ? "X" : timestamp;
    std::string block;
    if (Status s = amanda::build(h, &block)) return dev_error("start", 0, "label: " + s->detail);
    fd_.reset(::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666));
    if (!fd_) {
      status_ = errno == ENOENT ? kVolumeMissing : kDeviceError;
      return dev_error("start", errno, "open " + path_);
    }
    struct stat st;
    if (::fstat(fd_.get(), &st) != 0) return dev_error("start", errno, "stat " + path_);
    if (!S_ISREG(st.st_mode)) {
      fd_.reset();
      return dev_error("start", EINVAL, path_ + " is not a regular file");
    }
    if (::ftruncate(fd_.get(), 0) != 0) return dev_error("start", errno, "truncate " + path_);
    int err = 0;
    if (write_or_cut(fd_.get(), 0, block.data(), block.size(), &err) != WriteOutcome::kOk)
      return dev_error("start", err, "write label to " + path_);
    volume_header_ = h;
    volume_label_ = label;
    volume_time_ = h.datestamp;
    volume_bytes_ = kHeaderSize;
    file_ = 0;
    space_.reset(dir_of(path_), true);
    access_ = DeviceAccess::kWrite;
    return ok();
  }

  Status finish() override {
    Status result;
    if (in_file_ && access_ == DeviceAccess::kWrite) result = finish_file();
    if (access_ == DeviceAccess::kWrite && fd_ && props_.sync && !result) {
      if (::fsync(fd_.get()) != 0) result = dev_error("finish", errno, "fsync " + path_);
      else if (int e = fsync_dir(dir_of(path_))) result = dev_error("finish", e, "fsync " + dir_of(path_));
    }
    fd_.reset();
    in_file_ = false;
    access_ = DeviceAccess::kNull;
    return result;
  }

  Status start_file(Header& h) override {
    if (access_ != DeviceAccess::kWrite) return dev_error("start_file", EBADF, "the device is not started for writing");
    if (in_file_ || files_written_ > 0) return dev_error("start_file", ENOSPC, "Can't write more than one file to the diskflat device");
    h.blocksize = kHeaderSize;
    std::string block;
    if (Status s = amanda::build(h, &block)) return dev_error("start_file", 0, s->detail);
    if (SpaceMonitor::at_peom(props_, volume_bytes_, kHeaderSize)) {
      is_eom_ = true;
      return dev_error("start_file", ENOSPC, "the volume is full (MAX_VOLUME_USAGE)");
    }
    if (space_.at_leom(props_, volume_bytes_, kHeaderSize)) is_eom_ = true;
    int err = 0;
    const WriteOutcome w = write_or_cut(fd_.get(), kHeaderSize, block.data(), block.size(), &err);
    if (w != WriteOutcome::kOk) {
      if (w == WriteOutcome::kNoSpace) is_eom_ = true;
      return dev_error("start_file", err, "write header to " + path_);
    }
    volume_bytes_ += kHeaderSize;
    space_.wrote(kHeaderSize);
    file_ = 1;
    block_ = 0;
    offset_ = kDataStart;
    short_written_ = false;
    in_file_ = true;
    return ok();
  }

  WriteResult write_block(const void* data, size_t size) override {
    const std::string op = "write_block";
    if (!in_file_ || access_ != DeviceAccess::kWrite) return fail_write(WriteResult::kError, dev_error(op, EBADF, "no file is open for writing"));
    if (size == 0 || size > props_.block_size)
      return fail_write(WriteResult::kError, dev_error(op, EINVAL, "block of " + std::to_string(size) + " bytes (block size " +
                                                                       std::to_string(props_.block_size) + ")"));
    if (short_written_) return fail_write(WriteResult::kError, dev_error(op, EINVAL, "a short block was already written: it must be the file's last"));
    if (space_.at_leom(props_, volume_bytes_, size)) is_eom_ = true;
    if (SpaceMonitor::at_peom(props_, volume_bytes_, size)) {
      is_eom_ = true;
      return fail_write(props_.leom ? WriteResult::kFull : WriteResult::kError,
                        dev_error(op, ENOSPC, "block " + std::to_string(block_) + ": the volume is full (MAX_VOLUME_USAGE " +
                                                  std::to_string(props_.max_volume_usage) + " bytes)"));
    }
    int err = 0;
    const WriteOutcome w = write_or_cut(fd_.get(), offset_, data, size, &err);
    if (w == WriteOutcome::kNoSpace) {
      is_eom_ = true;
      return fail_write(props_.leom ? WriteResult::kSpace : WriteResult::kError,
                        dev_error(op, err, "block " + std::to_string(block_) + ": the filesystem is full; cut back to the last complete block"));
    }
    if (w == WriteOutcome::kError) return fail_write(WriteResult::kError, dev_error(op, err, "block " + std::to_string(block_)));
    offset_ += size;
    volume_bytes_ += size;
    bytes_written_ += size;
    space_.wrote(size);
    ++block_;
    if (size < props_.block_size) short_written_ = true;
    return {};
  }

  Status finish_file() override {
    if (!in_file_ || access_ != DeviceAccess::kWrite) return dev_error("finish_file", EBADF, "no file is open for writing");
    in_file_ = false;
    ++files_written_;
    if (props_.sync && ::fsync(fd_.get()) != 0) return dev_error("finish_file", errno, "fsync " + path_);
    return ok();
  }

  void abort_file() override {
    if (!in_file_ || access_ != DeviceAccess::kWrite) return;
    in_file_ = false;
    if (::ftruncate(fd_.get(), kHeaderSize) == 0) volume_bytes_ = kHeaderSize;
    file_ = 0;
  }

  Status seek_file(uint32_t n, Header* out) override {
    const std::string op = "seek_file " + std::to_string(n);
    if (access_ != DeviceAccess::kRead) return dev_error(op, EBADF, "the device is not started for reading");
    in_file_ = false;
    is_eof_ = false;
    struct stat st;
    if (::fstat(fd_.get(), &st) != 0) return dev_error(op, errno, "stat " + path_);
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    if (n == 0) {
      file_header_bytes_.assign(kHeaderSize, '\0');
      read_at(fd_.get(), 0, file_header_bytes_.data(), kHeaderSize);
      *out = volume_header_;
      end_ = kHeaderSize;
      offset_ = kHeaderSize;
      file_ = 0;
      block_ = 0;
      in_file_ = true;
      return ok();
    }
    if (n >= 2 || size <= kHeaderSize) {
      Header end;
      end.type = FileType::kTapeEnd;
      end.datestamp = volume_time_;
      file_ = static_cast<int>(n);
      is_eof_ = true;
      file_header_bytes_.clear();
      *out = end;
      return ok();
    }
    std::string buf(kHeaderSize, '\0');
    const ssize_t got = read_at(fd_.get(), kHeaderSize, buf.data(), buf.size());
    if (got < 0) return dev_error(op, errno, "read " + path_);
    if (static_cast<size_t>(got) < kHeaderSize) {
      status_ |= kVolumeError;
      return dev_error(op, 0, path_ + " is truncated inside file 1's header");
    }
    Header h;
    if (amanda::classify(buf.data(), buf.size()) != FileType::kUnknown) {
      status_ |= kVolumeError;
      return dev_error(op, 0, "file 1 does not start with an Amanda header");
    }
    if (Status s = amanda::parse(buf.data(), buf.size(), &h)) {
      status_ |= kVolumeError;
      return dev_error(op, 0, s->detail);
    }
    file_header_bytes_ = std::move(buf);
    end_ = size;
    offset_ = kDataStart;
    file_ = 1;
    block_ = 0;
    in_file_ = true;
    *out = h;
    return ok();
  }

  Status seek_block(uint64_t b) override {
    if (access_ != DeviceAccess::kRead || !in_file_) return dev_error("seek_block", EBADF, "not positioned in a file");
    offset_ = (file_ == 0 ? kHeaderSize : kDataStart) + b * props_.block_size;
    block_ = b;
    is_eof_ = false;
    return ok();
  }

  ReadResult read_block(void* buf, size_t max) override {
    if (access_ != DeviceAccess::kRead || !in_file_) {
      if (is_eof_) return {ReadResult::kEof, 0, {}};
      return {ReadResult::kError, 0, dev_error("read_block", EBADF, "not positioned in a file")};
    }
    if (max < props_.block_size) return {ReadResult::kTooSmall, props_.block_size, {}};
    const uint64_t left = offset_ < end_ ? end_ - offset_ : 0;
    const size_t want = static_cast<size_t>(std::min<uint64_t>(left, props_.block_size));
    if (want == 0) {
      is_eof_ = true;
      return {ReadResult::kEof, 0, {}};
    }
    const ssize_t n = read_at(fd_.get(), offset_, buf, want);
    if (n < 0) return {ReadResult::kError, 0, dev_error("read_block", errno, path_ + " block " + std::to_string(block_))};
    if (n == 0) {
      is_eof_ = true;
      return {ReadResult::kEof, 0, {}};
    }
    offset_ += static_cast<uint64_t>(n);
    bytes_read_ += static_cast<uint64_t>(n);
    ++block_;
    return {ReadResult::kData, static_cast<size_t>(n), {}};
  }

  Status erase() override {
    if (access_ != DeviceAccess::kNull) return dev_error("erase", EBUSY, "the device is started");
    if (::truncate(path_.c_str(), 0) != 0) return dev_error("erase", errno, "truncate " + path_);
    return ok();
  }

 private:
  WriteResult fail_write(WriteResult::Kind k, Error e) {
    WriteResult r;
    r.kind = k;
    r.error = std::move(e);
    return r;
  }

  const std::string path_;
  UniqueFd fd_;
  SpaceMonitor space_;
  uint64_t offset_ = 0;
  uint64_t end_ = 0;
  int files_written_ = 0;
  bool short_written_ = false;
};

}  // namespace

DeviceOrError make_diskflat(const std::string& spec, const std::string& node) {
  if (node.empty()) return plain_error("open device \"" + spec + "\"", "diskflat: needs a file, e.g. diskflat:/srv/volume1.img");
  return std::unique_ptr<Device>(new DiskflatDevice(spec, node));
}

}  // namespace xfa::devices
