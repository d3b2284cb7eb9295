// filter-encrypt: AES-256-GCM, one authenticated frame per slice (the format is described in
// csrc/core/crypt_format.h), so that a restore can decrypt any slice on its own.
//
// Threads (crypt::CryptFilter): the transform runs on one thread at a time, the downstream's
// pull(), the upstream's push() or run(); with prefetch the input is read on another. The key
// derivation (scrypt for a passphrase) runs on the transform thread at the first block or EOF,
// not on the JS thread.
// EOF: the open slice is ended, the end frame is written, then EOF is passed on.
// Cancel: see CryptFilter; the transform itself never waits.
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "crypt_format.h"
#include "xfa/element.h"
#include "xfa/slice.h"

namespace xfa {
namespace {

using namespace crypt;

class FilterEncrypt final : public CryptFilter {
 public:
  explicit FilterEncrypt(const Props& p)
      : CryptFilter("filter-encrypt", p.get_bool("prefetch", true)), keys_(KeySource::from_props(p, true)),
        cutter_(static_cast<uint64_t>(p.get_int("slice-size", 0))),
        chunk_(static_cast<uint32_t>(p.get_int("chunk-size", 256 << 10))),
        log2n_(static_cast<uint8_t>(p.get_int("kdf-cost", kScryptLog2N))) {
    if (chunk_ < 16 || chunk_ > kMaxChunkSize) throw std::invalid_argument("property \"chunk-size\" must be 16 bytes to 16 MiB");
  }

  Status setup() override { return keys_.load(); }

 private:
  void feed(const Block& b) override {
    if (!started_ && !start_stream()) return;
    cutter_.cut(b, [&](const SliceCutter::Piece& p) {
      if (!failed()) piece(p);
    });
    out_.commit();
  }

  // EOF: end the open slice (EOF ends it), then the end frame pins the slice count.
  void finish() override {
    if (!started_ && !start_stream()) return;
    if (in_frame_ && !end_frame()) return;
    cutter_.end_at_eof();
    uint8_t end[kEndLen];
    std::memcpy(end, kEndMagic, 4);
    put64(end + 4, slices_);
    put64(end + 12, in_total_);
    std::memcpy(aad_ + kIdLen, end, 20);
    if (!gcm_.begin(slices_, kEndIndex, aad_, kIdLen + 20) || !gcm_.finish_encrypt(end + 20))
      return error("encrypt end frame", "OpenSSL AES-256-GCM failed");
    out_.put(end, kEndLen);
    out_.end_slice();
    out_.commit();
  }

  // Resolves the data key (scrypt for a passphrase), draws the stream id and writes the header.
  bool start_stream() {
    started_ = true;
    Header h;
    h.chunk_size = chunk_;
    Secret derived;
    const uint8_t* key = keys_.key();
    if (RAND_bytes(h.stream_id, kIdLen) != 1 || RAND_bytes(h.salt, kSaltLen) != 1) {
      error("RAND_bytes", "no random bytes available for the stream id");
      return false;
    }
    if (keys_.is_passphrase()) {
      h.mode = KeyMode::kPassphrase;
      h.log2n = log2n_;
      h.r = kScryptR;
      h.p = kScryptP;
      if (!derive_passphrase(keys_.passphrase(), h.log2n, h.r, h.p, h.salt, &derived)) {
        error("derive key", "scrypt failed (out of memory?)");
        return false;
      }
      key = derived.b;
    } else if (!keys_.wrapped().empty()) {
      h.mode = KeyMode::kWrapped;
      h.wrapped = keys_.wrapped();
    }
    key_id(key, h.key_id);
    StreamKeys sk;
    derive_stream_keys(key, h.stream_id, &sk);
    if (!gcm_.set_key(sk.enc.b, true)) {
      error("encrypt", "OpenSSL AES-256-GCM is not available");
      return false;
    }
    std::memcpy(aad_, h.stream_id, kIdLen);
    std::vector<uint8_t> buf(h.size());
    encode_header(h, sk.mac.b, buf.data());
    out_.set_slice(cutter_.slice());
    out_.put(buf.data(), buf.size());
    return true;
  }

  void piece(const SliceCutter::Piece& p) {
    if (!in_frame_) begin_frame(cutter_.slice());
    for (size_t off = 0; off < p.size && !failed();) {
      const size_t n = std::min<size_t>(p.size - off, chunk_);
      encrypt_chunk(p.data + off, n);
      off += n;
    }
    if (p.end && !failed()) end_frame();
  }

  void begin_frame(uint64_t s) {
    if (pending_end_) out_.end_slice();  // the previous slice's last block, held back until now
    pending_end_ = false;
    out_.set_slice(s);
    slice_ = s;
    frame_out_ = out_.total();
    frame_in_ = in_total_;
    chunks_ = 0;
    frame_plain_ = 0;
    in_frame_ = true;
    uint8_t* fh = aad_ + kIdLen;
    std::memcpy(fh, kFrameMagic, 4);
    put64(fh + 4, s);
    out_.put(fh, kFrameHeader);
  }

