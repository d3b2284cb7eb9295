// vfs: Amanda's "file:" vtape (device-src/vfs-device.c). A volume is a directory:
//
//   00000.LABEL                  32 KiB: the TAPESTART header (label, datestamp)
//   00001.host.disk.level        32 KiB header + data blocks (`%05d.%s.%s.%d`, sanitised:
//   00002.host.disk.level        '/', '\\', ':' -> '_')
//
// Data blocks are block_size bytes (32 KiB by default) written back to back; the last one may be
// short, so a file holds exactly header + data (`dd bs=32k skip=1` gives the data back). Files
// are found by number (`^0*N\.`); anything not starting with digits and '.' is not ours and is
// left alone. With USE_DATA (auto by default) the files live in DIR/data/ when that directory
// exists, as with Amanda's older vtape layout.
//
// Space: MAX_VOLUME_USAGE counts every file, headers included. LEOM warns 4 blocks before it or
// before the filesystem is full; PEOM refuses a block past MAX_VOLUME_USAGE (kFull); a real
// ENOSPC cuts the file back to its last complete block (kSpace). abort_file() deletes the file.
// SHORT_BLOCKS=false (xfa) makes writers pad the last block of each file to a whole block, as on
// tape, for media images that must keep fixed-size records.
// Locking: none, as Amanda (its vfs lock is a no-op); one writer per volume is the changer's job.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cctype>
#include <map>

#include "devices.h"
#include "file_media.h"
#include "unique_fd.h"

namespace xfa::devices {
namespace {

using amanda::FileType;
using amanda::Header;
using amanda::kHeaderSize;

class VfsDevice final : public Device {
 public:
  VfsDevice(std::string spec, std::string dir) : Device(std::move(spec)), dir_(std::move(dir)) {
    props_.min_block_size = 1;
    props_.max_block_size = 1u << 30;
    props_.header_block_size = kHeaderSize;
  }

  const char* type() const override { return "file"; }

  Status set_property(const std::string& name, const std::string& value) override {
    const std::string n = norm_name(name);
    if (n == "MONITOR_FREE_SPACE") {
      if (access_ != DeviceAccess::kNull) return Device::set_property(name, value);
      if (!parse_bool(value, &monitor_free_space_)) return dev_error("set_property " + n, 0, "\"" + value + "\" is not a boolean");
      return ok();
    }
    if (n == "SHORT_BLOCKS") {  // xfa: false = pad every file to whole blocks, as on tape
      if (access_ != DeviceAccess::kNull) return Device::set_property(name, value);
      if (!parse_bool(value, &props_.short_blocks)) return dev_error("set_property " + n, 0, "\"" + value + "\" is not a boolean");
      return ok();
    }
    if (n == "USE_DATA") {
      if (access_ != DeviceAccess::kNull) return Device::set_property(name, value);
      std::string v;
      for (char c : value) v += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      bool b;
      if (v == "auto" || v == "exist") use_data_ = 2;
      else if (parse_bool(v, &b)) use_data_ = b ? 1 : 0;
      else return dev_error("set_property " + n, 0, "\"" + value + "\" is not yes, no or auto");
      return ok();
    }
    return Device::set_property(name, value);
  }

  std::optional<std::string> get_property(const std::string& name) const override {
    const std::string n = norm_name(name);
    if (n == "MONITOR_FREE_SPACE") return std::string(monitor_free_space_ ? "true" : "false");
    if (n == "USE_DATA") return std::string(use_data_ == 2 ? "auto" : use_data_ ? "yes" : "no");
    return Device::get_property(name);
  }

