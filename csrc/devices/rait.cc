// rait: Amanda's RAIT device (device-src/rait-device.c): a Redundant Array of Inexpensive Tapes
// over child devices. `rait:{file:/vt/a,file:/vt/b,file:/vt/c}` (brace expansion, so
// `rait:file:/vt/{a,b,c}` is the same); a child named MISSING (or ERROR, DEGRADED) is absent.
//
//   1 child: pass-through. 2 children: a mirror (each gets every block). N >= 3: striping with
//   XOR parity (RAID-4-like): each RAIT block is cut into N-1 equal chunks for children 1..N-1,
//   the last child gets their XOR. A short final block is zero-padded to a full RAIT block, as
//   Amanda does (SHORT_BLOCKS false: the writer pads; a reader gets the padding back).
// Block size (Amanda's rule): the child block size is the one set, else CLAMP(32768, the
// children's largest minimum, their smallest maximum); the RAIT block size is child x (N-1) for
// N >= 3 (x 1 otherwise). A BLOCK_SIZE set on the RAIT must divide by N-1. MAX_VOLUME_USAGE is
// shared out the same way.
// Failures: reading tolerates one failed or missing child (degraded: a striped block is rebuilt
// from the others and the parity; a mirror reads the other side); labels and headers of the
// children that answer must agree. Writing needs every child (degraded writes are refused). Two
// failed children fail the operation. get_property("DEGRADED") names the failed child.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "devices.h"
#include "xfa/changer.h"

namespace xfa::devices {
namespace {

using amanda::FileType;
using amanda::Header;

class RaitDevice final : public Device {
 public:
  RaitDevice(std::string spec, std::vector<std::unique_ptr<Device>> kids, std::vector<std::string> names)
      : Device(std::move(spec)), kids_(std::move(kids)), names_(std::move(names)) {
    const size_t n = kids_.size();
    ndata_ = n >= 3 ? n - 1 : 1;
    size_t mn = 32768, mx = SIZE_MAX;
    size_t lo = 1;
    for (auto& k : kids_) {
      if (!k) continue;
      lo = std::max(lo, k->properties().min_block_size);
      mx = std::min(mx, k->properties().max_block_size);
    }
    child_bs_ = std::min(std::max(mn, lo), mx);
    props_.block_size = child_bs_ * ndata_;
    props_.min_block_size = lo * ndata_;
    props_.max_block_size = mx == SIZE_MAX ? SIZE_MAX : mx * ndata_;
    props_.short_blocks = n <= 2 && all([](Device& d) { return d.properties().short_blocks; });
    props_.leom = all([](Device& d) { return d.properties().leom; });
    props_.appendable = all([](Device& d) { return d.properties().appendable; });
    props_.header_block_size = kids_[first_kid()] ? kids_[first_kid()]->properties().header_block_size : 32768;
    for (size_t i = 0; i < n; ++i)
      if (!kids_[i]) failed_.push_back(i);
    for (auto& k : kids_)
      if (k) k->set_property("BLOCK_SIZE", std::to_string(child_bs_));
  }

  const char* type() const override { return "rait"; }

  Status set_property(const std::string& name, const std::string& value) override {
    const std::string n = norm_name(name);
    const std::string op = "set_property " + n;
    if (access_ != DeviceAccess::kNull) return dev_error(op, 0, "properties can only be set before start()");
    uint64_t v;
    if (n == "BLOCK_SIZE") {
      if (!parse_size(value, &v)) return dev_error(op, 0, "\"" + value + "\" is not a size");
      if (v % ndata_ != 0) return dev_error(op, 0, std::to_string(v) + " does not divide by the " + std::to_string(ndata_) + " data children");
      for (auto& k : kids_)
        if (k) {
          if (Status s = k->set_property("BLOCK_SIZE", std::to_string(v / ndata_))) return s;
        }
      child_bs_ = v / ndata_;
      props_.block_size = v;
      return ok();
    }
    if (n == "MAX_VOLUME_USAGE") {
      if (!parse_size(value, &v)) return dev_error(op, 0, "\"" + value + "\" is not a size");
      props_.max_volume_usage = v;
      for (auto& k : kids_)
        if (k) {
          if (Status s = k->set_property(n, std::to_string(v / ndata_))) return s;
        }
      return ok();
    }
    for (auto& k : kids_)
      if (k) {
        if (Status s = k->set_property(name, value)) return s;
      }
    if (n == "LEOM") parse_bool(value, &props_.leom);
    if (n == "SYNC") parse_bool(value, &props_.sync);
    if (n == "ENFORCE_MAX_VOLUME_USAGE") parse_bool(value, &props_.enforce_max_volume_usage);
    return ok();
  }

