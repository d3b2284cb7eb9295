// filter-decrypt: the inverse of filter-encrypt (format: csrc/core/crypt_format.h). Plaintext is
// released only after its chunk's tag verified; every defect (wrong key, flipped bit, truncated,
// missing, reordered or foreign frame) fails the transfer with an error naming the slice.
//
// With slices=… the input is the stream header followed by just those frames (what a selective
// restore reads with source-ranges), and no end frame is required.
//
// Threads (crypt::CryptFilter): the transform runs on one thread at a time, the downstream's
// pull(), the upstream's push() or run(); with prefetch the input is read on another. scrypt
// (passphrase streams) runs on the transform thread when the header arrives.
// EOF: checks the stream ended where it may end, then passes EOF on.
// Cancel: see CryptFilter; the transform itself never waits.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "crypt_format.h"
#include "xfa/element.h"

namespace xfa {
namespace {

using namespace crypt;

// "3,7-9" -> [(3,3),(7,9)], strictly increasing.
std::vector<std::pair<uint64_t, uint64_t>> parse_slices(const std::vector<std::string>& items) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (const std::string& it : items) {
    const size_t dash = it.find('-');
    try {
      size_t used = 0;
      const std::string a = it.substr(0, dash), b = dash == std::string::npos ? a : it.substr(dash + 1);
      if (a.empty() || b.empty() || a[0] == '+' || b[0] == '+' || a[0] == '-' || b[0] == '-') throw std::invalid_argument("");
      const uint64_t lo = std::stoull(a, &used);
      if (used != a.size()) throw std::invalid_argument("");
      const uint64_t hi = std::stoull(b, &used);
      if (used != b.size() || hi < lo || (!out.empty() && lo <= out.back().second)) throw std::invalid_argument("");
      out.emplace_back(lo, hi);
    } catch (const std::exception&) {
      throw std::invalid_argument("property \"slices\" must be increasing slice numbers or ranges, like 3,7-9 (got \"" +
                                  it + "\")");
    }
  }
  return out;
}

class FilterDecrypt final : public CryptFilter {
 public:
  explicit FilterDecrypt(const Props& p)
      : CryptFilter("filter-decrypt", p.get_bool("prefetch", true)), keys_(KeySource::from_props(p, false)),
        ranges_(parse_slices(p.get_strings("slices"))), partial_(!ranges_.empty()) {
    acc_.resize(kMaxHeader);
    if (partial_) next_ = ranges_[0].first;
  }

  Status setup() override { return keys_.load(); }

 private:
  enum class St { kPrefix, kHeader, kFrameMagic, kFrameSlice, kChunkLen, kChunkData, kChunkTag, kTrailer, kEnd, kDone };

  std::string slice_op() const { return "decrypt slice " + std::to_string(slice_); }
  std::string chunk_what() const { return "chunk " + std::to_string(chunks_); }
  // The operation a frame-level error is about: the slice we expect next, or the end frame.
  std::string next_op() const { return has_next() ? "decrypt slice " + std::to_string(next_) : "read end frame"; }

  // Where an unreadable frame header sits: between slices of the whole stream, or before a requested one.
  std::string frame_op() const {
    if (partial_) return next_op();
    return seen_ == 0 ? "read the frame of slice 0" : "read the frame after slice " + std::to_string(seen_ - 1);
  }

  bool has_next() const { return !partial_ || rix_ < ranges_.size(); }
  void advance() {
    ++seen_;
    if (!partial_) {
      next_ = seen_;
    } else if (++next_ > ranges_[rix_].second && ++rix_ < ranges_.size()) {
      next_ = ranges_[rix_].first;
    }
  }

  void expect(St s, size_t n) {
    st_ = s;
    need_ = n;
    have_ = 0;
  }

  // Accumulates a fixed-size field that may straddle input blocks; true once complete.
  bool gather(const uint8_t*& p, size_t& n) {
    const size_t k = std::min(n, need_ - have_);
    std::memcpy(acc_.data() + have_, p, k);
    have_ += k;
    p += k;
    n -= k;
    in_pos_ += k;
    return have_ == need_;
  }

