#include "crypt_format.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace xfa {
namespace crypt {

const uint8_t kStreamMagic[4] = {'X', 'F', 'A', 'C'};
const uint8_t kFrameMagic[4] = {'X', 'F', 'A', 'S'};
const uint8_t kEndMagic[4] = {'X', 'F', 'A', 'E'};

namespace {

const char kKeyIdLabel[] = "xfa-encrypt key id";
const char kHkdfInfo[] = "xfa-encrypt v1";
constexpr uint64_t kScryptMaxMem = (1ull << 30) + (1ull << 26);

void wipe(std::string* s) {
  if (!s->empty()) OPENSSL_cleanse(&(*s)[0], s->size());
  s->clear();
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// 64 hex digits -> 32 bytes in *out; false for anything else.
bool decode_hex_key(const std::string& in, std::string* out) {
  if (in.size() != 2 * kKeyLen) return false;
  std::string k(kKeyLen, '\0');
  for (size_t i = 0; i < kKeyLen; ++i) {
    const int hi = hex_digit(in[2 * i]), lo = hex_digit(in[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      wipe(&k);
      return false;
    }
    k[i] = static_cast<char>(hi * 16 + lo);
  }
  *out = std::move(k);
  return true;
}

bool decode_base64(const std::string& in, std::vector<uint8_t>* out) {
  static const std::string abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (char c : in) {
    if (c == '=') {
      ++pad;
      continue;
    }
    const size_t v = abc.find(c);
    if (v == std::string::npos || pad != 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<uint8_t>(acc >> bits));
    }
  }
  return pad <= 2 && !out->empty();
}

// Reads a small file whole; errors name the property and path, never the content.
Status read_small_file(const std::string& what, const std::string& path, size_t max, std::string* out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return sys_error("open " + what + " " + path, errno);
  std::string buf(max + 1, '\0');
  size_t got = 0;
  while (got < buf.size()) {
    const ssize_t n = ::read(fd, &buf[got], buf.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      wipe(&buf);
      return sys_error("read " + what + " " + path, e);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  if (got > max) {
    wipe(&buf);
    return plain_error(what + " " + path, "file is too large (more than " + std::to_string(max) + " bytes)");
  }
  buf.resize(got);
  *out = std::move(buf);
  return ok();
}

void hmac256(const uint8_t* key, size_t key_len, const uint8_t* data, size_t len, uint8_t out[32]) {
  unsigned int n = 32;
  HMAC(EVP_sha256(), key, static_cast<int>(key_len), data, len, out, &n);
}

}  // namespace

std::string hex(const uint8_t* p, size_t n) {
  static const char d[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += d[p[i] >> 4];
    s += d[p[i] & 15];
  }
  return s;
}

Secret::~Secret() { OPENSSL_cleanse(b, sizeof b); }

KeySource::~KeySource() { wipe(&secret_); }

KeySource KeySource::from_props(const Props& p, bool allow_wrapped) {
  auto given = [&](const char* k) { return p.has(k) && !p.get_string(k, "").empty(); };
  const int n = given("key") + given("key-file") + given("passphrase") + given("passphrase-file");
  if (n != 1)
    throw std::invalid_argument("give exactly one of the properties key, key-file, passphrase, passphrase-file");
  KeySource s;
  if (given("key")) {
    if (!decode_hex_key(p.get_string("key", ""), &s.secret_))
      throw std::invalid_argument("property \"key\" must be 64 hexadecimal digits (a 256-bit key)");
    s.what_ = "key";
  } else if (given("key-file")) {
    s.file_ = p.get_string("key-file", "");
    s.what_ = "key-file " + s.file_;
  } else {
    s.passphrase_ = true;
    s.file_ = p.get_string("passphrase-file", "");
    s.secret_ = p.get_string("passphrase", "");
    s.what_ = s.file_.empty() ? "passphrase" : "passphrase-file " + s.file_;
  }
  if (given("wrapped-key")) {
    if (!allow_wrapped) throw std::invalid_argument("unknown property \"wrapped-key\"");
    if (s.passphrase_) throw std::invalid_argument("property \"wrapped-key\" goes with key or key-file, not a passphrase");
    if (!decode_base64(p.get_string("wrapped-key", ""), &s.wrapped_) || s.wrapped_.size() > 4096)
      throw std::invalid_argument("property \"wrapped-key\" must be base64 of at most 4096 bytes");
  }
  return s;
}

Status KeySource::load() {
  if (file_.empty()) return ok();
  if (passphrase_) {
    if (Status st = read_small_file("passphrase-file", file_, 65536, &secret_)) return st;
    if (!secret_.empty() && secret_.back() == '\n') secret_.pop_back();
    if (!secret_.empty() && secret_.back() == '\r') secret_.pop_back();
    if (secret_.empty()) return plain_error("passphrase-file " + file_, "file is empty");
    return ok();
  }
  std::string raw;
  if (Status st = read_small_file("key-file", file_, 4096, &raw)) return st;
  if (raw.size() == kKeyLen) {
    secret_ = std::move(raw);
    return ok();
  }
  while (!raw.empty() && (raw.back() == '\n' || raw.back() == '\r' || raw.back() == ' ')) raw.pop_back();
  const bool good = decode_hex_key(raw, &secret_);
  const size_t size = raw.size();
  wipe(&raw);
  if (good) return ok();
  return plain_error("key-file " + file_, "expected 32 raw bytes or 64 hexadecimal digits, found " +
                                              std::to_string(size) + " bytes");
}

bool derive_passphrase(const std::string& pass, uint8_t log2n, uint8_t r, uint8_t p, const uint8_t salt[kSaltLen],
                       Secret* out) {
  return EVP_PBE_scrypt(pass.data(), pass.size(), salt, kSaltLen, uint64_t{1} << log2n, r, p, kScryptMaxMem, out->b,
                        kKeyLen) == 1;
}

void key_id(const uint8_t key[kKeyLen], uint8_t out[kKeyIdLen]) {
  uint8_t m[32];
  hmac256(key, kKeyLen, reinterpret_cast<const uint8_t*>(kKeyIdLabel), sizeof kKeyIdLabel - 1, m);
  std::memcpy(out, m, kKeyIdLen);
}

// HKDF-SHA256 (RFC 5869) for 64 bytes: two HMAC blocks.
void derive_stream_keys(const uint8_t key[kKeyLen], const uint8_t stream_id[kIdLen], StreamKeys* out) {
  Secret prk;
  hmac256(stream_id, kIdLen, key, kKeyLen, prk.b);
  const size_t info = sizeof kHkdfInfo - 1;
  uint8_t buf[32 + sizeof kHkdfInfo];
  std::memcpy(buf, kHkdfInfo, info);
  buf[info] = 1;
  hmac256(prk.b, kKeyLen, buf, info + 1, out->enc.b);
  std::memcpy(buf, out->enc.b, 32);
  std::memcpy(buf + 32, kHkdfInfo, info);
  buf[32 + info] = 2;
  hmac256(prk.b, kKeyLen, buf, 32 + info + 1, out->mac.b);
  OPENSSL_cleanse(buf, sizeof buf);
}

size_t Header::size() const {
  size_t n = kHeaderFixed + kTagLen;
  if (mode == KeyMode::kPassphrase) n += 4 + kSaltLen;
  if (mode == KeyMode::kWrapped) n += 2 + wrapped.size();
  return n;
}

void encode_header(const Header& h, const uint8_t mac_key[kKeyLen], uint8_t* out) {
  const size_t n = h.size();
  std::memcpy(out, kStreamMagic, 4);
  out[4] = kVersion;
  out[5] = static_cast<uint8_t>(h.mode);
  out[6] = static_cast<uint8_t>(n);
  out[7] = static_cast<uint8_t>(n >> 8);
  put32(out + 8, h.chunk_size);
  std::memcpy(out + 12, h.stream_id, kIdLen);
  std::memcpy(out + 28, h.key_id, kKeyIdLen);
  uint8_t* q = out + kHeaderFixed;
  if (h.mode == KeyMode::kPassphrase) {
    *q++ = h.log2n;
    *q++ = h.r;
    *q++ = h.p;
    *q++ = 0;
    std::memcpy(q, h.salt, kSaltLen);
    q += kSaltLen;
  } else if (h.mode == KeyMode::kWrapped) {
    q[0] = static_cast<uint8_t>(h.wrapped.size());
    q[1] = static_cast<uint8_t>(h.wrapped.size() >> 8);
    std::memcpy(q + 2, h.wrapped.data(), h.wrapped.size());
    q += 2 + h.wrapped.size();
  }
  uint8_t m[32];
  hmac256(mac_key, kKeyLen, out, n - kTagLen, m);
  std::memcpy(q, m, kTagLen);
}

std::string parse_header_prefix(const uint8_t* p, size_t* length) {
  if (std::memcmp(p, kStreamMagic, 4) != 0) return "not an xfa encrypted stream (bad magic)";
  if (p[4] != kVersion)
    return "unsupported format version " + std::to_string(p[4]) + " (this xfa reads version " +
           std::to_string(kVersion) + ")";
  if (p[5] < 1 || p[5] > 3) return "unknown key mode " + std::to_string(p[5]) + " (corrupted header)";
  *length = p[6] | (size_t{p[7]} << 8);
  if (*length < kHeaderFixed + kTagLen) return "header length " + std::to_string(*length) + " is too short (corrupted header)";
  return "";
}

std::string parse_header(const uint8_t* p, size_t len, Header* h) {
  h->mode = static_cast<KeyMode>(p[5]);
  h->chunk_size = get32(p + 8);
  std::memcpy(h->stream_id, p + 12, kIdLen);
  std::memcpy(h->key_id, p + 28, kKeyIdLen);
  if (h->chunk_size == 0 || h->chunk_size > kMaxChunkSize)
    return "chunk size " + std::to_string(h->chunk_size) + " out of range (corrupted header)";
  const uint8_t* q = p + kHeaderFixed;
  const size_t body = len - kHeaderFixed - kTagLen;
  if (h->mode == KeyMode::kPassphrase) {
    if (body != 4 + kSaltLen) return "header length does not match its key mode (corrupted header)";
    h->log2n = q[0];
    h->r = q[1];
    h->p = q[2];
    std::memcpy(h->salt, q + 4, kSaltLen);
    const uint64_t mem = 128ull * h->r * (uint64_t{1} << (h->log2n & 63));
    if (h->log2n < 10 || h->log2n > 20 || h->r == 0 || h->p == 0 || h->p > 16 || mem > (1ull << 30))
      return "unsupported scrypt parameters (log2 N " + std::to_string(h->log2n) + ", r " + std::to_string(h->r) +
             ", p " + std::to_string(h->p) + ")";
  } else if (h->mode == KeyMode::kWrapped) {
    if (body < 2) return "header length does not match its key mode (corrupted header)";
    const size_t w = q[0] | (size_t{q[1]} << 8);
    if (body != 2 + w || w == 0) return "header length does not match its key mode (corrupted header)";
    h->wrapped.assign(q + 2, q + 2 + w);
  } else if (body != 0) {
    return "header length does not match its key mode (corrupted header)";
  }
  return "";
}

bool header_mac_ok(const uint8_t* p, size_t len, const uint8_t mac_key[kKeyLen]) {
  uint8_t m[32];
  hmac256(mac_key, kKeyLen, p, len - kTagLen, m);
  return CRYPTO_memcmp(m, p + len - kTagLen, kTagLen) == 0;
}

Gcm::Gcm() : ctx_(EVP_CIPHER_CTX_new()) {}
Gcm::~Gcm() { EVP_CIPHER_CTX_free(ctx_); }

bool Gcm::set_key(const uint8_t key[kKeyLen], bool encrypt) {
  encrypt_ = encrypt;
  if (ctx_ == nullptr) return false;
  return EVP_CipherInit_ex(ctx_, EVP_aes_256_gcm(), nullptr, key, nullptr, encrypt ? 1 : 0) == 1;
}

bool Gcm::begin(uint64_t slice, uint32_t index, const uint8_t* aad, size_t aad_len) {
  uint8_t iv[12];
  put64(iv, slice);
  put32(iv + 8, index);
  int n = 0;
  return EVP_CipherInit_ex(ctx_, nullptr, nullptr, nullptr, iv, -1) == 1 &&
         EVP_CipherUpdate(ctx_, nullptr, &n, aad, static_cast<int>(aad_len)) == 1;
}

bool Gcm::update(const uint8_t* in, uint8_t* out, size_t n) {
  int got = 0;
  return EVP_CipherUpdate(ctx_, out, &got, in, static_cast<int>(n)) == 1 && static_cast<size_t>(got) == n;
}

bool Gcm::finish_encrypt(uint8_t tag[kTagLen]) {
  uint8_t none[16];
  int n = 0;
  return EVP_CipherFinal_ex(ctx_, none, &n) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_GET_TAG, kTagLen, tag) == 1;
}

bool Gcm::finish_decrypt(const uint8_t tag[kTagLen]) {
  uint8_t none[16];
  int n = 0;
  return EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_SET_TAG, kTagLen, const_cast<uint8_t*>(tag)) == 1 &&
         EVP_CipherFinal_ex(ctx_, none, &n) == 1;
}

uint8_t* BlockWriter::room(size_t* n) {
  if (cur_ && used_ == cur_->capacity()) hand_on();
  if (!cur_) {
    cur_ = e_->alloc_block();
    used_ = 0;
  }
  *n = cur_->capacity() - used_;
  return cur_->data() + used_;
}

void BlockWriter::put(const uint8_t* p, size_t n) {
  while (n > 0) {
    size_t avail;
    uint8_t* d = room(&avail);
    const size_t k = n < avail ? n : avail;
    std::memcpy(d, p, k);
    wrote(k);
    p += k;
    n -= k;
  }
}

void BlockWriter::hand_on() {
  cur_->set_size(used_);
  cur_->set_slice(slice_, false);
  ready_.push_back(std::move(cur_));
  cur_.reset();
  used_ = 0;
}

void BlockWriter::end_slice() {
  if (!cur_ || used_ == 0) {  // nothing written since the last hand-on: no block to mark
    cur_.reset();
    return;
  }
  hand_on();
  ready_.back()->set_slice(slice_, true);
}

BlockRef BlockWriter::pop() {
  if (head_ >= limit_) return {};
  BlockRef b = std::move(ready_[head_++]);
  if (head_ == ready_.size()) {
    ready_.clear();
    head_ = limit_ = 0;
  }
  return b;
}

MechPairs CryptFilter::pairs(bool prefetch) {
  if (!prefetch) return {{Mech::kPullBuffer, Mech::kPullBuffer, 1, 0, 0}, {Mech::kPushBuffer, Mech::kPushBuffer, 1, 0, 0}};
  return {{Mech::kPushBuffer, Mech::kPullBuffer, 1, 0, 0},
          {Mech::kPullBuffer, Mech::kPullBuffer, 1, 0, 1},
          {Mech::kPushBuffer, Mech::kPushBuffer, 1, 0, 1},
          {Mech::kPullBuffer, Mech::kPushBuffer, 1, 0, 2}};
}

void CryptFilter::error(const std::string& op, const std::string& detail) {
  failed_ = true;
  fail(plain_error(op, detail));
}

void CryptFilter::consume(BlockRef b) {
  if (cancelled() || failed_) return;
  if (b) {
    count_in(b->size());
    feed(*b);
    return;
  }
  eof_ = true;
  finish();
}

void CryptFilter::drain_push() {
  while (!cancelled() && !failed_) {
    BlockRef o = out_.pop();
    if (!o) return;
    count_out(o->size());
    downstream()->push(std::move(o));
  }
}

BlockRef CryptFilter::pull() {
  for (;;) {
    if (cancelled() || failed_) return {};
    if (BlockRef b = out_.pop()) {
      count_out(b->size());
      return b;
    }
    if (eof_) return {};
    consume(prefetch_ ? in_q_.take() : upstream()->pull());
  }
}

void CryptFilter::push(BlockRef b) {
  if (prefetch_) {
    if (!b) in_q_.close();
    else if (!cancelled()) in_q_.put(std::move(b));
    return;
  }
  const bool end = !b;
  if (!end && (cancelled() || failed_)) return;
  consume(std::move(b));
  drain_push();
  if (end) downstream()->push({});
}

void CryptFilter::run(int thread_index) {
  if (input_mech() == Mech::kPullBuffer && thread_index == 0) return prefetch_loop();
  if (output_mech() != Mech::kPushBuffer) return;
  while (!cancelled() && !failed_ && !eof_) {
    consume(in_q_.take());
    drain_push();
  }
  downstream()->push({});
}

void CryptFilter::prefetch_loop() {
  for (;;) {
    BlockRef b = upstream()->pull();
    if (!b) return in_q_.close();
    if (!in_q_.put(std::move(b))) return;
  }
}

void CryptFilter::close() {
  out_.clear();
  in_q_.cancel();  // drops blocks still queued after a cancel
}

}  // namespace crypt
}  // namespace xfa
