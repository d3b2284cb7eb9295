// tape: Amanda's tape device (device-src/tape-device.c) on Linux st(4), through TapeIo
// (tape_io.h): `tape:/dev/nst0` drives a real no-rewind device; `tape:emu:/path/image` drives the
// st emulator (tape_emu.cc) — what the tests use. No real drive was tested.
//
// Layout: file 0 is the label (one TAPESTART header block, then a filemark); every file is one
// header block (block_size bytes, the header's `blocksize` says so) followed by data blocks and a
// filemark. Every block is block_size bytes: the last block of a file is zero-padded by the writer
// (SHORT_BLOCKS false). finish() after writing adds a second filemark (FINAL_FILEMARKS 2), so the
// end of the recorded files is a double filemark; append (kAppend) goes to the end of data and
// backs over that last filemark.
//
// Blocks: variable-block mode (MTSETBLK 0, default: each write is one record of block_size) or
// fixed-block mode (FIXED_BLOCK=true: MTSETBLK block_size). BLOCK_SIZE default 32 KiB, 32 KiB
// minimum (Amanda's), READ_BLOCK_SIZE the read buffer for records of unknown size (labels).
//
// End of medium (Amanda's tape LEOM handling): the first ENOSPC is the early warning; with LEOM
// (default false, as Amanda) the write is retried and succeeds with is_eom() true; the next ENOSPC
// is the physical end (kFull). Without LEOM the first ENOSPC fails the write (kError, is_eom).
// abort_file() cannot remove a partial file from tape: it closes it with a filemark (readers see a
// short file); dest-taper's retried part then also exists as that partial file.
#include <sys/mtio.h>

#include <cerrno>
#include <cstring>

#include "devices.h"
#include "tape_io.h"

namespace xfa::devices {
namespace {

using amanda::FileType;
using amanda::Header;

class TapeDevice final : public Device {
 public:
  TapeDevice(std::string spec, std::unique_ptr<TapeIo> io) : Device(std::move(spec)), io_(std::move(io)) {
    props_.block_size = 32768;
    props_.min_block_size = 32768;
    props_.max_block_size = 16u << 20;
    props_.header_block_size = props_.block_size;
    props_.short_blocks = false;
    props_.leom = false;
    props_.partial_deletion = false;
    props_.full_deletion = false;
    props_.streaming = Streaming::kDesired;
  }

  const char* type() const override { return "tape"; }

  Status set_property(const std::string& name, const std::string& value) override {
    const std::string n = norm_name(name);
    if (access_ != DeviceAccess::kNull) return Device::set_property(name, value);
    if (n == "FIXED_BLOCK") {
      if (!parse_bool(value, &fixed_)) return dev_error("set_property " + n, 0, "\"" + value + "\" is not a boolean");
      return ok();
    }
    if (n == "READ_BLOCK_SIZE") {
      uint64_t v;
      if (!parse_size(value, &v) || v < 1 || v > props_.max_block_size) return dev_error("set_property " + n, 0, "\"" + value + "\" is not a size");
      read_block_size_ = v;
      return ok();
    }
    Status s = Device::set_property(name, value);
    props_.header_block_size = props_.block_size;
    return s;
  }

  std::optional<std::string> get_property(const std::string& name) const override {
    const std::string n = norm_name(name);
    if (n == "FIXED_BLOCK") return std::string(fixed_ ? "true" : "false");
    if (n == "READ_BLOCK_SIZE") return std::to_string(read_block_size_);
    if (n == "FINAL_FILEMARKS") return std::string("2");
    return Device::get_property(name);
  }

