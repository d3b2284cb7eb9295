// Shared by the media elements (source-device, dest-device, dest-holding, source-holding):
// reading their `header` and `device-properties` properties. Called from constructors, so bad
// values throw std::invalid_argument with a sentence naming the property (the factory contract).
#pragma once

#include <cctype>
#include <memory>
#include <stdexcept>
#include <string>

#include "amanda_header.h"
#include "xfa/device.h"
#include "xfa/element.h"

namespace xfa::media {

// The `key` property as an Amanda header: the full text a builder made, or just its first line
// ("AMANDA: FILE 20240102030405 host /home lev 0 comp N program /bin/tar").
inline amanda::Header header_prop(const Props& p, const std::string& key) {
  std::string text = p.get_string(key, "");
  if (text.empty()) throw std::invalid_argument("property \"" + key + "\" is required: an Amanda header (at least its first line)");
  if (text.find('\n') == std::string::npos) text += "\n";
  amanda::Header h;
  if (Status s = amanda::parse(text.data(), text.size(), &h)) throw std::invalid_argument("property \"" + key + "\": " + s->detail);
  if (!h.is_dump()) {
    throw std::invalid_argument("property \"" + key + "\": a " + std::string(amanda::file_type_token(h.type)) +
                                " header; a dump needs FILE or SPLIT_FILE");
  }
  std::string check;
  if (Status s = amanda::build_text(h, &check)) throw std::invalid_argument("property \"" + key + "\": " + s->detail);
  return h;
}

inline DeviceOptions device_options_prop(const Props& p, const std::string& key) {
  auto r = parse_device_options(p.get_strings(key));
  if (auto* e = std::get_if<Error>(&r)) throw std::invalid_argument("property \"" + key + "\": " + e->op + ": " + e->detail);
  return std::get<DeviceOptions>(r);
}

// BLOCK_SIZE among the options (0 = not given), so an element can ask for blocks that big.
inline size_t option_block_size(const DeviceOptions& opts) {
  uint64_t bs = 0;
  for (const auto& [k, v] : opts) {
    std::string n;
    for (char c : k) n += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (n != "BLOCK_SIZE") continue;
    size_t i = 0;
    while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) ++i;
    if (i == 0) continue;
    uint64_t x = std::stoull(v.substr(0, i));
    const char u = i < v.size() ? static_cast<char>(std::tolower(static_cast<unsigned char>(v[i]))) : 'b';
    x <<= u == 'k' ? 10 : u == 'm' ? 20 : u == 'g' ? 30 : 0;
    bs = x;
  }
  return static_cast<size_t>(bs);
}

inline std::unique_ptr<Device> open_or_throw(const std::string& spec, const DeviceOptions& opts) {
  auto d = open_device(spec, opts);
  if (auto* e = std::get_if<Error>(&d)) throw std::invalid_argument(e->op + ": " + e->detail);
  return std::move(std::get<std::unique_ptr<Device>>(d));
}

}  // namespace xfa::media
