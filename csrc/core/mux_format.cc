#include "mux_format.h"

#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "fletcher32.h"

namespace xfa::mux {

namespace {

void put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void put64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t get32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
uint64_t get64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
std::string hex32(uint32_t v) {
  char b[9];
  std::snprintf(b, sizeof b, "%08x", v);
  return b;
}

}  // namespace

void encode_header(const PacketHeader& h, uint8_t out[kHeaderSize]) {
  std::memcpy(out, kMagic, 4);
  out[4] = kVersion;
  out[5] = h.flags;
  out[6] = out[7] = 0;
  put32(out + 8, h.stream);
  put32(out + 12, h.length);
  put64(out + 16, h.sequence);
  put32(out + 24, h.checksum);
  put32(out + 28, fletcher32(out, 28));
}

std::string decode_header(const uint8_t in[kHeaderSize], PacketHeader* h) {
  if (std::memcmp(in, kMagic, 4) != 0) {
    char b[32];
    std::snprintf(b, sizeof b, "%02x %02x %02x %02x", in[0], in[1], in[2], in[3]);
    return std::string("bad magic ") + b + " (not a multiplexed packet: expected \"XFAM\")";
  }
  const uint32_t want = get32(in + 28);
  const uint32_t got = fletcher32(in, 28);
  if (want != got) return "header checksum " + hex32(want) + ", computed " + hex32(got) + " (damaged header)";
  if (in[4] != kVersion) return "format version " + std::to_string(in[4]) + " (this xfa reads version 1)";
  if (in[5] & ~kKnownFlags) return "unknown flags 0x" + hex32(in[5]).substr(6);
  if (in[6] != 0 || in[7] != 0) return "reserved bytes are not zero";
  h->flags = in[5];
  h->stream = get32(in + 8);
  h->length = get32(in + 12);
  h->sequence = get64(in + 16);
  h->checksum = get32(in + 24);
  if (h->length > kMaxPayload) return "payload length " + std::to_string(h->length) + " above the maximum " + std::to_string(kMaxPayload);
  if ((h->flags & kAborted) && h->length != 0) return "an ABORTED packet with a payload";
  if ((h->flags & kEos) && (h->flags & kAborted)) return "flags EOS and ABORTED together";
  if ((h->flags & kMap) != 0 && h->stream != 0) return "flag MAP on stream " + std::to_string(h->stream);
  if ((h->flags & kMap) == 0 && h->stream == 0) return "stream 0 without flag MAP";
  return "";
}

std::string flags_text(uint8_t flags) {
  std::string s;
  auto add = [&](const char* t) { s += (s.empty() ? "" : "|") + std::string(t); };
  if (flags & kEos) add("EOS");
  if (flags & kAborted) add("ABORTED");
  if (flags & kMap) add("MAP");
  return s.empty() ? "-" : s;
}

}  // namespace xfa::mux

// ----- the stream map -------------------------------------------------------------------------

namespace xfa::mux {

namespace {

std::string json_string(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\t': o += "\\t"; break;
      case '\r': o += "\\r"; break;
      default:
        if (c < 0x20) {
          char b[8];
          std::snprintf(b, sizeof b, "\\u%04x", c);
          o += b;
        } else {
          o += static_cast<char>(c);
        }
    }
  }
  return o + "\"";
}