  void encrypt_chunk(const uint8_t* p, size_t n) {
    if (chunks_ >= kMaxChunks) return error("encrypt slice " + std::to_string(slice_), "slice has too many chunks");
    uint8_t* tail = aad_ + kIdLen + kFrameHeader;
    put32(tail, chunks_);
    put32(tail + 4, static_cast<uint32_t>(n));
    out_.put(tail + 4, 4);
    if (!gcm_.begin(slice_, chunks_, aad_, kIdLen + kFrameHeader + 8))
      return error("encrypt slice " + std::to_string(slice_), "OpenSSL AES-256-GCM failed");
    while (n > 0) {
      size_t room;
      uint8_t* d = out_.room(&room);
      const size_t k = std::min(n, room);
      if (!gcm_.update(p, d, k)) return error("encrypt slice " + std::to_string(slice_), "OpenSSL AES-256-GCM failed");
      out_.wrote(k);
      p += k;
      n -= k;
      frame_plain_ += k;
      in_total_ += k;
    }
    uint8_t tag[kTagLen];
    if (!gcm_.finish_encrypt(tag)) return error("encrypt slice " + std::to_string(slice_), "OpenSSL AES-256-GCM failed");
    out_.put(tag, kTagLen);
    ++chunks_;
  }

  // The slice trailer authenticates the chunk count and length, then the slice is reported.
  bool end_frame() {
    uint8_t* t = aad_ + kIdLen + kFrameHeader;
    put32(t, kTrailerMark);
    put32(t + 4, chunks_);
    put64(t + 8, frame_plain_);
    uint8_t tag[kTagLen];
    if (!gcm_.begin(slice_, kTrailerIndex, aad_, kIdLen + kFrameHeader + 16) || !gcm_.finish_encrypt(tag)) {
      error("encrypt slice " + std::to_string(slice_), "OpenSSL AES-256-GCM failed");
      return false;
    }
    out_.put(t, 16);
    out_.put(tag, kTagLen);
    post_slice(slice_, frame_in_, frame_plain_, frame_out_, out_.total() - frame_out_);
    ++slices_;
    in_frame_ = false;
    pending_end_ = true;
    return true;
  }

  KeySource keys_;
  SliceCutter cutter_;
  const uint32_t chunk_;
  const uint8_t log2n_;
  Gcm gcm_;
  uint8_t aad_[kIdLen + kFrameHeader + 16] = {};  // stream id ‖ frame header ‖ chunk/trailer fields
  bool started_ = false;
  bool in_frame_ = false, pending_end_ = false;
  uint64_t slice_ = 0, slices_ = 0;
  uint32_t chunks_ = 0;
  uint64_t frame_plain_ = 0, frame_in_ = 0, frame_out_ = 0, in_total_ = 0;
};

const bool registered = register_element({
    "filter-encrypt",
    "filter",
    "AES-256-GCM, one authenticated frame per slice (seekable)",
    "Encrypts each slice into its own frame of authenticated chunks, after a stream header that "
    "holds a random stream id, the key id and the key's metadata (scrypt salt, or the RSA-wrapped "
    "data key), and ends the stream with an end frame, so that a flipped bit, a truncated, missing "
    "or reordered frame, or a wrong key is an error in filter-decrypt, never wrong output. The "
    "key is one of: key-file (32 raw bytes or 64 hex digits), passphrase or passphrase-file "
    "(scrypt N=2^kdf-cost, r=8, p=1), or key + wrapped-key from encryptProps() in src/keys.ts "
    "(a fresh data key wrapped with an RSA public key: the backup host needs no private key). "
    "slice-size=0 follows upstream's slice marks; each slice posts a `slice` message. "
    "Format: csrc/core/crypt_format.h.",
    {{"key-file", PropType::kString, "", 0, -1, false, "file with the 256-bit key: 32 raw bytes or 64 hex digits"},
     {"key", PropType::kString, "", 0, -1, false, "the 256-bit data key as 64 hex digits (from encryptProps())"},
     {"wrapped-key", PropType::kString, "", 0, -1, false, "base64 of the RSA-OAEP-wrapped data key, stored in the header"},
     {"passphrase", PropType::kString, "", 0, -1, false, "passphrase; the key is derived with scrypt"},
     {"passphrase-file", PropType::kString, "", 0, -1, false, "file holding the passphrase (one trailing newline is ignored)"},
     {"kdf-cost", PropType::kInt, "15", 10, 20, false, "scrypt cost log2(N) for a passphrase (15 = 32 MiB, ~0.1 s)"},
     {"slice-size", PropType::kSize, "0", 0, 9.0e18, false, "cut a slice every N input bytes; 0 = follow upstream's marks"},
     {"chunk-size", PropType::kSize, "256KiB", 16, 16777216.0, false, "largest authenticated chunk inside a frame"},
     {"prefetch", PropType::kBool, "true", 0, -1, false, "read the input on another thread than the cipher (uses both cores)"}},
    CryptFilter::pairs(true),
    "source-file path=/etc/hosts ! filter-encrypt key-file=/etc/xfa/backup.key slice-size=4MiB ! dest-file path=/tmp/hosts.xfac",
    [](const Props& p) { return std::make_unique<FilterEncrypt>(p); },
});

}  // namespace
}  // namespace xfa