  void feed(const Block& b) override {
    const uint8_t* p = b.data();
    size_t n = b.size();
    while (n > 0 && !failed()) step(p, n);
  }

  void step(const uint8_t*& p, size_t& n) {
    if (st_ == St::kChunkData) return chunk_data(p, n);
    if (st_ == St::kDone) return error("read end frame", "unexpected data after the end frame");
    if (!gather(p, n)) return;
    switch (st_) {
      case St::kPrefix: return on_prefix();
      case St::kHeader: return on_header();
      case St::kFrameMagic: return on_frame_magic();
      case St::kFrameSlice: return on_frame_slice();
      case St::kChunkLen: return on_chunk_len();
      case St::kChunkTag: return on_chunk_tag();
      case St::kTrailer: return on_trailer();
      case St::kEnd: return on_end();
      default: return;
    }
  }

  void on_prefix() {
    size_t len = 0;
    const std::string why = parse_header_prefix(acc_.data(), &len);
    if (!why.empty()) return error("read stream header", why);
    st_ = St::kHeader;
    need_ = len;  // keep the 8 bytes gathered so far
  }

  void on_header() {
    Header h;
    std::string why = parse_header(acc_.data(), need_, &h);
    if (!why.empty()) return error("read stream header", why);
    const bool pass = h.mode == KeyMode::kPassphrase;
    if (pass && !keys_.is_passphrase())
      return error("read stream header", "the stream was encrypted with a passphrase: give passphrase or passphrase-file");
    if (!pass && keys_.is_passphrase())
      return error("read stream header", h.mode == KeyMode::kWrapped
                                             ? "the stream's data key is wrapped with an RSA public key: unwrap it "
                                               "with decryptProps() from src/keys.ts and give key"
                                             : "the stream was encrypted with a key, not a passphrase: give key-file or key");
    Secret derived;
    const uint8_t* key = keys_.key();
    if (pass) {
      if (!derive_passphrase(keys_.passphrase(), h.log2n, h.r, h.p, h.salt, &derived))
        return error("derive key", "scrypt failed (out of memory?)");
      key = derived.b;
    }
    StreamKeys sk;
    derive_stream_keys(key, h.stream_id, &sk);
    if (!header_mac_ok(acc_.data(), need_, sk.mac.b)) return header_refused(key, h);
    if (!gcm_.set_key(sk.enc.b, false)) return error("decrypt", "OpenSSL AES-256-GCM is not available");
    chunk_size_ = h.chunk_size;
    std::memcpy(aad_, h.stream_id, kIdLen);
    expect(St::kFrameMagic, 4);
  }

  // The header MAC failed: a key whose id differs is the wrong key; otherwise the header is damaged.
  void header_refused(const uint8_t* key, const Header& h) {
    uint8_t id[kKeyIdLen];
    key_id(key, id);
    if (std::memcmp(id, h.key_id, kKeyIdLen) != 0)
      return error("read stream header", std::string("wrong ") + (keys_.is_passphrase() ? "passphrase" : "key") +
                                             ": the stream was encrypted with key id " + hex(h.key_id, kKeyIdLen) +
                                             " (or its header is corrupted)");
    error("read stream header", "authentication failed (corrupted header)");
  }

  void on_frame_magic() {
    if (std::memcmp(acc_.data(), kFrameMagic, 4) == 0) return expect(St::kFrameSlice, 8);
    if (std::memcmp(acc_.data(), kEndMagic, 4) == 0) return expect(St::kEnd, kEndLen - 4);
    error(frame_op(), "bad frame magic (corrupted or misaligned data)");
  }

  void on_frame_slice() {
    const uint64_t f = get64(acc_.data());
    if (!has_next()) return error("read end frame", "found the frame of slice " + std::to_string(f) + " after the last requested slice");
    if (f != next_)
      return error(next_op(), "found the frame of slice " + std::to_string(f) +
                                  " instead (frames missing, reordered or corrupted)");
    slice_ = f;
    frame_in_ = in_pos_ - kFrameHeader;
    out_start_ = out_.total();
    chunks_ = 0;
    slice_plain_ = 0;
    out_.set_slice(f);
    std::memcpy(aad_ + kIdLen, kFrameMagic, 4);
    put64(aad_ + kIdLen + 4, f);
    expect(St::kChunkLen, 4);
  }