  std::optional<std::string> get_property(const std::string& name) const override {
    if (norm_name(name) == "DEGRADED") {
      std::string s;
      for (size_t i : failed_) s += (s.empty() ? "" : ",") + names_[i];
      return s;
    }
    return Device::get_property(name);
  }

  Status read_label() override {
    status_ = kDeviceSuccess;
    std::optional<Error> first_err;
    std::string label;
    bool have = false;
    for (size_t i = 0; i < kids_.size(); ++i) {
      if (!kids_[i] || is_failed(i)) continue;
      if (Status s = kids_[i]->read_label()) {
        if (!first_err) first_err = s;
        status_ |= kids_[i]->status();
        mark_failed(i);
        continue;
      }
      if (!have) {
        have = true;
        label = kids_[i]->volume_label();
        volume_header_ = kids_[i]->volume_header();
        volume_time_ = kids_[i]->volume_time();
      } else if (kids_[i]->volume_label() != label) {
        status_ = kVolumeError;
        return dev_error("read_label", 0, "the children disagree: " + names_[i] + " is labeled \"" + kids_[i]->volume_label() +
                                              "\", others \"" + label + "\"");
      }
    }
    if (!have || failed_.size() > 1) {
      return first_err ? *first_err : dev_error("read_label", EIO, "more than one child failed: " + *get_property("DEGRADED"));
    }
    status_ = kDeviceSuccess;
    volume_label_ = label;
    return ok();
  }

  Status start(DeviceAccess mode, const std::string& label, const std::string& timestamp) override {
    if (Status s = begin_start()) return s;
    if (mode != DeviceAccess::kRead && !failed_.empty())
      return dev_error("start", EIO, "degraded (" + *get_property("DEGRADED") + " failed): writing needs every child");
    for (size_t i = 0; i < kids_.size(); ++i) {
      if (!kids_[i] || is_failed(i)) continue;
      if (Status s = kids_[i]->start(mode, label, timestamp)) {
        if (mode != DeviceAccess::kRead) {
          for (size_t j = 0; j < i; ++j) kids_[j]->finish();
          return s;
        }
        mark_failed(i);
        if (failed_.size() > 1) return s;
        continue;
      }
    }
    const size_t f = first_ok();
    if (f == SIZE_MAX) return dev_error("start", EIO, "no child left");
    volume_label_ = kids_[f]->volume_label();
    volume_time_ = kids_[f]->volume_time();
    volume_header_ = kids_[f]->volume_header();
    for (size_t i = 0; i < kids_.size(); ++i)
      if (ok_kid(i) && kids_[i]->volume_label() != volume_label_) {
        finish();
        return dev_error("start", 0, "the children disagree: " + names_[i] + " is labeled \"" + kids_[i]->volume_label() + "\", " +
                                         names_[f] + " \"" + volume_label_ + "\"");
      }
    file_ = kids_[f]->file();
    access_ = mode;
    return ok();
  }

  Status finish() override {
    Status result;
    for (size_t i = 0; i < kids_.size(); ++i)
      if (kids_[i]) {
        Status s = kids_[i]->finish();
        if (s && !result && !is_failed(i)) result = s;
      }
    access_ = DeviceAccess::kNull;
    in_file_ = false;
    return result;
  }

  Status start_file(Header& h) override {
    Header out;
    for (size_t i = 0; i < kids_.size(); ++i) {
      Header copy = h;
      if (Status s = kids_[i]->start_file(copy)) {
        is_eom_ = is_eom_ || kids_[i]->is_eom();
        for (size_t j = 0; j < i; ++j) kids_[j]->abort_file();
        return s;
      }
      if (i == 0) out = copy;
      is_eom_ = is_eom_ || kids_[i]->is_eom();
    }
    h = out;
    file_ = kids_[0]->file();
    block_ = 0;
    in_file_ = true;
    return ok();
  }

