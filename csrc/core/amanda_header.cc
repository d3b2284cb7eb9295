#include "amanda_header.h"

#include <cstring>
#include <vector>

namespace xfa::amanda {
namespace {

const char* const kBuildOp = "build Amanda header";
const char* const kParseOp = "parse Amanda header";
const char* const kRestoreLine = "To restore, position tape at start of file and run:";
const char* const kDdPrefix = "\tdd if=<tape> ";

Error build_error(std::string detail) { return plain_error(kBuildOp, std::move(detail)); }
Error parse_error(std::string detail) { return plain_error(kParseOp, std::move(detail)); }

std::string shown(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s.size() > 60 ? s.substr(0, 60) + "..." : s) {
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) { char b[8]; std::snprintf(b, sizeof b, "\\x%02x", c); out += b; }
    else out += static_cast<char>(c);
  }
  return out + "\"";
}

bool all_digits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

bool has_space(const std::string& s) {
  for (unsigned char c : s)
    if (c <= ' ' || c == 0x7f) return true;
  return false;
}

bool has_newline(const std::string& s) { return s.find('\n') != std::string::npos || s.find('\0') != std::string::npos; }

Status check_datestamp(const std::string& d) {
  if (d == "X" || ((d.size() == 8 || d.size() == 14) && all_digits(d))) return ok();
  return build_error("invalid datestamp " + shown(d) + ": must be X or 8 or 14 digits");
}

// A string_t field: at most 255 bytes, one line.
Status check_field(const char* what, const std::string& v) {
  if (v.size() > kStringMax)
    return build_error(std::string(what) + " is " + std::to_string(v.size()) + " bytes; Amanda's limit is 255");
  if (has_newline(v)) return build_error(std::string(what) + " " + shown(v) + " contains a line break");
  return ok();
}

// A word on the first line: non-empty when required, no spaces or control characters.
Status check_word(const char* what, const std::string& v, bool required) {
  if (Status s = check_field(what, v)) return s;
  if (required && v.empty()) return build_error(std::string(what) + " is empty");
  if (has_space(v)) return build_error(std::string(what) + " " + shown(v) + " contains a space or control character");
  return ok();
}

// decrypt/uncompress commands end with '|' and contain no other: the dd line is split on '|'.
Status check_pipe_cmd(const char* what, const std::string& v) {
  if (Status s = check_field(what, v)) return s;
  if (v.empty()) return ok();
  if (v.back() != '|') return build_error(std::string(what) + " " + shown(v) + " must end with \"|\"");
  if (v.find('|') != v.size() - 1) return build_error(std::string(what) + " " + shown(v) + " has a \"|\" before its end");
  return ok();
}

void append_crc(std::string& out, const char* key, const Crc& c) {
  if (c.crc == 0) return;
  char b[64];
  std::snprintf(b, sizeof b, "%s=%08x:%lld\n", key, c.crc, static_cast<long long>(c.size));
  out += b;
}