  Status read_label() override {
    status_ = kDeviceSuccess;
    volume_label_.clear();
    volume_time_.clear();
    volume_header_ = Header();
    if (Status s = open_io(access_ == DeviceAccess::kWrite || access_ == DeviceAccess::kAppend)) return s;
    if (Status s = mtop(MTREW, 1, "read_label")) return s;
    std::string buf(header_read_size(), '\0');
    const ssize_t n = io_->read(buf.data(), buf.size());
    if (n <= 0) {
      status_ = kVolumeUnlabeled;
      return dev_error("read_label", n < 0 ? errno : 0, n < 0 && errno == EIO ? "blank tape (no data)" : "the tape starts with a filemark");
    }
    if (amanda::classify(buf.data(), static_cast<size_t>(n)) != FileType::kUnknown) {
      status_ = kVolumeUnlabeled;
      return dev_error("read_label", 0, "not an Amanda tape: " + amanda::first_line(buf.data(), std::min<size_t>(static_cast<size_t>(n), 80)));
    }
    return accept_label(buf.data(), static_cast<size_t>(n), "the first file of the tape");
  }

  Status start(DeviceAccess mode, const std::string& label, const std::string& timestamp) override {
    if (Status s = begin_start()) return s;
    volume_bytes_ = 0;
    warned_ = false;
    io_->close();
    switch (mode) {
      case DeviceAccess::kRead:
        if (Status s = open_io(false)) return s;
        if (Status s = read_label()) return s;
        access_ = mode;
        return ok();
      case DeviceAccess::kAppend: {
        if (Status s = open_io(true)) return s;
        access_ = mode;  // read_label keeps the device open for writing
        if (Status s = read_label()) return fail_start(*s);
        if (Status s = mtop(MTEOM, 1, "start (append)")) return fail_start(*s);
        if (Status s = mtop(MTBSF, 1, "start (append)")) return fail_start(*s);
        TapePosition p;
        if (io_->position(&p) != 0) return fail_start(dev_error("start", errno, "MTIOCGET"));
        next_file_ = static_cast<uint32_t>(p.fileno);
        if (next_file_ < 1) return fail_start(dev_error("start", EIO, "no filemark after the label: not an Amanda tape"));
        file_ = static_cast<int>(next_file_) - 1;
        return ok();
      }
      case DeviceAccess::kWrite: {
        if (Status s = open_io(true)) return s;
        if (Status s = mtop(MTREW, 1, "start")) return s;
        Header h;
        h.type = FileType::kTapeStart;
        h.name = label;
        h.datestamp = timestamp.empty() ? "X" : timestamp;
        h.blocksize = props_.block_size;
        std::string block;
        if (Status s = amanda::build(h, &block, props_.block_size, props_.block_size)) return dev_error("start", 0, s->detail);
        if (io_->write(block.data(), block.size()) != static_cast<ssize_t>(block.size())) return dev_error("start", errno, "write the label");
        if (Status s = mtop(MTWEOF, 1, "start")) return s;
        volume_header_ = h;
        volume_label_ = label;
        volume_time_ = h.datestamp;
        volume_bytes_ = props_.block_size;
        next_file_ = 1;
        file_ = 0;
        access_ = mode;
        return ok();
      }
      default:
        return dev_error("start", EINVAL, "access mode NULL");
    }
  }

  Status finish() override {
    Status result;
    if (in_file_ && access_ != DeviceAccess::kRead) result = finish_file();
    if ((access_ == DeviceAccess::kWrite || access_ == DeviceAccess::kAppend) && io_->is_open() && !result)
      result = mtop(MTWEOF, 1, "finish");  // the second of FINAL_FILEMARKS
    io_->close();
    access_ = DeviceAccess::kNull;
    in_file_ = false;
    return result;
  }

  Status start_file(Header& h) override {
    if (access_ != DeviceAccess::kWrite && access_ != DeviceAccess::kAppend)
      return dev_error("start_file", EBADF, "the device is not started for writing");
    if (in_file_) return dev_error("start_file", EBUSY, "file " + std::to_string(file_) + " is still open");
    h.blocksize = props_.block_size;
    std::string block;
    if (Status s = amanda::build(h, &block, props_.block_size, props_.block_size)) return dev_error("start_file", 0, s->detail);
    WriteResult w = put(block.data(), block.size(), "start_file");
    if (!w.ok()) return w.error;
    file_ = static_cast<int>(next_file_);
    block_ = 0;
    in_file_ = true;
    return ok();
  }

