// Amanda file headers (common-src/fileheader.c), byte for byte.
//
// Every file Amanda writes to a volume or a holding disk starts with a header block: a few lines
// of text, then NUL bytes up to the header size (32 KiB on vtapes and holding disks, the device
// block size on tape). A FILE header looks like
//
//   AMANDA: SPLIT_FILE 20230518121006 host /home  part 1/-1  lev 0 comp .gz program /bin/tar
//   ORIGSIZE=360
//   NATIVE-CRC=52800857:368640
//   DLE=<<ENDDLE
//   <dle>...</dle>
//   ENDDLE
//   To restore, position tape at start of file and run:
//   \tdd if=<tape> bs=32k skip=1 | /bin/gzip -dc | /bin/tar -xpGf - ...
//   \f
//
// build() writes exactly what Amanda 3.5's build_header() writes for the same fields (the tests
// compare against Amanda's own Amanda::Header->to_string), and parse() reads everything Amanda
// writes. Differences from Amanda, all on purpose:
//  * Invalid input is an Error value, never abort(): Amanda calls error() on a bad datestamp,
//    partnum or command, and silently drops a DLE too large for the block; build() refuses both.
//  * build() also refuses what parse() could not read back (a host or label with spaces, a field
//    longer than Amanda's 255-byte string_t, a line break inside a one-line field).
//  * parse() keeps the restore commands exactly as written (Amanda trims their spaces), reads the
//    `bs=Nk` of the dd line back into `blocksize`, keeps empty lines of the DLE (Amanda's strtok
//    drops them), and tells decrypt from uncompress in a two-command dd line by the header's
//    crypt/comp fields (Amanda assumes uncompress). So parse(build(h)) == h, and build(parse(b))
//    reproduces every header Amanda wrote.
//  * Malformed CRC or ORIGSIZE lines and an unterminated DLE heredoc are errors (Amanda reads 0).
//    Unknown lines and unknown words after `program` are ignored, as Amanda does.
//
// Threads: pure functions; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "xfa/status.h"

namespace xfa::amanda {

constexpr size_t kHeaderSize = 32768;  // DISK_BLOCK_BYTES: vtape, diskflat and holding headers
constexpr size_t kStringMax = 255;     // Amanda's string_t is char[256]

// Amanda's filetype_t numbers.
enum class FileType : int {
  kUnknown = 0,
  kWeird = -1,
  kTapeStart = 1,
  kTapeEnd = 2,
  kDumpFile = 3,       // "FILE": a whole dump (or the first holding-disk chunk)
  kContDumpFile = 4,   // "CONT_FILE": a following holding-disk chunk
  kSplitDumpFile = 5,  // "SPLIT_FILE": one part of a dump on a volume
  kNoop = 6,
  kEmpty = -2,
};

// "TAPESTART", "TAPEEND", "FILE", "CONT_FILE", "SPLIT_FILE", "NOOP"; "UNKNOWN" otherwise.
const char* file_type_token(FileType t);
// The reverse; kUnknown for anything else.
FileType file_type_from_token(const std::string& s);

// CRC32C of some bytes and how many there were; printed `%08x:%lld`, only when crc != 0.
struct Crc {
  uint32_t crc = 0;
  int64_t size = 0;
  bool operator==(const Crc& o) const { return crc == o.crc && size == o.size; }
};

// dumpfile_t. `name` is the host for dump files and the volume label for TAPESTART.
struct Header {
  FileType type = FileType::kUnknown;
  std::string datestamp;  // "X", or 8 or 14 digits
  std::string name;
  std::string disk;       // quoted on the first line when it needs to be
  int dumplevel = 0;
  bool compressed = false;
  std::string comp_suffix;  // ".gz"; written as "N" when !compressed
  bool encrypted = false;
  std::string encrypt_suffix;
  std::string program;      // "/bin/tar", "APPLICATION"
  std::string application;  // APPLICATION= line
  std::string srvcompprog;  // server_custom_compress
  std::string clntcompprog; // client_custom_compress
  std::string srv_encrypt;  // server_encrypt
  std::string clnt_encrypt; // client_encrypt
  std::string srv_decrypt_opt;
  std::string clnt_decrypt_opt;
  std::string recover_cmd;     // "/bin/tar -xpGf - ..."
  std::string uncompress_cmd;  // "/bin/gzip -dc |" (ends with '|')
  std::string decrypt_cmd;     // "... |" (ends with '|')
  std::string cont_filename;   // holding chunks: the next chunk's absolute path
  std::string dle_str;         // DLE XML (heredoc); empty = none
  bool is_partial = false;     // PARTIAL=YES
  int partnum = 0;             // SPLIT_FILE: from 1
  int totalparts = 0;          // SPLIT_FILE: -1 = unknown
  size_t blocksize = 0;        // dd line `bs=%zuk`; 0 = none. vfs/holding 32768, tape the block size
  int64_t orig_size = 0;       // ORIGSIZE= (KiB), written when > 0
  Crc native_crc, client_crc, server_crc;

  bool is_dump() const {
    return type == FileType::kDumpFile || type == FileType::kContDumpFile || type == FileType::kSplitDumpFile;
  }
};

// The header text (no padding), after validation. Errors name the field: op "build Amanda header".
Status build_text(const Header& h, std::string* out, size_t max_size = kHeaderSize);
// build_text() NUL-padded to min_size bytes; an error if the text is longer than max_size
// ("won't fit in a single block").
Status build(const Header& h, std::string* out, size_t min_size = kHeaderSize, size_t max_size = kHeaderSize);

// What a header block looks like before parsing it: kEmpty (no bytes, or NUL first: a blank
// volume or file), kWeird (text that does not start with "AMANDA:" or "NETDUMP:"), or kUnknown
// (looks like an Amanda header; parse() decides).
FileType classify(const void* buf, size_t len);

// Parses a header block (text up to the first NUL or `len`). Errors (op "parse Amanda header")
// say what was expected where: `expected "lev" after the disk name, found "x"`.
Status parse(const void* buf, size_t len, Header* out);

// Amanda's quote_string(): quotes when the string is empty or has a space, control character,
// quote, backslash, colon or DEL; escapes \t \n \r \f \\ \" inside the quotes.
std::string quote_string(const std::string& s);
// Amanda's unquote_string(): drops quotes, undoes \t \n \r \f \\ \" and \ooo octal escapes.
std::string unquote_string(const std::string& s);
// Amanda's quote_heredoc(): "<<PREFIX\ntext\nPREFIX", with PREFIX1, PREFIX2... when a line of
// the text equals the delimiter.
std::string quote_heredoc(const std::string& text, const std::string& prefix);
// Amanda's sanitise_filename(): '/', '\\' and ':' become '_'.
std::string sanitise_filename(const std::string& s);

// The first line of a header block, for messages ("AMANDA: SPLIT_FILE ... program /bin/tar").
std::string first_line(const void* buf, size_t len);

}  // namespace xfa::amanda