// A small JSON reader for the map: values are kept as text (strings unescaped), objects and
// arrays walked by the caller. Enough for what encode_map writes and for hand-made maps.
class Json {
 public:
  explicit Json(const std::string& s) : s_(s) {}
  std::string error;

  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r')) ++i_;
  }
  bool eat(char c) {
    ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool expect(char c) {
    if (eat(c)) return true;
    if (error.empty()) error = std::string("expected '") + c + "' at byte " + std::to_string(i_);
    return false;
  }
  bool string(std::string* out) {
    ws();
    if (!expect('"')) return false;
    out->clear();
    while (i_ < s_.size() && s_[i_] != '"') {
      char c = s_[i_++];
      if (c != '\\') {
        *out += c;
        continue;
      }
      if (i_ >= s_.size()) break;
      c = s_[i_++];
      switch (c) {
        case 'n': *out += '\n'; break;
        case 't': *out += '\t'; break;
        case 'r': *out += '\r'; break;
        case 'b': *out += '\b'; break;
        case 'f': *out += '\f'; break;
        case 'u': {
          // exactly four hex digits (the map is untrusted input: no stoul, which throws and
          // accepts signs, blanks and 0x)
          unsigned v = 0;
          for (int k = 0; k < 4; ++k, ++i_) {
            const int d = i_ < s_.size() ? hex_digit(s_[i_]) : -1;
            if (d < 0) return fail("bad \\u escape (want 4 hex digits)");
            v = v * 16 + static_cast<unsigned>(d);
          }
          if (v < 0x80) {
            *out += static_cast<char>(v);
          } else if (v < 0x800) {
            *out += static_cast<char>(0xC0 | (v >> 6));
            *out += static_cast<char>(0x80 | (v & 0x3F));
          } else {
            *out += static_cast<char>(0xE0 | (v >> 12));
            *out += static_cast<char>(0x80 | ((v >> 6) & 0x3F));
            *out += static_cast<char>(0x80 | (v & 0x3F));
          }
          break;
        }
        default: *out += c;
      }
    }
    return expect('"');
  }
  // A scalar or a nested value, skipped or kept as text (numbers, true/false/null).
  bool value(std::string* scalar, bool* is_string) {
    ws();
    *is_string = false;
    if (i_ >= s_.size()) return fail("unexpected end");
    const char c = s_[i_];
    if (c == '"') {
      *is_string = true;
      return string(scalar);
    }
    if (c == '{' || c == '[') return skip_nested();
    const size_t b = i_;
    while (i_ < s_.size() && std::string(",}] \n\t\r").find(s_[i_]) == std::string::npos) ++i_;
    *scalar = s_.substr(b, i_ - b);
    return !scalar->empty() || fail("empty value");
  }
  bool at_end() {
    ws();
    return i_ == s_.size();
  }
  static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  bool fail(const std::string& what) {
    if (error.empty()) error = what + " at byte " + std::to_string(i_);
    return false;
  }

 private:
  bool skip_nested() {
    int depth = 0;
    bool in_str = false;
    for (; i_ < s_.size(); ++i_) {
      const char c = s_[i_];
      if (in_str) {
        if (c == '\\') ++i_;
        else if (c == '"') in_str = false;
        continue;
      }
      if (c == '"') in_str = true;
      else if (c == '{' || c == '[') ++depth;
      else if ((c == '}' || c == ']') && --depth == 0) {
        ++i_;
        return true;
      }
    }
    return fail("unterminated value");
  }
  const std::string& s_;
  size_t i_ = 0;
};

bool parse_int(const std::string& t, int64_t* v) {
  if (t.empty()) return false;
  size_t i = t[0] == '-' ? 1 : 0;
  if (i == t.size()) return false;
  for (size_t k = i; k < t.size(); ++k)
    if (t[k] < '0' || t[k] > '9') return false;
  if (t.size() > 18) return false;
  *v = std::stoll(t);
  return true;
}

}  // namespace

std::string encode_map(const std::vector<StreamInfo>& streams) {
  std::string o = "{\"format\":\"xfa-mux\",\"version\":1,\"streams\":[";
  for (size_t i = 0; i < streams.size(); ++i) {
    const StreamInfo& s = streams[i];
    o += i ? ",{" : "{";
    o += "\"id\":" + std::to_string(s.id);
    if (!s.host.empty()) o += ",\"host\":" + json_string(s.host);
    if (!s.disk.empty()) o += ",\"disk\":" + json_string(s.disk);
    if (s.level >= 0) o += ",\"level\":" + std::to_string(s.level);
    if (!s.program.empty()) o += ",\"program\":" + json_string(s.program);
    if (!s.label.empty()) o += ",\"label\":" + json_string(s.label);
    o += "}";
  }
  return o + "]}";
}

