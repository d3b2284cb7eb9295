// Shared by source-test and dest-test: the mechanism named by their `mech` property.
#pragma once

#include <stdexcept>
#include <string>

#include "xfa/mech.h"

namespace xfa {

inline Mech parse_test_mech(const std::string& s) {
  if (s == "READFD") return Mech::kReadFd;
  if (s == "WRITEFD") return Mech::kWriteFd;
  if (s == "PULL_BUFFER") return Mech::kPullBuffer;
  if (s == "PUSH_BUFFER") return Mech::kPushBuffer;
  throw std::invalid_argument("property \"mech\": expected READFD, WRITEFD, PULL_BUFFER or PUSH_BUFFER, got \"" + s + "\"");
}

}  // namespace xfa