  WriteResult write_block(const void* data, size_t size) override {
    WriteResult r;
    if (!in_file_ || size == 0 || size > props_.block_size) {
      r.kind = WriteResult::kError;
      r.error = dev_error("write_block", EINVAL, "block of " + std::to_string(size) + " bytes (block size " + std::to_string(props_.block_size) + ")");
      return r;
    }
    const uint8_t* p = static_cast<const uint8_t*>(data);
    if (kids_.size() <= 2) {
      for (auto& k : kids_) {
        WriteResult w = k->write_block(p, size);
        is_eom_ = is_eom_ || k->is_eom();
        if (!w.ok()) return w;
      }
    } else {
      if (size < props_.block_size) {
        pad_.assign(props_.block_size, 0);
        std::memcpy(pad_.data(), p, size);
        p = pad_.data();
      }
      parity_.assign(child_bs_, 0);
      for (size_t i = 0; i < ndata_; ++i) {
        const uint8_t* chunk = p + i * child_bs_;
        for (size_t j = 0; j < child_bs_; ++j) parity_[j] ^= chunk[j];
        WriteResult w = kids_[i]->write_block(chunk, child_bs_);
        is_eom_ = is_eom_ || kids_[i]->is_eom();
        if (!w.ok()) return w;
      }
      WriteResult w = kids_[ndata_]->write_block(parity_.data(), child_bs_);
      is_eom_ = is_eom_ || kids_[ndata_]->is_eom();
      if (!w.ok()) return w;
    }
    bytes_written_ += size;
    ++block_;
    return r;
  }

  Status finish_file() override {
    Status result;
    for (auto& k : kids_)
      if (Status s = k->finish_file(); s && !result) result = s;
    in_file_ = false;
    return result;
  }

  void abort_file() override {
    for (auto& k : kids_) k->abort_file();
    in_file_ = false;
  }

  Status seek_file(uint32_t n, Header* out) override {
    const std::string op = "seek_file " + std::to_string(n);
    std::vector<Header> hs(kids_.size());
    std::vector<bool> got(kids_.size(), false);
    std::optional<Error> err;
    for (size_t i = 0; i < kids_.size(); ++i) {
      if (!ok_kid(i)) continue;
      if (Status s = kids_[i]->seek_file(n, &hs[i])) {
        if (!err) err = s;
        mark_failed(i);
        continue;
      }
      got[i] = true;
    }
    // A child that ends (TAPEEND) where the others have a file lost that file: it has failed.
    bool any_file = false;
    for (size_t i = 0; i < kids_.size(); ++i) any_file = any_file || (got[i] && hs[i].type != FileType::kTapeEnd);
    if (any_file)
      for (size_t i = 0; i < kids_.size(); ++i)
        if (got[i] && hs[i].type == FileType::kTapeEnd) {
          mark_failed(i);
          got[i] = false;
          if (!err) err = dev_error(op, ENOENT, names_[i] + " has no file " + std::to_string(n));
        }
    if (failed_.size() > 1 || first_ok() == SIZE_MAX)
      return err ? *err : dev_error(op, EIO, "more than one child failed: " + *get_property("DEGRADED"));
    const size_t f = first_ok();
    std::string line;
    for (size_t i = 0; i < kids_.size(); ++i) {
      if (!got[i]) continue;
      std::string t;
      amanda::build_text(hs[i], &t);
      t = t.substr(0, t.find('\n'));
      if (line.empty()) line = t;
      else if (t != line)
        return dev_error(op, 0, "the children's headers disagree: " + names_[i] + " has \"" + t + "\", " + names_[f] + " \"" + line + "\"");
    }
    *out = hs[f];
    file_header_bytes_ = kids_[f]->file_header_bytes();
    file_ = static_cast<int>(n);
    block_ = 0;
    is_eof_ = hs[f].type == FileType::kTapeEnd;
    in_file_ = !is_eof_;
    return ok();
  }

  Status seek_block(uint64_t b) override {
    for (size_t i = 0; i < kids_.size(); ++i)
      if (ok_kid(i)) {
        if (Status s = kids_[i]->seek_block(b)) {
          mark_failed(i);
          if (failed_.size() > 1) return s;
        }
      }
    block_ = b;
    is_eof_ = false;
    return ok();
  }