  Status read_label() override {
    status_ = kDeviceSuccess;
    volume_label_.clear();
    volume_time_.clear();
    volume_header_ = Header();
    if (Status s = find_data_dir()) return s;
    std::map<uint32_t, std::string> files;
    if (Status s = list(&files)) return s;
    auto it = files.find(0);
    if (it == files.end()) {
      status_ = kVolumeUnlabeled;
      return dev_error("read_label", 0, "the volume is unlabeled (no 00000.* label file in " + data_dir_ + ")");
    }
    const std::string path = data_dir_ + "/" + it->second;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
      status_ = kVolumeError | kDeviceError;
      return dev_error("read_label", errno, "open " + path);
    }
    std::string buf(kHeaderSize, '\0');
    const ssize_t n = read_at(fd.get(), 0, buf.data(), buf.size());
    if (n < 0) {
      status_ = kVolumeError | kDeviceError;
      return dev_error("read_label", errno, "read " + path);
    }
    if (amanda::classify(buf.data(), static_cast<size_t>(n)) != FileType::kUnknown) {
      status_ = kVolumeUnlabeled;
      return dev_error("read_label", 0, path + " is not an Amanda label: " + describe(buf.data(), static_cast<size_t>(n)));
    }
    return accept_label(buf.data(), static_cast<size_t>(n), path);
  }

  Status start(DeviceAccess mode, const std::string& label, const std::string& timestamp) override {
    if (Status s = begin_start()) return s;
    switch (mode) {
      case DeviceAccess::kRead:
        if (Status s = read_label()) return s;
        access_ = mode;
        return ok();
      case DeviceAccess::kAppend: {
        if (Status s = read_label()) return s;
        std::map<uint32_t, std::string> files;
        if (Status s = list(&files)) return s;
        volume_bytes_ = 0;
        for (const auto& [n, name] : files) {
          struct stat st;
          if (::stat((data_dir_ + "/" + name).c_str(), &st) == 0) volume_bytes_ += static_cast<uint64_t>(st.st_size);
        }
        next_file_ = files.rbegin()->first + 1;
        file_ = static_cast<int>(next_file_ - 1);
        space_.reset(data_dir_, monitor_free_space_);
        access_ = mode;
        return ok();
      }
      case DeviceAccess::kWrite:
        return start_write(label, timestamp);
      default:
        return dev_error("start", EINVAL, "access mode NULL");
    }
  }

  Status finish() override {
    Status result;
    if (in_file_) {
      if (access_ == DeviceAccess::kRead) close_file();
      else result = finish_file();
    }
    if ((access_ == DeviceAccess::kWrite || access_ == DeviceAccess::kAppend) && props_.sync && !result) {
      if (int e = fsync_dir(data_dir_)) result = dev_error("finish", e, "fsync " + data_dir_);
    }
    access_ = DeviceAccess::kNull;
    in_file_ = false;
    return result;
  }

  Status start_file(Header& h) override {
    if (access_ != DeviceAccess::kWrite && access_ != DeviceAccess::kAppend)
      return dev_error("start_file", EBADF, "the device is not started for writing");
    if (in_file_) return dev_error("start_file", EBUSY, "file " + std::to_string(file_) + " is still open");
    h.blocksize = kHeaderSize;  // vtape headers are always 32 KiB, whatever the block size
    std::string block;
    if (Status s = amanda::build(h, &block)) return dev_error("start_file", 0, s->detail);
    const uint32_t n = next_file_;
    if (SpaceMonitor::at_peom(props_, volume_bytes_, kHeaderSize)) {
      is_eom_ = true;
      return dev_error("start_file", ENOSPC, volume_full_text());
    }
    if (space_.at_leom(props_, volume_bytes_, kHeaderSize)) is_eom_ = true;
    char num[16];
    std::snprintf(num, sizeof num, "%05u", n);
    std::string name = std::string(num) + "." +
                       (h.is_dump() ? h.name + "." + h.disk + "." + std::to_string(h.dumplevel) : amanda::file_type_token(h.type));
    name = amanda::sanitise_filename(name);
    if (name.size() > 250) name.resize(250);
    const std::string path = data_dir_ + "/" + name;
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
    if (!fd) return dev_error("start_file", errno, "create " + path);
    int err = 0;
    const WriteOutcome w = write_or_cut(fd.get(), 0, block.data(), block.size(), &err);
    if (w != WriteOutcome::kOk) {
      ::unlink(path.c_str());
      if (w == WriteOutcome::kNoSpace) is_eom_ = true;
      return dev_error("start_file", err, "write header of " + path);
    }
    space_.wrote(kHeaderSize);
    volume_bytes_ += kHeaderSize;
    fd_ = std::move(fd);
    path_ = path;
    file_ = static_cast<int>(n);
    block_ = 0;
    offset_ = kHeaderSize;
    short_written_ = false;
    in_file_ = true;
    return ok();
  }

