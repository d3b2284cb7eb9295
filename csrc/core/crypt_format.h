// crypt_format: the stream format of filter-encrypt / filter-decrypt, key loading and derivation,
// one reusable AES-256-GCM context, and the block writer both elements emit through.
//
// Stream (all integers little-endian; src/keys.ts and test/elements/filter-encrypt.test.ts hold an
// independent reader of the same layout):
//
//   stream header, H bytes
//     0   4  magic "XFAC"
//     4   1  version 1
//     5   1  key mode: 1 raw data key, 2 passphrase (scrypt), 3 data key wrapped with RSA-OAEP
//     6   2  H, the whole header including its MAC
//     8   4  chunk size C: the largest chunk plaintext in this stream
//     12 16  stream id, random per stream
//     28  8  key id = HMAC-SHA256(data key, "xfa-encrypt key id")[0..8)
//     36  …  mode 2: log2(N) u8, r u8, p u8, 0 u8, salt[16]    mode 3: W u16, wrapped key[W]
//     H-16 16 MAC = HMAC-SHA256(mac key, header[0..H-16))[0..16)
//
//   one data frame per slice
//     "XFAS", slice u64                                         frame header (12)
//     { n u32 (n <= C), ciphertext[n], tag[16] } per chunk      chunk k = 0, 1, ...
//     0xFFFFFFFF u32, chunk count u32, slice plaintext u64, tag[16]   slice trailer (32)
//
//   end frame: "XFAE", slice count u64, total plaintext u64, tag[16]   (36)
//
// Keys: enc key ‖ mac key = HKDF-SHA256(ikm = data key, salt = stream id, info = "xfa-encrypt v1"),
// 64 bytes. Every stream therefore has its own GCM key, and nonces are counters inside it:
// nonce = slice u64 ‖ index u32, where index is the chunk number, 0xFFFFFFFF for a slice trailer,
// and 0xFFFFFFFE for the end frame (whose "slice" is the slice count). No nonce repeats under one
// GCM key unless two streams draw the same 128-bit stream id; random per-chunk nonces under one
// long-lived key would instead run into GCM's 2^32-message limit across a key's backups.
// AAD = stream id ‖ frame header ‖ index u32 ‖ n u32 (chunk), stream id ‖ frame header ‖
// trailer[0..16) (trailer), stream id ‖ end frame[0..20) (end frame). So a chunk only
// authenticates in its own stream, slice and position and at its own length; the trailer pins the
// chunk count and length of the slice (a slice cut short at a chunk boundary fails), and the end
// frame pins the slice count (a stream cut short at a frame boundary fails).
//
// Chunks exist so that neither side ever holds a whole slice: the encrypter does not know a
// slice's length when it starts (upstream marks end it), and the decrypter releases plaintext only
// after its chunk's tag verified, holding at most one chunk.
//
// Threads: everything here runs on the owning element's data thread; nothing is shared.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "block_queue.h"
#include "xfa/buffer.h"
#include "xfa/element.h"
#include "xfa/status.h"

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace xfa {
namespace crypt {

constexpr uint8_t kVersion = 1;
enum class KeyMode : uint8_t { kRaw = 1, kPassphrase = 2, kWrapped = 3 };

constexpr size_t kKeyLen = 32;
constexpr size_t kIdLen = 16;      // stream id
constexpr size_t kKeyIdLen = 8;
constexpr size_t kTagLen = 16;
constexpr size_t kSaltLen = 16;
constexpr size_t kHeaderFixed = 36;  // up to the mode data
constexpr size_t kFrameHeader = 12;
constexpr size_t kTrailerLen = 32;
constexpr size_t kEndLen = 36;
constexpr uint32_t kTrailerMark = 0xFFFFFFFFu;
constexpr uint32_t kTrailerIndex = 0xFFFFFFFFu;
constexpr uint32_t kEndIndex = 0xFFFFFFFEu;
constexpr uint32_t kMaxChunks = 0xFFFFFFF0u;  // per slice; keeps chunk indices off the marks above
constexpr uint32_t kMaxChunkSize = 16u << 20;
constexpr size_t kMaxHeader = 0xFFFF;

// scrypt: N = 2^15, r = 8, p = 1 costs 32 MiB and about 0.1 s here (the interactive setting of
// the scrypt paper, raised once for today's hardware). Readers accept 2^10..2^20 (at most 1 GiB).
constexpr uint8_t kScryptLog2N = 15;
constexpr uint8_t kScryptR = 8;
constexpr uint8_t kScryptP = 1;

extern const uint8_t kStreamMagic[4];  // "XFAC"
extern const uint8_t kFrameMagic[4];   // "XFAS"
extern const uint8_t kEndMagic[4];     // "XFAE"

inline void put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void put64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline uint32_t get32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
inline uint64_t get64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
std::string hex(const uint8_t* p, size_t n);

// 32 bytes that are wiped when they go away.
struct Secret {
  uint8_t b[kKeyLen] = {};
  Secret() = default;
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  ~Secret();
};

// Where an element's key comes from: exactly one of key, key-file, passphrase, passphrase-file.
// Values are never put into messages or errors; only paths are.
class KeySource {
 public:
  // Factory time. Throws std::invalid_argument with a sentence that names properties only.
  static KeySource from_props(const Props& p, bool allow_wrapped);
  KeySource() = default;
  KeySource(KeySource&&) = default;
  ~KeySource();

  // setup(): reads key-file / passphrase-file (main thread, may block briefly).
  Status load();
  bool is_passphrase() const { return passphrase_; }
  // The raw data key (not a passphrase source), valid after load().
  const uint8_t* key() const { return reinterpret_cast<const uint8_t*>(secret_.data()); }
  const std::string& passphrase() const { return secret_; }
  const std::vector<uint8_t>& wrapped() const { return wrapped_; }
  const std::string& describe() const { return what_; }  // "key-file /k", "passphrase"

 private:
  bool passphrase_ = false;
  std::string file_;         // key-file or passphrase-file path, "" when given inline
  std::string secret_;       // 32 raw key bytes, or the passphrase
  std::vector<uint8_t> wrapped_;
  std::string what_;
};

// scrypt with the header's parameters; false when OpenSSL refuses them.
bool derive_passphrase(const std::string& pass, uint8_t log2n, uint8_t r, uint8_t p, const uint8_t salt[kSaltLen],
                       Secret* out);
void key_id(const uint8_t key[kKeyLen], uint8_t out[kKeyIdLen]);

struct StreamKeys {
  Secret enc;
  Secret mac;
};
void derive_stream_keys(const uint8_t key[kKeyLen], const uint8_t stream_id[kIdLen], StreamKeys* out);

struct Header {
  KeyMode mode = KeyMode::kRaw;
  uint32_t chunk_size = 0;
  uint8_t stream_id[kIdLen] = {};
  uint8_t key_id[kKeyIdLen] = {};
  uint8_t log2n = 0, r = 0, p = 0;
  uint8_t salt[kSaltLen] = {};
  std::vector<uint8_t> wrapped;
  size_t size() const;
};
// Writes h with its MAC: h.size() bytes.
void encode_header(const Header& h, const uint8_t mac_key[kKeyLen], uint8_t* out);
// The first 8 bytes: magic, version, mode, length. "" or the reason it is not a header.
std::string parse_header_prefix(const uint8_t* p, size_t* length);
// The whole header (MAC not checked). "" or the reason.
std::string parse_header(const uint8_t* p, size_t len, Header* h);
bool header_mac_ok(const uint8_t* p, size_t len, const uint8_t mac_key[kKeyLen]);

// One AES-256-GCM context for the life of an element: the key schedule is computed once per
// stream, then every chunk only sets a new nonce.
class Gcm {
 public:
  Gcm();
  ~Gcm();
  Gcm(const Gcm&) = delete;
  Gcm& operator=(const Gcm&) = delete;
  bool set_key(const uint8_t key[kKeyLen], bool encrypt);
  bool begin(uint64_t slice, uint32_t index, const uint8_t* aad, size_t aad_len);
  bool update(const uint8_t* in, uint8_t* out, size_t n);
  bool finish_encrypt(uint8_t tag[kTagLen]);
  bool finish_decrypt(const uint8_t tag[kTagLen]);  // false: the tag does not match

 private:
  EVP_CIPHER_CTX* ctx_;
  bool encrypt_ = true;
};

// Writes a byte stream into pooled blocks of the element's block size. A full block is handed
// on only when more room is needed, so the block that ends a slice can still be marked; blocks
// become visible to pop() only at commit() (the decrypter commits after a chunk's tag verified).
class BlockWriter {
 public:
  explicit BlockWriter(Element* e) : e_(e) { ready_.reserve(16); }
  void set_slice(uint64_t s) { slice_ = s; }
  uint8_t* room(size_t* n);
  void wrote(size_t n) {
    used_ += n;
    total_ += n;
  }
  void put(const uint8_t* p, size_t n);
  void end_slice();  // marks the current block as its slice's last and hands it on
  void commit() { limit_ = ready_.size(); }
  BlockRef pop();
  uint64_t total() const { return total_; }
  // Drops every block still held (close(): after a failure some were never handed on).
  void clear() {
    cur_.reset();
    ready_.clear();
    head_ = limit_ = 0;
  }

 private:
  void hand_on();
  Element* e_;
  BlockRef cur_;
  size_t used_ = 0;
  uint64_t slice_ = 0;
  uint64_t total_ = 0;
  std::vector<BlockRef> ready_;
  size_t head_ = 0;
  size_t limit_ = 0;
};

// The data path of filter-encrypt and filter-decrypt. The transform (feed/finish) runs on one
// thread at a time. With prefetch (the default) the input arrives through a short queue, so that
// reading it (a file's read(), the upstream's own work) runs on another core than the cipher:
//   PULL → PULL  run(0) pulls upstream into the queue; downstream's pull() transforms.
//   PUSH → PUSH  upstream's push() queues; run(0) transforms and pushes.
//   PUSH → PULL  push() queues; downstream's pull() transforms (no thread of its own).
//   PULL → PUSH  run(0) pulls into the queue; run(1) transforms and pushes.
// Without prefetch PULL → PULL and PUSH → PUSH transform on the caller's thread.
// EOF: finish() runs once at the upstream's EOF unless the transfer was cancelled or failed; EOF is
// then passed on. Cancel: unblock() cancels the queue, so every wait ends; pull() returns EOF,
// push() drops its block, run() returns (a PUSH output still gets its EOF).
class CryptFilter : public Element {
 public:
  CryptFilter(std::string kind, bool prefetch) : Element(std::move(kind)), out_(this), prefetch_(prefetch), in_q_(kQueueBlocks) {}
  static MechPairs pairs(bool prefetch);
  MechPairs mech_pairs() const override { return pairs(prefetch_); }
  BlockRef pull() override;
  void push(BlockRef b) override;
  void run(int thread_index) override;
  void unblock() override { in_q_.cancel(); }
  void close() override;

 protected:
  // The transform thread: one input block, and the upstream's EOF. Output goes into out_ and
  // leaves as it is committed. Report bad input with error().
  virtual void feed(const Block& b) = 0;
  virtual void finish() = 0;
  void error(const std::string& op, const std::string& detail);
  bool failed() const { return failed_; }
  BlockWriter out_;

 private:
  static constexpr size_t kQueueBlocks = 4;
  void consume(BlockRef b);
  void drain_push();
  void prefetch_loop();
  const bool prefetch_;
  BlockQueue in_q_;
  bool eof_ = false;
  bool failed_ = false;
};

}  // namespace crypt
}  // namespace xfa