  void on_chunk_len() {
    const uint32_t v = get32(acc_.data());
    if (v == kTrailerMark) return expect(St::kTrailer, kTrailerLen - 4);
    if (v > chunk_size_)
      return error(slice_op(), chunk_what() + ": bad chunk length " + std::to_string(v) + " (corrupted)");
    if (chunks_ >= kMaxChunks) return error(slice_op(), "too many chunks (corrupted)");
    uint8_t* tail = aad_ + kIdLen + kFrameHeader;
    put32(tail, chunks_);
    put32(tail + 4, v);
    if (!gcm_.begin(slice_, chunks_, aad_, kIdLen + kFrameHeader + 8)) return error(slice_op(), "OpenSSL AES-256-GCM failed");
    chunk_n_ = chunk_left_ = v;
    if (v == 0) return expect(St::kChunkTag, kTagLen);
    st_ = St::kChunkData;
  }

  // Ciphertext goes straight from the input block into output blocks; they stay uncommitted
  // (invisible downstream) until the tag verifies.
  void chunk_data(const uint8_t*& p, size_t& n) {
    size_t k = std::min<uint64_t>(n, chunk_left_);
    n -= k;
    chunk_left_ -= k;
    in_pos_ += k;
    while (k > 0) {
      size_t room;
      uint8_t* d = out_.room(&room);
      const size_t m = std::min(k, room);
      if (!gcm_.update(p, d, m)) return error(slice_op(), "OpenSSL AES-256-GCM failed");
      out_.wrote(m);
      p += m;
      k -= m;
    }
    if (chunk_left_ == 0) expect(St::kChunkTag, kTagLen);
  }

  void on_chunk_tag() {
    if (!gcm_.finish_decrypt(acc_.data()))
      return error(slice_op(), chunk_what() + ": authentication failed (corrupted data, or a frame of another stream)");
    out_.commit();
    slice_plain_ += chunk_n_;
    ++chunks_;
    expect(St::kChunkLen, 4);
  }

  // The trailer pins the chunk count and length: a slice cut short at a chunk boundary fails here.
  void on_trailer() {
    uint8_t* t = aad_ + kIdLen + kFrameHeader;
    put32(t, kTrailerMark);
    std::memcpy(t + 4, acc_.data(), 12);
    if (!gcm_.begin(slice_, kTrailerIndex, aad_, kIdLen + kFrameHeader + 16) || !gcm_.finish_decrypt(acc_.data() + 12))
      return error(slice_op(), "slice trailer: authentication failed (corrupted)");
    const uint32_t k = get32(acc_.data());
    const uint64_t len = get64(acc_.data() + 4);
    if (k != chunks_ || len != slice_plain_)
      return error(slice_op(), "chunks missing: the slice trailer says " + std::to_string(k) + " chunks (" +
                                   std::to_string(len) + " bytes), read " + std::to_string(chunks_) + " (" +
                                   std::to_string(slice_plain_) + " bytes)");
    post_slice(slice_, frame_in_, in_pos_ - frame_in_, out_start_, slice_plain_);
    out_.end_slice();
    out_.commit();
    total_plain_ += slice_plain_;
    advance();
    expect(St::kFrameMagic, 4);
  }

  void on_end() {
    const uint64_t count = get64(acc_.data()), total = get64(acc_.data() + 8);
    std::memcpy(aad_ + kIdLen, kEndMagic, 4);
    std::memcpy(aad_ + kIdLen + 4, acc_.data(), 16);
    if (!gcm_.begin(count, kEndIndex, aad_, kIdLen + 20) || !gcm_.finish_decrypt(acc_.data() + 16))
      return error("read end frame", "authentication failed (corrupted end frame)");
    if (partial_ && has_next()) return error(next_op(), "the stream ends before this slice");
    if (!partial_ && count != seen_)
      return error(next_op(), "missing: the end frame says the stream has " + std::to_string(count) + " slices, found " +
                                  std::to_string(seen_));
    if (!partial_ && total != total_plain_) return error("read end frame", "total length does not match the slices (corrupted)");
    st_ = St::kDone;
  }