  WriteResult write_block(const void* data, size_t size) override {
    WriteResult r;
    const std::string op = "write_block";
    if (!in_file_ || access_ == DeviceAccess::kRead) return fail_write(WriteResult::kError, dev_error(op, EBADF, "no file is open for writing"));
    if (size == 0 || size > props_.block_size)
      return fail_write(WriteResult::kError, dev_error(op, EINVAL, "block of " + std::to_string(size) + " bytes (block size " +
                                                                       std::to_string(props_.block_size) + ")"));
    if (short_written_)
      return fail_write(WriteResult::kError, dev_error(op, EINVAL, "a short block was already written: it must be the file's last"));
    if (size < props_.block_size && !props_.short_blocks)
      return fail_write(WriteResult::kError, dev_error(op, EINVAL, "short block of " + std::to_string(size) + " bytes with SHORT_BLOCKS=false"));
    if (space_.at_leom(props_, volume_bytes_, size)) is_eom_ = true;
    if (SpaceMonitor::at_peom(props_, volume_bytes_, size)) {
      is_eom_ = true;
      return fail_write(props_.leom ? WriteResult::kFull : WriteResult::kError,
                        dev_error(op, ENOSPC, where() + ": " + volume_full_text()));
    }
    int err = 0;
    const WriteOutcome w = write_or_cut(fd_.get(), offset_, data, size, &err);
    if (w == WriteOutcome::kNoSpace) {
      is_eom_ = true;
      return fail_write(props_.leom ? WriteResult::kSpace : WriteResult::kError,
                        dev_error(op, err, where() + ": the filesystem is full; cut back to block " + std::to_string(block_)));
    }
    if (w == WriteOutcome::kError) return fail_write(WriteResult::kError, dev_error(op, err, where()));
    offset_ += size;
    volume_bytes_ += size;
    bytes_written_ += size;
    space_.wrote(size);
    ++block_;
    if (size < props_.block_size) short_written_ = true;
    return r;
  }

  Status finish_file() override {
    if (!in_file_ || access_ == DeviceAccess::kRead) return dev_error("finish_file", EBADF, "no file is open for writing");
    in_file_ = false;
    Status result;
    if (props_.sync && ::fsync(fd_.get()) != 0) result = dev_error("finish_file", errno, "fsync " + path_);
    if (::close(fd_.release()) != 0 && !result) result = dev_error("finish_file", errno, "close " + path_);
    if (!result) ++next_file_;
    return result;
  }

  void abort_file() override {
    if (!in_file_ || access_ == DeviceAccess::kRead) return;
    in_file_ = false;
    fd_.reset();
    if (::unlink(path_.c_str()) == 0) volume_bytes_ -= offset_;
    file_ = static_cast<int>(next_file_) - 1;
  }

