// Errors are values: the element instance, the operation, errno and a sentence.
//   dest-file#3: write /srv/x: ENOSPC: no space left on device
// I/O code never asserts or throws across the data path; it returns an Error and the element
// reports it with Element::fail(), which emits an `error` message and cancels the transfer.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace xfa {

struct Error {
  std::string element;  // "dest-file#3"; filled in by Element::fail() when empty
  std::string op;       // "write /srv/x", "exec gzip", "link"
  int err = 0;          // errno, 0 when the cause is not a system call
  std::string detail;   // extra sentence, e.g. "exited with status 1"

  // "dest-file#3: write /srv/x: ENOSPC: no space left on device"
  std::string to_string() const;
};

// errno -> "ENOSPC" (symbolic name, or "E<number>" if unknown).
const char* errno_name(int err);

Error sys_error(std::string op, int err);
Error plain_error(std::string op, std::string detail);

// Status: empty optional = success.
using Status = std::optional<Error>;
inline Status ok() { return std::nullopt; }

}  // namespace xfa