Status validate_dump(const Header& h, size_t max_size) {
  if (Status s = check_datestamp(h.datestamp)) return s;
  if (Status s = check_word("host name", h.name, true)) return s;
  if (Status s = check_field("disk name", h.disk)) return s;
  if (h.disk.empty()) return build_error("disk name is empty");
  if (h.dumplevel < 0) return build_error("dump level " + std::to_string(h.dumplevel) + " is negative");
  if (Status s = check_word("program", h.program, true)) return s;
  if (h.compressed) {
    if (Status s = check_word("compression suffix", h.comp_suffix, true)) return s;
    if (h.comp_suffix == "N") return build_error("compression suffix \"N\" means not compressed; set compressed=false");
  }
  if (h.encrypted) {
    if (Status s = check_word("encryption suffix", h.encrypt_suffix, true)) return s;
    if (h.encrypt_suffix == "N") return build_error("encryption suffix \"N\" means not encrypted; set encrypted=false");
  } else if (!h.encrypt_suffix.empty() && h.encrypt_suffix != "N") {
    return build_error("encryption suffix " + shown(h.encrypt_suffix) + " given but encrypted is false");
  }
  const struct {
    const char* what;
    const std::string& v;
  } words[] = {{"server_custom_compress", h.srvcompprog}, {"client_custom_compress", h.clntcompprog},
               {"server_encrypt", h.srv_encrypt},         {"client_encrypt", h.clnt_encrypt},
               {"server_decrypt_option", h.srv_decrypt_opt}, {"client_decrypt_option", h.clnt_decrypt_opt}};
  for (const auto& w : words)
    if (Status s = check_word(w.what, w.v, false)) return s;
  if (!h.srvcompprog.empty() && !h.clntcompprog.empty())
    return build_error("both server_custom_compress and client_custom_compress are set");
  if (!h.srv_encrypt.empty() && !h.clnt_encrypt.empty()) return build_error("both server_encrypt and client_encrypt are set");
  if (!h.srv_decrypt_opt.empty() && !h.clnt_decrypt_opt.empty())
    return build_error("both server_decrypt_option and client_decrypt_option are set");
  if (h.type == FileType::kSplitDumpFile) {
    if (h.partnum < 1) return build_error("invalid partnum " + std::to_string(h.partnum) + ": parts are numbered from 1");
    if (h.totalparts >= 0 && h.partnum > h.totalparts)
      return build_error("invalid partnum " + std::to_string(h.partnum) + " > totalparts " + std::to_string(h.totalparts));
    if (h.totalparts < -1) return build_error("invalid totalparts " + std::to_string(h.totalparts) + " (-1 = unknown)");
  }
  if (Status s = check_field("CONT_FILENAME", h.cont_filename)) return s;
  if (Status s = check_field("APPLICATION", h.application)) return s;
  if (h.orig_size < 0) return build_error("ORIGSIZE " + std::to_string(h.orig_size) + " is negative");
  if (Status s = check_field("recover command", h.recover_cmd)) return s;
  if (h.recover_cmd.find('|') != std::string::npos)
    return build_error("recover command " + shown(h.recover_cmd) + " contains \"|\" (the dd line is split there)");
  if (Status s = check_pipe_cmd("decrypt command", h.decrypt_cmd)) return s;
  if (Status s = check_pipe_cmd("uncompress command", h.uncompress_cmd)) return s;
  if (h.recover_cmd.empty() && (!h.uncompress_cmd.empty() || !h.decrypt_cmd.empty()))
    return build_error("recover command must be set when a decrypt or uncompress command is");
  if (h.blocksize % 1024 != 0) return build_error("block size " + std::to_string(h.blocksize) + " is not a multiple of 1024");
  if (!h.dle_str.empty() && h.dle_str.size() + 2048 > max_size)
    return build_error("DLE of " + std::to_string(h.dle_str.size()) + " bytes does not fit a " + std::to_string(max_size) +
                       "-byte header (Amanda would drop it silently)");
  if (h.dle_str.find('\0') != std::string::npos) return build_error("DLE contains a NUL byte");
  return ok();
}

// ----- parsing helpers -----

// Splits the first line into words on runs of spaces; a word that opens a double quote runs to
// the closing quote (backslash escapes), spaces included, like Amanda's strquotedstr().
std::vector<std::string> words_of(const std::string& line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    if (i >= line.size()) break;
    std::string w;
    bool quoted = false;
    while (i < line.size() && (quoted || line[i] != ' ')) {
      const char c = line[i];
      if (c == '\\' && quoted && i + 1 < line.size()) {
        w += c;
        w += line[i + 1];
        i += 2;
        continue;
      }
      if (c == '"') quoted = !quoted;
      w += c;
      ++i;
    }
    out.push_back(w);
  }
  return out;
}

bool parse_int(const std::string& s, int* out) {
  if (s.empty() || s.size() > 10) return false;
  size_t i = s[0] == '-' ? 1 : 0;
  if (i == s.size()) return false;
  long long v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = static_cast<int>(s[0] == '-' ? -v : v);
  return true;
}

bool parse_u64(const std::string& s, int64_t* out) {
  if (s.empty() || s.size() > 18 || !all_digits(s)) return false;
  *out = std::stoll(s);
  return true;
}

bool parse_crc(const std::string& s, Crc* out) {
  const size_t colon = s.find(':');
  if (colon != 8) return false;
  uint32_t v = 0;
  for (size_t i = 0; i < 8; ++i) {
    const char c = s[i];
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return false;
    v = v << 4 | static_cast<uint32_t>(d);
  }
  int64_t n;
  if (!parse_u64(s.substr(9), &n)) return false;
  out->crc = v;
  out->size = n;
  return true;
}