std::string decode_map(const std::string& json, std::vector<StreamInfo>* out) {
  Json j(json);
  out->clear();
  bool saw_format = false, saw_streams = false;
  if (!j.expect('{')) return "stream map: " + j.error;
  if (!j.eat('}')) {
    do {
      std::string key, val;
      bool is_str;
      if (!j.string(&key) || !j.expect(':')) return "stream map: " + j.error;
      if (key == "streams") {
        saw_streams = true;
        if (!j.expect('[')) return "stream map: " + j.error;
        if (!j.eat(']')) {
          do {
            StreamInfo s;
            bool has_id = false;
            if (!j.expect('{')) return "stream map: " + j.error;
            if (!j.eat('}')) {
              do {
                std::string k;
                if (!j.string(&k) || !j.expect(':') || !j.value(&val, &is_str)) return "stream map: " + j.error;
                int64_t n = 0;
                if (k == "id") {
                  if (is_str || !parse_int(val, &n) || n < 1 || n > 0xFFFFFFFFll) return "stream map: bad stream id " + val;
                  s.id = static_cast<uint32_t>(n);
                  has_id = true;
                } else if (k == "level") {
                  if (is_str || !parse_int(val, &n) || n < 0) return "stream map: bad level " + val;
                  s.level = n;
                } else if (k == "host") {
                  s.host = val;
                } else if (k == "disk") {
                  s.disk = val;
                } else if (k == "program") {
                  s.program = val;
                } else if (k == "label") {
                  s.label = val;
                }
              } while (j.eat(','));
              if (!j.expect('}')) return "stream map: " + j.error;
            }
            if (!has_id) return "stream map: a stream without an id";
            out->push_back(s);
          } while (j.eat(','));
          if (!j.expect(']')) return "stream map: " + j.error;
        }
      } else {
        if (!j.value(&val, &is_str)) return "stream map: " + j.error;
        if (key == "format") {
          saw_format = true;
          if (val != "xfa-mux") return "stream map: format \"" + val + "\", not xfa-mux";
        }
      }
    } while (j.eat(','));
    if (!j.expect('}')) return "stream map: " + j.error;
  }
  if (!j.at_end()) return "stream map: trailing bytes";
  if (!saw_format || !saw_streams) return "stream map: no \"format\" or \"streams\"";
  std::vector<bool> seen(out->size() + 1, false);
  for (const StreamInfo& s : *out) {
    if (s.id > out->size()) return "stream map: stream id " + std::to_string(s.id) + " with only " + std::to_string(out->size()) + " streams";
    if (seen[s.id]) return "stream map: stream id " + std::to_string(s.id) + " twice";
    seen[s.id] = true;
  }
  return "";
}

StreamInfo parse_map_entry(const std::string& text) {
  StreamInfo s;
  std::vector<std::string> parts;
  size_t b = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == ':') {
      parts.push_back(text.substr(b, i - b));
      b = i + 1;
      if (parts.size() == 3) {  // the program is the rest (it may hold ':')
        parts.push_back(b <= text.size() ? text.substr(b) : "");
        break;
      }
    }
  }
  if (parts.size() < 2 || parts[0].empty() || parts[1].empty())
    throw std::invalid_argument("map entry \"" + text + "\" is not host:disk[:level[:program]]");
  s.host = parts[0];
  s.disk = parts[1];
  if (parts.size() > 2 && !parts[2].empty()) {
    int64_t n;
    if (!parse_int(parts[2], &n) || n < 0 || n > 99) throw std::invalid_argument("map entry \"" + text + "\": level \"" + parts[2] + "\" is not 0-99");
    s.level = n;
  }
  if (parts.size() > 3) s.program = parts[3];
  return s;
}

}  // namespace xfa::mux