  WriteResult write_block(const void* data, size_t size) override {
    if (!in_file_ || access_ == DeviceAccess::kRead) {
      WriteResult r;
      r.kind = WriteResult::kError;
      r.error = dev_error("write_block", EBADF, "no file is open for writing");
      return r;
    }
    if (size != props_.block_size) {
      WriteResult r;
      r.kind = WriteResult::kError;
      r.error = dev_error("write_block", EINVAL, "block of " + std::to_string(size) + " bytes: a tape takes whole blocks of " +
                                                     std::to_string(props_.block_size) + " (pad the last one)");
      return r;
    }
    WriteResult r = put(data, size, "write_block");
    if (r.ok()) {
      bytes_written_ += size;
      ++block_;
    }
    return r;
  }

  Status finish_file() override {
    if (!in_file_ || access_ == DeviceAccess::kRead) return dev_error("finish_file", EBADF, "no file is open for writing");
    in_file_ = false;
    if (Status s = mtop(MTWEOF, 1, "finish_file")) return s;
    ++next_file_;
    return ok();
  }

  void abort_file() override {
    if (!in_file_ || access_ == DeviceAccess::kRead) return;
    in_file_ = false;
    if (!mtop(MTWEOF, 1, "abort_file")) ++next_file_;  // the partial file stays: tape cannot remove it
  }

  Status seek_file(uint32_t n, Header* out) override {
    const std::string op = "seek_file " + std::to_string(n);
    if (access_ != DeviceAccess::kRead) return dev_error(op, EBADF, "the device is not started for reading");
    in_file_ = false;
    is_eof_ = false;
    if (Status s = mtop(MTREW, 1, op)) return s;
    auto tapeend = [&]() {
      Header end;
      end.type = FileType::kTapeEnd;
      end.datestamp = volume_time_;
      file_ = static_cast<int>(n);
      is_eof_ = true;
      file_header_bytes_.clear();
      *out = end;
      return ok();
    };
    if (n > 0 && io_->op(MTFSF, static_cast<int>(n)) != 0) {
      if (errno == EIO) return tapeend();
      return dev_error(op, errno, "MTFSF " + std::to_string(n));
    }
    std::string buf(header_read_size(), '\0');
    const ssize_t got = io_->read(buf.data(), buf.size());
    if (got == 0 || (got < 0 && errno == EIO)) return tapeend();  // the double filemark / end of data
    if (got < 0) return dev_error(op, errno, "read the header block");
    Header h;
    if (amanda::classify(buf.data(), static_cast<size_t>(got)) != FileType::kUnknown) {
      status_ |= kVolumeError;
      return dev_error(op, 0, "file " + std::to_string(n) + " does not start with an Amanda header");
    }
    if (Status s = amanda::parse(buf.data(), static_cast<size_t>(got), &h)) {
      status_ |= kVolumeError;
      return dev_error(op, 0, s->detail);
    }
    buf.resize(static_cast<size_t>(got));
    file_header_bytes_ = std::move(buf);
    file_ = static_cast<int>(n);
    block_ = 0;
    in_file_ = true;
    *out = h;
    return ok();
  }

  Status seek_block(uint64_t b) override {
    if (access_ != DeviceAccess::kRead || !in_file_) return dev_error("seek_block", EBADF, "not positioned in a file");
    if (b > block_ && io_->op(MTFSR, static_cast<int>(b - block_)) != 0) return dev_error("seek_block", errno, "MTFSR");
    if (b < block_ && io_->op(MTBSR, static_cast<int>(block_ - b)) != 0) return dev_error("seek_block", errno, "MTBSR");
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
    const size_t want = fixed_ ? props_.block_size : max;
    const ssize_t n = io_->read(buf, want);
    if (n == 0 || (n < 0 && errno == EIO && !fixed_ && block_ > 0)) {
      in_file_ = false;
      is_eof_ = true;
      return {ReadResult::kEof, 0, {}};
    }
    if (n < 0 && errno == ENOMEM) return {ReadResult::kTooSmall, max * 2, {}};
    if (n < 0) return {ReadResult::kError, 0, dev_error("read_block", errno, "file " + std::to_string(file_) + " block " + std::to_string(block_))};
    bytes_read_ += static_cast<uint64_t>(n);
    ++block_;
    return {ReadResult::kData, static_cast<size_t>(n), {}};
  }