struct Cursor {
  const std::vector<std::string>& w;
  size_t i = 0;
  bool more() const { return i < w.size(); }
  const std::string* next() { return i < w.size() ? &w[i++] : nullptr; }
};

Status expect_word(Cursor& c, const char* want, const char* where) {
  const std::string* t = c.next();
  if (t && *t == want) return ok();
  return parse_error(std::string("expected \"") + want + "\" " + where + ", found " + (t ? shown(*t) : "the end of the line"));
}

Status need_value(Cursor& c, const char* what, std::string* out) {
  const std::string* t = c.next();
  if (!t) return parse_error(std::string("missing ") + what + " at the end of the first line");
  *out = *t;
  return ok();
}

Status parse_first_line(const std::string& line, Header* h) {
  const std::vector<std::string> w = words_of(line);
  Cursor c{w};
  const std::string* magic = c.next();
  if (!magic || (*magic != "AMANDA:" && *magic != "NETDUMP:"))
    return parse_error("not an Amanda header: it starts with " + shown(line.substr(0, 40)));
  const std::string* tok = c.next();
  if (!tok) return parse_error("missing file type after \"" + *magic + "\"");
  h->type = file_type_from_token(*tok);
  switch (h->type) {
    case FileType::kTapeStart:
      if (Status s = expect_word(c, "DATE", "after TAPESTART")) return s;
      if (Status s = need_value(c, "datestamp", &h->datestamp)) return s;
      if (Status s = expect_word(c, "TAPE", "after the datestamp")) return s;
      return need_value(c, "volume label", &h->name);
    case FileType::kTapeEnd:
      if (c.more()) {
        if (Status s = expect_word(c, "DATE", "after TAPEEND")) return s;
        if (const std::string* d = c.next()) h->datestamp = *d;
      }
      return ok();
    case FileType::kNoop:
      return ok();
    case FileType::kDumpFile:
    case FileType::kContDumpFile:
    case FileType::kSplitDumpFile:
      break;
    default:
      return parse_error("unknown file type " + shown(*tok) + " (expected TAPESTART, TAPEEND, FILE, CONT_FILE, SPLIT_FILE or NOOP)");
  }
  if (Status s = need_value(c, "datestamp", &h->datestamp)) return s;
  if (Status s = need_value(c, "host name", &h->name)) return s;
  std::string qdisk;
  if (Status s = need_value(c, "disk name", &qdisk)) return s;
  h->disk = unquote_string(qdisk);
  if (h->type == FileType::kSplitDumpFile) {
    if (Status s = expect_word(c, "part", "after the disk name of a SPLIT_FILE")) return s;
    std::string parts;
    if (Status s = need_value(c, "part n/m", &parts)) return s;
    const size_t slash = parts.find('/');
    if (slash == std::string::npos || !parse_int(parts.substr(0, slash), &h->partnum) ||
        !parse_int(parts.substr(slash + 1), &h->totalparts))
      return parse_error("invalid part number " + shown(parts) + " (expected n/m)");
  } else if (h->type == FileType::kDumpFile) {
    h->partnum = h->totalparts = 1;
  }
  if (Status s = expect_word(c, "lev", "after the disk name")) return s;
  std::string lev;
  if (Status s = need_value(c, "dump level", &lev)) return s;
  if (!parse_int(lev, &h->dumplevel)) return parse_error("invalid dump level " + shown(lev));
  if (Status s = expect_word(c, "comp", "after the dump level")) return s;
  std::string comp;
  if (Status s = need_value(c, "compression suffix", &comp)) return s;
  h->compressed = comp != "N";
  h->comp_suffix = !h->compressed ? "" : comp == "C" ? ".Z" : comp;  // "C": pre-2.2 Amanda
  const std::string* kw = c.next();
  if (!kw || *kw != "program") return ok();  // "program" and everything after it is optional
  if (Status s = need_value(c, "program", &h->program)) return s;
  while (const std::string* key = c.next()) {
    std::string* dst = nullptr;
    if (*key == "crypt") dst = &h->encrypt_suffix;
    else if (*key == "server_custom_compress") dst = &h->srvcompprog;
    else if (*key == "client_custom_compress") dst = &h->clntcompprog;
    else if (*key == "server_encrypt") dst = &h->srv_encrypt;
    else if (*key == "client_encrypt") dst = &h->clnt_encrypt;
    else if (*key == "server_decrypt_option") dst = &h->srv_decrypt_opt;
    else if (*key == "client_decrypt_option") dst = &h->clnt_decrypt_opt;
    if (!dst) continue;  // unknown words are ignored, as Amanda does
    if (Status s = need_value(c, key->c_str(), dst)) return s;
    if (dst == &h->encrypt_suffix) {
      h->encrypted = *dst != "N";
      if (!h->encrypted) dst->clear();
    }
  }
  return ok();
}