  Status seek_file(uint32_t n, Header* out) override {
    const std::string op = "seek_file " + std::to_string(n);
    if (access_ != DeviceAccess::kRead) return dev_error(op, EBADF, "the device is not started for reading");
    close_file();
    is_eof_ = false;
    std::map<uint32_t, std::string> files;
    if (Status s = list(&files)) return s;
    auto it = files.lower_bound(n);
    if (it == files.end()) {
      // Past the last file: Amanda synthesises a TAPEEND header.
      Header end;
      end.type = FileType::kTapeEnd;
      end.datestamp = volume_time_;
      file_ = static_cast<int>(n);
      is_eof_ = true;
      file_header_bytes_.clear();
      *out = end;
      return ok();
    }
    if (it->first != n)
      return dev_error(op, ENOENT, "volume " + volume_label_ + " has no file " + std::to_string(n) + " (the next one is " +
                                       it->second + ")");
    const std::string path = data_dir_ + "/" + it->second;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return dev_error(op, errno, "open " + path);
    std::string buf(kHeaderSize, '\0');
    const ssize_t got = read_at(fd.get(), 0, buf.data(), buf.size());
    if (got < 0) return dev_error(op, errno, "read " + path);
    if (static_cast<size_t>(got) < kHeaderSize) {
      status_ |= kVolumeError;
      return dev_error(op, 0, path + " is truncated: " + std::to_string(got) + " bytes, less than its 32768-byte header");
    }
    Header h;
    if (amanda::classify(buf.data(), buf.size()) != FileType::kUnknown) {
      status_ |= kVolumeError;
      return dev_error(op, 0, path + " does not start with an Amanda header: " + describe(buf.data(), buf.size()));
    }
    if (Status s = amanda::parse(buf.data(), buf.size(), &h)) {
      status_ |= kVolumeError;
      return dev_error(op, 0, path + ": " + s->detail);
    }
    fd_ = std::move(fd);
    path_ = path;
    file_header_bytes_ = std::move(buf);
    file_ = static_cast<int>(n);
    block_ = 0;
    offset_ = kHeaderSize;
    in_file_ = true;
    *out = h;
    return ok();
  }

  Status seek_block(uint64_t b) override {
    if (access_ != DeviceAccess::kRead || !in_file_) return dev_error("seek_block", EBADF, "not positioned in a file");
    offset_ = kHeaderSize + b * props_.block_size;
    block_ = b;
    is_eof_ = false;
    return ok();
  }

  ReadResult read_block(void* buf, size_t max) override {
    ReadResult r;
    if (access_ != DeviceAccess::kRead || !in_file_) {
      if (is_eof_) return {ReadResult::kEof, 0, {}};
      return {ReadResult::kError, 0, dev_error("read_block", EBADF, "not positioned in a file")};
    }
    if (max < props_.block_size) return {ReadResult::kTooSmall, props_.block_size, {}};
    const ssize_t n = read_at(fd_.get(), offset_, buf, props_.block_size);
    if (n < 0) return {ReadResult::kError, 0, dev_error("read_block", errno, where())};
    if (n == 0) {
      is_eof_ = true;
      return {ReadResult::kEof, 0, {}};
    }
    offset_ += static_cast<uint64_t>(n);
    bytes_read_ += static_cast<uint64_t>(n);
    ++block_;
    r.size = static_cast<size_t>(n);
    return r;
  }

  Status erase() override {
    if (access_ != DeviceAccess::kNull) return dev_error("erase", EBUSY, "the device is started");
    if (Status s = find_data_dir()) return s;
    return remove_all("erase");
  }

 private:
  Status find_data_dir() {
    struct stat st;
    if (::stat(dir_.c_str(), &st) != 0) {
      status_ = kVolumeMissing;
      return dev_error("open", errno, "no vtape directory " + dir_);
    }
    if (!S_ISDIR(st.st_mode)) {
      status_ = kVolumeMissing | kDeviceError;
      return dev_error("open", ENOTDIR, dir_ + " is not a directory");
    }
    data_dir_ = dir_;
    const std::string data = dir_ + "/data";
    if (use_data_ == 1 || (use_data_ == 2 && ::stat(data.c_str(), &st) == 0 && S_ISDIR(st.st_mode))) data_dir_ = data;
    return ok();
  }

