// The Device base class: properties by name, errors, and open_device()'s table of types.
#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "devices.h"
#include "js_device.h"
#include "xfa/device.h"

namespace xfa {

const char* access_name(DeviceAccess a) {
  switch (a) {
    case DeviceAccess::kRead: return "READ";
    case DeviceAccess::kWrite: return "WRITE";
    case DeviceAccess::kAppend: return "APPEND";
    default: return "NULL";
  }
}

Error Device::dev_error(const std::string& op, int err, std::string detail) const {
  Error e;
  e.op = op + " " + spec_;
  e.err = err;
  e.detail = std::move(detail);
  return e;
}

std::string Device::norm_name(const std::string& name) {
  std::string out;
  for (char c : name) out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool Device::parse_size(const std::string& v, uint64_t* out) {
  size_t i = 0;
  while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) ++i;
  if (i == 0 || i > 19) return false;
  uint64_t n = std::strtoull(v.substr(0, i).c_str(), nullptr, 10);
  std::string unit;
  for (size_t j = i; j < v.size(); ++j)
    if (v[j] != ' ') unit += static_cast<char>(std::tolower(static_cast<unsigned char>(v[j])));
  uint64_t mul = 1;
  if (unit.empty() || unit == "b" || unit == "bytes") mul = 1;
  else if (unit == "k" || unit == "kb" || unit == "kib" || unit == "kbytes") mul = 1ull << 10;
  else if (unit == "m" || unit == "mb" || unit == "mib" || unit == "mbytes") mul = 1ull << 20;
  else if (unit == "g" || unit == "gb" || unit == "gib" || unit == "gbytes") mul = 1ull << 30;
  else if (unit == "t" || unit == "tb" || unit == "tib" || unit == "tbytes") mul = 1ull << 40;
  else return false;
  if (n > UINT64_MAX / mul) return false;
  *out = n * mul;
  return true;
}

bool Device::parse_bool(const std::string& v, bool* out) {
  std::string s;
  for (char c : v) s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (s == "true" || s == "yes" || s == "on" || s == "1") *out = true;
  else if (s == "false" || s == "no" || s == "off" || s == "0") *out = false;
  else return false;
  return true;
}

Status Device::set_property(const std::string& name, const std::string& value) {
  const std::string n = norm_name(name);
  const std::string op = "set_property " + n;
  if (access_ != DeviceAccess::kNull) return dev_error(op, 0, "properties can only be set before start()");
  auto bad = [&](const char* want) { return dev_error(op, 0, "\"" + value + "\" is not " + want); };
  uint64_t size;
  bool b;
  if (n == "BLOCK_SIZE") {
    if (!parse_size(value, &size)) return bad("a size");
    if (size < props_.min_block_size || size > props_.max_block_size)
      return dev_error(op, 0, std::to_string(size) + " is outside " + std::to_string(props_.min_block_size) + ".." +
                                  std::to_string(props_.max_block_size));
    props_.block_size = size;
  } else if (n == "MAX_VOLUME_USAGE") {
    if (!parse_size(value, &size)) return bad("a size");
    props_.max_volume_usage = size;
  } else if (n == "ENFORCE_MAX_VOLUME_USAGE") {
    if (!parse_bool(value, &b)) return bad("a boolean");
    props_.enforce_max_volume_usage = b;
  } else if (n == "LEOM") {
    if (!parse_bool(value, &b)) return bad("a boolean");
    props_.leom = b;
  } else if (n == "SYNC") {
    if (!parse_bool(value, &b)) return bad("a boolean");
    props_.sync = b;
  } else if (get_property(n)) {
    return dev_error(op, 0, "the property is read-only");
  } else {
    return dev_error(op, 0, "unknown property for a " + std::string(type()) + " device");
  }
  return ok();
}

std::optional<std::string> Device::get_property(const std::string& name) const {
  const std::string n = norm_name(name);
  auto yn = [](bool v) { return std::string(v ? "true" : "false"); };
  if (n == "BLOCK_SIZE") return std::to_string(props_.block_size);
  if (n == "MIN_BLOCK_SIZE") return std::to_string(props_.min_block_size);
  if (n == "MAX_BLOCK_SIZE") return std::to_string(props_.max_block_size);
  if (n == "HEADER_BLOCK_SIZE") return std::to_string(props_.header_block_size);
  if (n == "SHORT_BLOCKS") return yn(props_.short_blocks);
  if (n == "LEOM") return yn(props_.leom);
  if (n == "MAX_VOLUME_USAGE") return std::to_string(props_.max_volume_usage);
  if (n == "ENFORCE_MAX_VOLUME_USAGE") return yn(props_.enforce_max_volume_usage);
  if (n == "APPENDABLE") return yn(props_.appendable);
  if (n == "PARTIAL_DELETION") return yn(props_.partial_deletion);
  if (n == "FULL_DELETION") return yn(props_.full_deletion);
  if (n == "SYNC") return yn(props_.sync);
  if (n == "STREAMING") {
    return std::string(props_.streaming == Streaming::kNone ? "NONE" : props_.streaming == Streaming::kDesired ? "DESIRED" : "REQUIRED");
  }
  if (n == "CANONICAL_NAME") return spec_;
  return std::nullopt;
}

Status Device::accept_label(const char* buf, size_t n, const std::string& where) {
  amanda::Header h;
  if (Status s = amanda::parse(buf, n, &h)) {
    status_ = kVolumeUnlabeled | kVolumeError;
    return dev_error("read_label", 0, where + ": " + s->detail);
  }
  if (h.type != amanda::FileType::kTapeStart) {
    status_ = kVolumeUnlabeled;
    return dev_error("read_label", 0, where + " holds a " + amanda::file_type_token(h.type) + " header, not a TAPESTART label");
  }
  volume_header_ = h;
  volume_label_ = h.name;
  volume_time_ = h.datestamp;
  return ok();
}

Status Device::begin_start() {
  if (access_ != DeviceAccess::kNull) return dev_error("start", 0, std::string("already started for ") + access_name(access_));
  is_eom_ = is_eof_ = in_file_ = false;
  file_ = -1;
  block_ = 0;
  bytes_written_ = bytes_read_ = 0;
  return ok();
}

Status Device::erase() { return dev_error("erase", ENOTSUP, "a " + std::string(type()) + " device cannot be erased"); }

std::variant<std::unique_ptr<Device>, Error> open_device(const std::string& spec, const DeviceOptions& options) {
  const size_t colon = spec.find(':');
  if (colon == std::string::npos || colon == 0)
    return plain_error("open device \"" + spec + "\"", "expected TYPE:NODE, e.g. file:/vtapes/slot1, diskflat:/srv/vol.img or null:");
  const std::string type = spec.substr(0, colon);
  const std::string node = spec.substr(colon + 1);
  static const struct {
    const char* type;
    devices::DeviceOrError (*make)(const std::string&, const std::string&);
  } kTypes[] = {
      {"file", devices::make_vfs},
      {"diskflat", devices::make_diskflat},
      {"null", devices::make_null},
      {"tape", devices::make_tape},
      {"rait", devices::make_rait},
  };
  for (const auto& t : kTypes) {
    if (type != t.type) continue;
    devices::DeviceOrError d = t.make(spec, node);
    if (auto* e = std::get_if<Error>(&d)) return *e;
    auto& dev = std::get<std::unique_ptr<Device>>(d);
    for (const auto& [k, v] : options)
      if (Status s = dev->set_property(k, v)) return *s;
    return std::move(dev);
  }
  return devices::make_js(spec, type, options);  // a TypeScript device, or "unknown device type"
}

std::variant<DeviceOptions, Error> parse_device_options(const std::vector<std::string>& items) {
  DeviceOptions out;
  for (const auto& word : items) {
    std::string cur;
    for (char c : word + ",") {
      if (c != ',' && c != '\n') {
        cur += c;
        continue;
      }
      while (!cur.empty() && cur.front() == ' ') cur.erase(0, 1);
      while (!cur.empty() && cur.back() == ' ') cur.pop_back();
      if (cur.empty()) continue;
      const size_t eq = cur.find('=');
      if (eq == std::string::npos || eq == 0) return plain_error("device property \"" + cur + "\"", "expected NAME=VALUE");
      out.emplace_back(cur.substr(0, eq), cur.substr(eq + 1));
      cur.clear();
    }
  }
  return out;
}

}  // namespace xfa