// "\tdd if=<tape> [bs=Nk ]skip=1 | [decrypt ][uncompress ]recover "
Status parse_dd_line(const std::string& line, Header* h) {
  std::string rest = line.substr(std::strlen(kDdPrefix));
  if (rest.compare(0, 3, "bs=") == 0) {
    const size_t k = rest.find("k ");
    int64_t kib;
    if (k == std::string::npos || !parse_u64(rest.substr(3, k - 3), &kib))
      return parse_error("invalid block size in the restore line " + shown(line));
    h->blocksize = static_cast<size_t>(kib) * 1024;
    rest = rest.substr(k + 2);
  }
  if (rest.compare(0, 8, "skip=1 |") != 0) return parse_error("restore line " + shown(line) + " has no \"skip=1 |\"");
  rest = rest.substr(8);
  if (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
  std::vector<std::string> pipes;
  size_t bar;
  while (pipes.size() < 2 && (bar = rest.find('|')) != std::string::npos) {
    pipes.push_back(rest.substr(0, bar + 1));
    rest.erase(0, bar + 1);
    if (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
  }
  if (!rest.empty() && rest.back() == ' ') rest.pop_back();
  h->recover_cmd = rest;
  if (pipes.size() == 2) {
    h->decrypt_cmd = pipes[0];
    h->uncompress_cmd = pipes[1];
  } else if (pipes.size() == 1) {
    // Amanda always reads one command as "uncompress"; an encrypted, uncompressed dump has a
    // decrypt command there.
    (h->encrypted && !h->compressed ? h->decrypt_cmd : h->uncompress_cmd) = pipes[0];
  }
  return ok();
}

}  // namespace

const char* file_type_token(FileType t) {
  switch (t) {
    case FileType::kTapeStart: return "TAPESTART";
    case FileType::kTapeEnd: return "TAPEEND";
    case FileType::kDumpFile: return "FILE";
    case FileType::kContDumpFile: return "CONT_FILE";
    case FileType::kSplitDumpFile: return "SPLIT_FILE";
    case FileType::kNoop: return "NOOP";
    case FileType::kEmpty: return "EMPTY";
    case FileType::kWeird: return "WEIRD";
    default: return "UNKNOWN";
  }
}

FileType file_type_from_token(const std::string& s) {
  if (s == "TAPESTART") return FileType::kTapeStart;
  if (s == "TAPEEND") return FileType::kTapeEnd;
  if (s == "FILE") return FileType::kDumpFile;
  if (s == "CONT_FILE") return FileType::kContDumpFile;
  if (s == "SPLIT_FILE") return FileType::kSplitDumpFile;
  if (s == "NOOP") return FileType::kNoop;
  return FileType::kUnknown;
}

std::string quote_string(const std::string& s) {
  bool need = s.empty();
  for (char c : s)  // char is signed here as in Amanda: bytes >= 0x80 count as "<= ' '"
    if (c == ':' || c == '\'' || c == '\\' || c == '"' || c <= ' ' || c == 0x7f) need = true;
  if (!need) return s;
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\f': out += "\\f"; break;
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      default: out += c;
    }
  }
  return out + "\"";
}

std::string unquote_string(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    char c = s[i];
    if (c == '"') {
      ++i;
      continue;
    }
    if (c == '\\') {
      ++i;
      if (i >= s.size()) break;  // trailing backslash: ignored
      c = s[i];
      if (c == 'n') { out += '\n'; ++i; continue; }
      if (c == 't') { out += '\t'; ++i; continue; }
      if (c == 'r') { out += '\r'; ++i; continue; }
      if (c == 'f') { out += '\f'; ++i; continue; }
      if (c >= '0' && c <= '7') {
        int v = 0;
        for (int n = 0; n < 3 && i < s.size() && s[i] >= '0' && s[i] <= '7'; ++n) v = (v << 3) + (s[i++] - '0');
        if (v & 0xff) out += static_cast<char>(v & 0xff);
        continue;
      }
    }
    out += c;
    ++i;
  }
  return out;
}