  // The volume's files by number: names "<digits>.<anything>".
  Status list(std::map<uint32_t, std::string>* out) {
    out->clear();
    DIR* d = ::opendir(data_dir_.c_str());
    if (!d) {
      status_ = kVolumeMissing;
      return dev_error("list", errno, data_dir_);
    }
    Status result;
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      size_t i = 0;
      while (i < name.size() && name[i] >= '0' && name[i] <= '9') ++i;
      if (i == 0 || i > 9 || i >= name.size() || name[i] != '.') continue;
      const uint32_t n = static_cast<uint32_t>(std::stoul(name.substr(0, i)));
      if (!out->emplace(n, name).second && !result)
        result = dev_error("list", EEXIST, "two files numbered " + std::to_string(n) + ": " + (*out)[n] + " and " + name);
    }
    ::closedir(d);
    if (result) status_ |= kVolumeError;
    return result;
  }

  Status remove_all(const char* op) {
    std::map<uint32_t, std::string> files;
    if (Status s = list(&files)) return s;
    for (auto it = files.rbegin(); it != files.rend(); ++it) {
      const std::string path = data_dir_ + "/" + it->second;
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) return dev_error(op, errno, "remove " + path);
    }
    if (props_.sync)
      if (int e = fsync_dir(data_dir_)) return dev_error(op, e, "fsync " + data_dir_);
    return ok();
  }

  Status start_write(const std::string& label, const std::string& timestamp) {
    Header h;
    h.type = FileType::kTapeStart;
    h.name = label;
    h.datestamp = timestamp.empty() ? "X" : timestamp;
    std::string block;
    if (Status s = amanda::build(h, &block)) return dev_error("start", 0, "label: " + s->detail);
    if (Status s = find_data_dir()) return s;
    if (Status s = remove_all("start")) return s;
    const std::string path = data_dir_ + "/" + amanda::sanitise_filename("00000." + label);
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
    if (!fd) return dev_error("start", errno, "create " + path);
    int err = 0;
    if (write_or_cut(fd.get(), 0, block.data(), block.size(), &err) != WriteOutcome::kOk) {
      ::unlink(path.c_str());
      return dev_error("start", err, "write label " + path);
    }
    if (props_.sync && ::fsync(fd.get()) != 0) return dev_error("start", errno, "fsync " + path);
    volume_header_ = h;
    volume_label_ = label;
    volume_time_ = h.datestamp;
    volume_bytes_ = kHeaderSize;
    next_file_ = 1;
    file_ = 0;
    space_.reset(data_dir_, monitor_free_space_);
    access_ = DeviceAccess::kWrite;
    return ok();
  }

  void close_file() {
    fd_.reset();
    in_file_ = false;
  }

  WriteResult fail_write(WriteResult::Kind k, Error e) {
    WriteResult r;
    r.kind = k;
    r.error = std::move(e);
    return r;
  }

  std::string where() const { return path_ + " block " + std::to_string(block_); }

  std::string volume_full_text() const {
    return "volume " + volume_label_ + " is full: MAX_VOLUME_USAGE " + std::to_string(props_.max_volume_usage) +
           " bytes reached (" + std::to_string(volume_bytes_) + " used)";
  }

  static std::string describe(const char* buf, size_t n) {
    if (amanda::classify(buf, n) == FileType::kEmpty) return "the first block is empty (NUL bytes)";
    std::string s;
    for (size_t i = 0; i < n && i < 32; ++i) {
      const unsigned char c = static_cast<unsigned char>(buf[i]);
      s += c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '.';
    }
    return "it starts with \"" + s + "\"";
  }

  const std::string dir_;
  std::string data_dir_;
  int use_data_ = 2;  // 0 no, 1 yes, 2 auto
  bool monitor_free_space_ = true;
  SpaceMonitor space_;
  uint32_t next_file_ = 1;
  UniqueFd fd_;
  std::string path_;
  uint64_t offset_ = 0;
  bool short_written_ = false;
};

}  // namespace

DeviceOrError make_vfs(const std::string& spec, const std::string& node) {
  if (node.empty()) return plain_error("open device \"" + spec + "\"", "file: needs a vtape directory, e.g. file:/vtapes/slot1");
  std::string dir = node;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return std::unique_ptr<Device>(new VfsDevice(spec, dir));
}

}  // namespace xfa::devices
