// Changers: chg-disk (slot directories), chg-multi (a braced list) and single devices. See
// csrc/include/xfa/changer.h.
#include "xfa/changer.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>

namespace xfa {
namespace {

// Splits on commas at brace depth 0.
std::vector<std::string> split_top(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  for (char c : s) {
    if (c == '{') ++depth;
    if (c == '}') --depth;
    if (c == ',' && depth == 0) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

// Expands one item (no top-level commas).
Status expand_one(const std::string& s, std::vector<std::string>* out) {
  const size_t open = s.find('{');
  if (open == std::string::npos) {
    if (s.find('}') != std::string::npos) return plain_error("expand \"" + s + "\"", "a '}' without its '{'");
    out->push_back(s);
    return ok();
  }
  int depth = 0;
  size_t close = std::string::npos;
  for (size_t i = open; i < s.size(); ++i) {
    if (s[i] == '{') ++depth;
    if (s[i] == '}' && --depth == 0) {
      close = i;
      break;
    }
  }
  if (close == std::string::npos) return plain_error("expand \"" + s + "\"", "a '{' without its '}'");
  const std::string prefix = s.substr(0, open), inner = s.substr(open + 1, close - open - 1), rest = s.substr(close + 1);
  std::vector<std::string> alts;
  const size_t dots = inner.find("..");
  if (dots != std::string::npos && all_digits(inner.substr(0, dots)) && all_digits(inner.substr(dots + 2))) {
    const std::string a = inner.substr(0, dots), b = inner.substr(dots + 2);
    const long lo = std::stol(a), hi = std::stol(b);
    if (hi < lo || hi - lo > 100000) return plain_error("expand \"" + s + "\"", "bad range {" + inner + "}");
    const size_t width = a.size() > 1 && a[0] == '0' ? a.size() : 0;
    for (long i = lo; i <= hi; ++i) {
      std::string n = std::to_string(i);
      if (n.size() < width) n.insert(0, width - n.size(), '0');
      alts.push_back(n);
    }
  } else {
    for (const auto& part : split_top(inner)) {
      std::vector<std::string> sub;
      if (Status st = expand_one(part, &sub)) return st;
      alts.insert(alts.end(), sub.begin(), sub.end());
    }
  }
  std::vector<std::string> tails;
  if (Status st = expand_one(rest, &tails)) return st;
  for (const auto& alt : alts)
    for (const auto& t : tails) out->push_back(prefix + alt + t);
  return ok();
}

}  // namespace

std::variant<std::vector<std::string>, Error> expand_braces(const std::string& s) {
  std::vector<std::string> out;
  for (const auto& item : split_top(s)) {
    if (item.empty()) continue;
    if (Status st = expand_one(item, &out)) return *st;
  }
  return out;
}

std::variant<std::unique_ptr<Device>, Error> Changer::open_slot(size_t i, const DeviceOptions& options) const {
  if (i >= slots_.size()) return plain_error("load slot " + std::to_string(i + 1) + " of " + spec_, "no such slot");
  return open_device(slots_[i], options);
}

std::variant<std::unique_ptr<Device>, Error> Changer::find_volume(const std::string& label, const DeviceOptions& options,
                                                                  size_t* slot_out) const {
  std::string seen;
  for (size_t i = 0; i < slots_.size(); ++i) {
    auto d = open_slot(i, options);
    if (auto* e = std::get_if<Error>(&d)) return *e;
    auto& dev = std::get<std::unique_ptr<Device>>(d);
    const bool labeled = !dev->read_label();
    const std::string what = labeled ? "\"" + dev->volume_label() + "\"" : "without a label";
    if (labeled && dev->volume_label() == label) {
      if (Status s = dev->start(DeviceAccess::kRead, "", "")) return *s;
      if (slot_out) *slot_out = i;
      return std::move(dev);
    }
    seen += (seen.empty() ? "" : ", ") + std::string("slot ") + std::to_string(i + 1) + " " + what;
  }
  return plain_error("find volume \"" + label + "\" in " + spec_, "not found (" + (seen.empty() ? "no slots" : seen) + ")");
}

std::variant<std::unique_ptr<Changer>, Error> open_changer(const std::string& spec) {
  const std::string op = "open changer \"" + spec + "\"";
  if (spec.rfind("chg-disk:", 0) == 0) {
    const std::string dir = spec.substr(9);
    DIR* d = ::opendir(dir.c_str());
    if (!d) return sys_error(op, errno);
    std::vector<std::pair<long, std::string>> slots;
    while (dirent* e = ::readdir(d)) {
      const std::string n = e->d_name;
      if (n.rfind("slot", 0) != 0 || !all_digits(n.substr(4))) continue;
      struct stat st;
      if (::stat((dir + "/" + n).c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
      slots.emplace_back(std::stol(n.substr(4)), "file:" + dir + "/" + n);
    }
    ::closedir(d);
    if (slots.empty()) return plain_error(op, "no slotN directories in " + dir);
    std::sort(slots.begin(), slots.end());
    std::vector<std::string> list;
    for (auto& [n, s] : slots) list.push_back(s);
    return std::make_unique<Changer>(spec, std::move(list));
  }
  std::string list = spec;
  if (spec.rfind("chg-multi:", 0) == 0) list = spec.substr(10);
  else if (spec.rfind("chg-", 0) == 0) return plain_error(op, "unknown changer type (known: chg-disk:DIR, chg-multi:LIST, or one device)");
  auto r = expand_braces(list);
  if (auto* e = std::get_if<Error>(&r)) return *e;
  auto& items = std::get<std::vector<std::string>>(r);
  if (items.empty()) return plain_error(op, "no devices");
  for (const auto& it : items)
    if (it.find(':') == std::string::npos) return plain_error(op, "\"" + it + "\" is not a device (TYPE:NODE)");
  return std::make_unique<Changer>(spec, std::move(items));
}

}  // namespace xfa