std::string quote_heredoc(const std::string& text, const std::string& prefix) {
  std::string delim = prefix;
  for (int n = 1;; ++n) {
    bool found = false;
    size_t start = 0;
    while (start <= text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      if (text.compare(start, end - start, delim) == 0 && end - start == delim.size()) {
        found = true;
        break;
      }
      start = end + 1;
    }
    if (!found) break;
    delim = prefix + std::to_string(n);
  }
  return "<<" + delim + "\n" + text + "\n" + delim;
}

std::string sanitise_filename(const std::string& s) {
  std::string out = s;
  for (char& c : out)
    if (c == '/' || c == '\\' || c == ':') c = '_';
  return out;
}

std::string first_line(const void* buf, size_t len) {
  const char* p = static_cast<const char*>(buf);
  size_t n = 0;
  while (n < len && n < 512 && p[n] != '\n' && p[n] != '\0') ++n;
  return std::string(p, n);
}

Status build_text(const Header& h, std::string* out, size_t max_size) {
  std::string s;
  char b[128];
  switch (h.type) {
    case FileType::kTapeStart:
      if (Status e = check_word("volume label", h.name, true)) return e;
      if (Status e = check_datestamp(h.datestamp)) return e;
      s = "AMANDA: TAPESTART DATE " + h.datestamp + " TAPE " + h.name + "\n\014\n";
      break;
    case FileType::kTapeEnd:
      if (Status e = check_datestamp(h.datestamp)) return e;
      s = "AMANDA: TAPEEND DATE " + h.datestamp + "\n\014\n";
      break;
    case FileType::kNoop:
      s = "AMANDA: NOOP\n\014\n";
      break;
    case FileType::kDumpFile:
    case FileType::kContDumpFile:
    case FileType::kSplitDumpFile: {
      if (Status e = validate_dump(h, max_size)) return e;
      std::string split;
      if (h.type == FileType::kSplitDumpFile) {
        std::snprintf(b, sizeof b, " part %d/%d ", h.partnum, h.totalparts);
        split = b;
      }
      s = std::string("AMANDA: ") + file_type_token(h.type) + " " + h.datestamp + " " + h.name + " " + quote_string(h.disk) +
          " " + split + " lev " + std::to_string(h.dumplevel) + " comp " + (h.compressed ? h.comp_suffix : "N") +
          " program " + h.program;
      if (h.encrypted) s += " crypt " + h.encrypt_suffix;
      if (!h.srvcompprog.empty()) s += " server_custom_compress " + h.srvcompprog;
      else if (!h.clntcompprog.empty()) s += " client_custom_compress " + h.clntcompprog;
      if (!h.srv_encrypt.empty()) s += " server_encrypt " + h.srv_encrypt;
      else if (!h.clnt_encrypt.empty()) s += " client_encrypt " + h.clnt_encrypt;
      if (!h.srv_decrypt_opt.empty()) s += " server_decrypt_option " + h.srv_decrypt_opt;
      else if (!h.clnt_decrypt_opt.empty()) s += " client_decrypt_option " + h.clnt_decrypt_opt;
      s += "\n";
      if (!h.cont_filename.empty()) s += "CONT_FILENAME=" + h.cont_filename + "\n";
      if (!h.application.empty()) s += "APPLICATION=" + h.application + "\n";
      if (h.is_partial) s += "PARTIAL=YES\n";
      if (h.orig_size > 0) s += "ORIGSIZE=" + std::to_string(h.orig_size) + "\n";
      append_crc(s, "NATIVE-CRC", h.native_crc);
      append_crc(s, "CLIENT-CRC", h.client_crc);
      append_crc(s, "SERVER-CRC", h.server_crc);
      if (!h.dle_str.empty()) s += "DLE=" + quote_heredoc(h.dle_str, "ENDDLE") + "\n";
      s += kRestoreLine;
      s += "\n";
      s += kDdPrefix;
      if (h.blocksize) s += "bs=" + std::to_string(h.blocksize / 1024) + "k ";
      s += "skip=1 | ";
      if (!h.recover_cmd.empty()) {
        if (!h.decrypt_cmd.empty()) s += h.decrypt_cmd + " ";
        if (!h.uncompress_cmd.empty()) s += h.uncompress_cmd + " ";
        s += h.recover_cmd + " ";
      }
      s += "\n\014\n";
      break;
    }
    default:
      return build_error(std::string("invalid header type ") + std::to_string(static_cast<int>(h.type)) + " (" +
                         file_type_token(h.type) + ")");
  }
  if (s.size() > max_size)
    return build_error("Amanda file header won't fit in a single block: " + std::to_string(s.size()) + " bytes > " +
                       std::to_string(max_size));
  *out = std::move(s);
  return ok();
}