 private:
  Status open_io(bool write) {
    if (io_->is_open()) return ok();
    const int e = io_->open(write);
    if (e == 0) {
      if (io_->op(MTSETBLK, fixed_ ? static_cast<int>(props_.block_size) : 0) != 0) return dev_error("open", errno, "MTSETBLK");
      return ok();
    }
    status_ = (e == ENOENT || e == ENOMEDIUM) ? kVolumeMissing : kDeviceError;
    return dev_error("open", e, e == ENOMEDIUM ? "no tape loaded" : "");
  }

  // Variable blocks: a buffer big enough for a header record of unknown size; fixed blocks: one.
  size_t header_read_size() const { return fixed_ ? props_.block_size : std::max<size_t>(read_block_size_, props_.block_size); }

  Status mtop(short op, int count, const std::string& what) {
    if (io_->op(op, count) == 0) return ok();
    static const char* names[] = {"MTRESET", "MTFSF", "MTBSF", "MTFSR", "MTBSR", "MTWEOF", "MTREW"};
    const std::string name = op >= 0 && op <= 6 ? names[op] : op == MTEOM ? "MTEOM" : "MTIOCTOP " + std::to_string(op);
    return dev_error(what, errno, name);
  }

  Status fail_start(Error e) {
    io_->close();
    access_ = DeviceAccess::kNull;
    return e;
  }

  // One record; ENOSPC is the early warning once (LEOM: retried, is_eom), then the end.
  WriteResult put(const void* data, size_t size, const char* op) {
    WriteResult r;
    for (int attempt = 0; attempt < 2; ++attempt) {
      const ssize_t n = io_->write(data, size);
      if (n == static_cast<ssize_t>(size)) {
        volume_bytes_ += size;
        return r;
      }
      if (n >= 0) {
        r.kind = WriteResult::kError;
        r.error = dev_error(op, EIO, "Short write on tape device: Tried " + std::to_string(size) + ", got " + std::to_string(n) +
                                         ".  Is the drive using a block size smaller than " + std::to_string(size) + " bytes?");
        return r;
      }
      if (errno != ENOSPC) {
        r.kind = WriteResult::kError;
        r.error = dev_error(op, errno, "file " + std::to_string(file_) + " block " + std::to_string(block_));
        return r;
      }
      is_eom_ = true;
      if (!props_.leom || warned_) break;
      warned_ = true;  // the early warning: retry once
    }
    r.kind = props_.leom ? WriteResult::kFull : WriteResult::kError;
    r.error = dev_error(op, ENOSPC, "end of tape (file " + std::to_string(file_ < 0 ? 0 : file_) + ")");
    return r;
  }

  std::unique_ptr<TapeIo> io_;
  bool fixed_ = false;
  size_t read_block_size_ = 256 * 1024;
  uint32_t next_file_ = 1;
  bool warned_ = false;
};

}  // namespace

DeviceOrError make_tape(const std::string& spec, const std::string& node) {
  if (node.empty()) return plain_error("open device \"" + spec + "\"", "expected tape:/dev/nstN or tape:emu:IMAGE");
  if (node.rfind("emu:", 0) == 0) return std::make_unique<TapeDevice>(spec, make_emulated_io(node.substr(4)));
  return std::make_unique<TapeDevice>(spec, make_st_io(node));
}

}  // namespace xfa::devices
