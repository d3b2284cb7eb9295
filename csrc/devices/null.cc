// null: Amanda's null device: accepts and discards whatever is written (headers are still built
// and validated), reports no end of medium, cannot be read and has no label.
#include <cerrno>

#include "devices.h"

namespace xfa::devices {
namespace {

class NullDevice final : public Device {
 public:
  explicit NullDevice(std::string spec) : Device(std::move(spec)) {
    props_.appendable = false;
    props_.partial_deletion = false;
    props_.full_deletion = false;
    props_.leom = false;
  }

  const char* type() const override { return "null"; }

  Status read_label() override {
    status_ = kVolumeUnlabeled;
    return dev_error("read_label", 0, "the null device has no label");
  }

  Status start(DeviceAccess mode, const std::string& label, const std::string& timestamp) override {
    if (access_ != DeviceAccess::kNull) return dev_error("start", 0, std::string("already started for ") + access_name(access_));
    if (mode == DeviceAccess::kRead) return dev_error("start", ENOTSUP, "the null device cannot be read");
    if (mode == DeviceAccess::kAppend) return dev_error("start", ENOTSUP, "the null device is not appendable");
    if (mode != DeviceAccess::kWrite) return dev_error("start", EINVAL, "access mode NULL");
    volume_label_ = label;
    volume_time_ = timestamp.empty() ? "X" : timestamp;
    file_ = 0;
    bytes_written_ = 0;
    in_file_ = false;
    access_ = mode;
    return ok();
  }

  Status finish() override {
    access_ = DeviceAccess::kNull;
    in_file_ = false;
    return ok();
  }

  Status start_file(amanda::Header& h) override {
    if (access_ != DeviceAccess::kWrite) return dev_error("start_file", EBADF, "the device is not started for writing");
    if (in_file_) return dev_error("start_file", EBUSY, "file " + std::to_string(file_) + " is still open");
    h.blocksize = amanda::kHeaderSize;
    std::string block;
    if (Status s = amanda::build(h, &block)) return dev_error("start_file", 0, s->detail);
    ++file_;
    block_ = 0;
    in_file_ = true;
    return ok();
  }

  WriteResult write_block(const void*, size_t size) override {
    WriteResult r;
    if (!in_file_ || size == 0 || size > props_.block_size) {
      r.kind = WriteResult::kError;
      r.error = dev_error("write_block", in_file_ ? EINVAL : EBADF, in_file_ ? "bad block size " + std::to_string(size) : "no file is open");
      return r;
    }
    bytes_written_ += size;
    ++block_;
    return r;
  }

  Status finish_file() override {
    if (!in_file_) return dev_error("finish_file", EBADF, "no file is open for writing");
    in_file_ = false;
    return ok();
  }

  void abort_file() override { in_file_ = false; }

  Status seek_file(uint32_t n, amanda::Header*) override {
    return dev_error("seek_file " + std::to_string(n), ENOTSUP, "the null device cannot be read");
  }
  Status seek_block(uint64_t) override { return dev_error("seek_block", ENOTSUP, "the null device cannot be read"); }
  ReadResult read_block(void*, size_t) override {
    return {ReadResult::kError, 0, dev_error("read_block", ENOTSUP, "the null device cannot be read")};
  }
};

}  // namespace

DeviceOrError make_null(const std::string& spec, const std::string&) { return std::unique_ptr<Device>(new NullDevice(spec)); }

}  // namespace xfa::devices