Status build(const Header& h, std::string* out, size_t min_size, size_t max_size) {
  if (Status s = build_text(h, out, max_size)) return s;
  if (out->size() < min_size) out->resize(min_size, '\0');
  return ok();
}

FileType classify(const void* buf, size_t len) {
  const char* p = static_cast<const char*>(buf);
  if (len == 0 || p[0] == '\0') return FileType::kEmpty;
  const std::string head(p, std::min<size_t>(len, 9));
  if (head.compare(0, 8, "AMANDA: ") == 0 || head.compare(0, 9, "NETDUMP: ") == 0) return FileType::kUnknown;
  return FileType::kWeird;
}

Status parse(const void* buf, size_t len, Header* out) {
  const char* p = static_cast<const char*>(buf);
  const size_t n = strnlen(p, len);
  if (n == 0) return parse_error(len == 0 ? "the header block is empty" : "the header block is all NUL bytes (a blank file or volume)");
  const std::string text(p, n);
  // The first line ends at the first newline outside double quotes (Amanda's rule).
  size_t eol = 0;
  bool quoted = false;
  for (; eol < text.size(); ++eol) {
    if (text[eol] == '\n' && !quoted) break;
    if (text[eol] == '"') quoted = !quoted;
    else if (text[eol] == '\\' && eol + 1 < text.size() && text[eol + 1] == '"') ++eol;
  }
  Header h;
  if (Status s = parse_first_line(text.substr(0, eol), &h)) return s;
  // The other lines: key=value, the DLE heredoc, the restore hint; the "\f" line ends the text.
  std::vector<std::string> lines;
  for (size_t at = eol + 1; at < text.size();) {
    size_t e = text.find('\n', at);
    if (e == std::string::npos) e = text.size();
    lines.push_back(text.substr(at, e - at));
    at = e + 1;
  }
  auto starts = [](const std::string& l, const char* k) { return l.compare(0, std::strlen(k), k) == 0; };
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    if (l.empty()) continue;
    if (l == "\014") break;
    if (starts(l, "CONT_FILENAME=")) {
      h.cont_filename = l.substr(14);
    } else if (starts(l, "PARTIAL=")) {
      const std::string v = l.substr(8);
      h.is_partial = v.size() == 3 && (v[0] | 0x20) == 'y' && (v[1] | 0x20) == 'e' && (v[2] | 0x20) == 's';
    } else if (starts(l, "APPLICATION=")) {
      h.application = l.substr(12);
    } else if (starts(l, "ORIGSIZE=")) {
      if (!parse_u64(l.substr(9), &h.orig_size)) return parse_error("invalid ORIGSIZE line " + shown(l));
    } else if (starts(l, "NATIVE-CRC=") || starts(l, "CLIENT-CRC=") || starts(l, "SERVER-CRC=")) {
      Crc* c = l[0] == 'N' ? &h.native_crc : l[0] == 'C' ? &h.client_crc : &h.server_crc;
      if (!parse_crc(l.substr(11), c)) return parse_error("invalid CRC line " + shown(l) + " (expected %08x:size)");
    } else if (starts(l, "DLE=")) {
      const std::string v = l.substr(4);
      if (!starts(v, "<<")) {
        h.dle_str = v;
        continue;
      }
      const std::string delim = v.substr(2);
      std::string body;
      size_t j = i + 1;
      for (; j < lines.size() && lines[j] != delim; ++j) body += (j > i + 1 ? "\n" : "") + lines[j];
      if (j >= lines.size()) return parse_error("the DLE heredoc is not terminated by a line \"" + delim + "\"");
      h.dle_str = body;
      i = j;
    } else if (starts(l, kDdPrefix)) {
      if (Status s = parse_dd_line(l, &h)) return s;
    }
    // kRestoreLine and unknown lines: ignored.
  }
  *out = std::move(h);
  return ok();
}

}  // namespace xfa::amanda
