#include "xfa/status.h"

#include <cerrno>
#include <cstring>

namespace xfa {

const char* errno_name(int err) {
  switch (err) {
#define X(e) \
  case e:    \
    return #e;
    X(EPERM) X(ENOENT) X(ESRCH) X(EINTR) X(EIO) X(ENXIO) X(E2BIG) X(ENOEXEC) X(EBADF) X(ECHILD)
    X(EAGAIN) X(ENOMEM) X(EACCES) X(EFAULT) X(EBUSY) X(EEXIST) X(EXDEV) X(ENODEV) X(ENOTDIR)
    X(EISDIR) X(EINVAL) X(ENFILE) X(EMFILE) X(ETXTBSY) X(EFBIG) X(ENOSPC) X(ESPIPE) X(EROFS)
    X(EMLINK) X(EPIPE) X(ERANGE) X(ENAMETOOLONG) X(ENOSYS) X(ENOTEMPTY) X(ELOOP) X(ENOTSUP)
    X(ECONNRESET) X(ECONNREFUSED) X(ETIMEDOUT) X(EHOSTUNREACH) X(ENOTCONN) X(EDQUOT) X(ECANCELED)
    X(EBADMSG) X(EPROTO) X(EOVERFLOW) X(EDEADLK)
#undef X
    default:
      break;
  }
  return nullptr;
}

std::string Error::to_string() const {
  std::string s = element.empty() ? std::string("xfa") : element;
  if (!op.empty()) s += ": " + op;
  if (err != 0) {
    const char* n = errno_name(err);
    s += ": ";
    s += n ? n : ("E" + std::to_string(err)).c_str();
    s += ": ";
    s += std::strerror(err);
    // strerror capitalises ("No space left on device"); lower-case the first letter like the
    // rest of the sentence.
    const size_t p = s.size() - std::strlen(std::strerror(err));
    if (p < s.size() && s[p] >= 'A' && s[p] <= 'Z') s[p] = static_cast<char>(s[p] - 'A' + 'a');
  }
  if (!detail.empty()) s += ": " + detail;
  return s;
}

Error sys_error(std::string op, int err) {
  Error e;
  e.op = std::move(op);
  e.err = err;
  return e;
}

Error plain_error(std::string op, std::string detail) {
  Error e;
  e.op = std::move(op);
  e.detail = std::move(detail);
  return e;
}

}  // namespace xfa