  ReadResult read_block(void* buf, size_t max) override {
    if (max < props_.block_size) return {ReadResult::kTooSmall, props_.block_size, {}};
    uint8_t* out = static_cast<uint8_t*>(buf);
    if (kids_.size() <= 2) {
      for (size_t i = 0; i < kids_.size(); ++i) {
        if (!ok_kid(i)) continue;
        ReadResult r = kids_[i]->read_block(out, max);
        if (r.kind == ReadResult::kError) {
          mark_failed(i);
          if (failed_.size() > 1) return r;
          continue;  // the mirror's other side (positioned at the same block)
        }
        // keep the other side in step
        for (size_t j = i + 1; j < kids_.size(); ++j)
          if (ok_kid(j)) {
            tmp_.resize(max);
            if (kids_[j]->read_block(tmp_.data(), max).kind == ReadResult::kError) mark_failed(j);
          }
        return account(r);
      }
      return {ReadResult::kError, 0, dev_error("read_block", EIO, "no child left")};
    }
    // Striped: read every child's chunk; rebuild one missing chunk from the parity.
    tmp_.resize(child_bs_ * kids_.size());
    std::vector<size_t> sizes(kids_.size(), 0);
    size_t missing = SIZE_MAX;
    int eofs = 0, datas = 0;
    for (size_t i = 0; i < kids_.size(); ++i) {
      if (!ok_kid(i)) {
        missing = i;
        continue;
      }
      ReadResult r = kids_[i]->read_block(tmp_.data() + i * child_bs_, child_bs_);
      if (r.kind == ReadResult::kError || r.kind == ReadResult::kTooSmall) {
        mark_failed(i);
        if (failed_.size() > 1) return r.kind == ReadResult::kError ? r : ReadResult{ReadResult::kError, 0, dev_error("read_block", EIO, names_[i])};
        missing = i;
        continue;
      }
      if (r.kind == ReadResult::kEof) ++eofs;
      else {
        ++datas;
        sizes[i] = r.size;
      }
    }
    if (datas == 0 && eofs > 0) {
      is_eof_ = true;
      return {ReadResult::kEof, 0, {}};
    }
    if (eofs > 0) return {ReadResult::kError, 0, dev_error("read_block", EIO, "the children's files end at different blocks")};
    if (missing != SIZE_MAX && missing < ndata_) {
      uint8_t* m = tmp_.data() + missing * child_bs_;
      std::memset(m, 0, child_bs_);
      for (size_t i = 0; i < kids_.size(); ++i)
        if (i != missing)
          for (size_t j = 0; j < child_bs_; ++j) m[j] ^= tmp_[i * child_bs_ + j];
    }
    std::memcpy(out, tmp_.data(), child_bs_ * ndata_);
    return account({ReadResult::kData, child_bs_ * ndata_, {}});
  }

 private:
  template <typename F>
  bool all(F f) const {
    for (auto& k : kids_)
      if (k && !f(*k)) return false;
    return true;
  }
  size_t first_kid() const {
    for (size_t i = 0; i < kids_.size(); ++i)
      if (kids_[i]) return i;
    return 0;
  }
  bool is_failed(size_t i) const { return std::find(failed_.begin(), failed_.end(), i) != failed_.end(); }
  bool ok_kid(size_t i) const { return kids_[i] && !is_failed(i); }
  size_t first_ok() const {
    for (size_t i = 0; i < kids_.size(); ++i)
      if (ok_kid(i)) return i;
    return SIZE_MAX;
  }
  void mark_failed(size_t i) {
    if (!is_failed(i)) failed_.push_back(i);
  }
  ReadResult account(ReadResult r) {
    if (r.kind == ReadResult::kData) {
      bytes_read_ += r.size;
      ++block_;
    } else if (r.kind == ReadResult::kEof) {
      is_eof_ = true;
    }
    return r;
  }

  std::vector<std::unique_ptr<Device>> kids_;
  std::vector<std::string> names_;
  std::vector<size_t> failed_;
  size_t ndata_ = 1;
  size_t child_bs_ = 32768;
  std::vector<uint8_t> pad_, parity_, tmp_;
};

}  // namespace

DeviceOrError make_rait(const std::string& spec, const std::string& node) {
  const std::string op = "open device \"" + spec + "\"";
  auto r = expand_braces(node);
  if (auto* e = std::get_if<Error>(&r)) return plain_error(op, e->detail);
  auto names = std::get<std::vector<std::string>>(r);
  if (names.empty()) return plain_error(op, "no child devices (rait:{file:/a,file:/b,file:/c})");
  std::vector<std::unique_ptr<Device>> kids;
  size_t absent = 0;
  for (const auto& n : names) {
    if (n == "MISSING" || n == "ERROR" || n == "DEGRADED") {
      kids.emplace_back();
      ++absent;
      continue;
    }
    auto d = open_device(n);
    if (auto* e = std::get_if<Error>(&d)) return *e;
    kids.push_back(std::move(std::get<std::unique_ptr<Device>>(d)));
  }
  if (absent > 1 || absent == names.size()) return plain_error(op, "more than one child is MISSING");
  return std::make_unique<RaitDevice>(spec, std::move(kids), std::move(names));
}

}  // namespace xfa::devices