  void finish() override {
    switch (st_) {
      case St::kPrefix:
        if (in_pos_ == 0) return error("read stream header", "empty input (not an xfa encrypted stream)");
        [[fallthrough]];
      case St::kHeader:
        return error("read stream header", "stream truncated inside the header");
      case St::kFrameMagic:
        if (have_ == 0) return at_frame_boundary();
        [[fallthrough]];
      case St::kFrameSlice:
        return error(frame_op(), "stream truncated in a frame header");
      case St::kChunkLen:
      case St::kChunkData:
      case St::kChunkTag:
        return error(slice_op(), "stream truncated in " + chunk_what());
      case St::kTrailer:
        return error(slice_op(), "stream truncated in the slice trailer");
      case St::kEnd:
        return error("read end frame", "stream truncated in the end frame");
      case St::kDone:
        return;
    }
  }

  // EOF between frames: fine for a partial stream that had every requested slice.
  void at_frame_boundary() {
    if (partial_) {
      if (has_next()) error(next_op(), "the stream ends before this slice");
      return;
    }
    error("read end frame", seen_ == 0 ? "stream truncated after the header: end frame missing"
                                       : "stream truncated after slice " + std::to_string(seen_ - 1) + ": end frame missing");
  }

  KeySource keys_;
  const std::vector<std::pair<uint64_t, uint64_t>> ranges_;
  const bool partial_;
  Gcm gcm_;
  std::vector<uint8_t> acc_;
  uint8_t aad_[kIdLen + kFrameHeader + 16] = {};
  St st_ = St::kPrefix;
  size_t need_ = 8, have_ = 0;
  uint32_t chunk_size_ = 0, chunks_ = 0, chunk_n_ = 0;
  uint64_t chunk_left_ = 0;
  size_t rix_ = 0;
  uint64_t next_ = 0, seen_ = 0, slice_ = 0;
  uint64_t in_pos_ = 0, frame_in_ = 0, out_start_ = 0, slice_plain_ = 0, total_plain_ = 0;
};

const bool registered = register_element({
    "filter-decrypt",
    "filter",
    "Decrypts and authenticates a filter-encrypt stream, slice by slice",
    "Checks the stream header (key id and MAC), then each slice frame's chunks, trailer and the end "
    "frame; releases plaintext only after its chunk authenticated. Any corruption, truncation, "
    "missing or reordered frame, or a wrong key fails the transfer with an error naming the slice. "
    "Give the key as the encrypter did (key-file, passphrase, passphrase-file), or key= from "
    "decryptProps() in src/keys.ts when the data key is wrapped with an RSA public key. With "
    "slices=3,7-9 the input is the stream header followed by just those frames (a selective "
    "restore) and no end frame is required. Output blocks carry the frames' slice numbers and each "
    "slice posts a `slice` message.",
    {{"key-file", PropType::kString, "", 0, -1, false, "file with the 256-bit key: 32 raw bytes or 64 hex digits"},
     {"key", PropType::kString, "", 0, -1, false, "the 256-bit data key as 64 hex digits (from decryptProps())"},
     {"passphrase", PropType::kString, "", 0, -1, false, "passphrase the stream was encrypted with"},
     {"passphrase-file", PropType::kString, "", 0, -1, false, "file holding the passphrase (one trailing newline is ignored)"},
     {"slices", PropType::kStrings, "", 0, -1, false, "only these slices follow the header, e.g. 3,7-9; empty = the whole stream"},
     {"prefetch", PropType::kBool, "true", 0, -1, false, "read the input on another thread than the cipher (uses both cores)"}},
    CryptFilter::pairs(true),
    "source-file path=/tmp/hosts.xfac ! filter-decrypt key-file=/etc/xfa/backup.key ! dest-file path=/tmp/hosts",
    [](const Props& p) { return std::make_unique<FilterDecrypt>(p); },
});

}  // namespace
}  // namespace xfa
