// demux: reads a multiplexed stream (elements/mux.cc; format in csrc/core/mux_format.h), verifies
// it packet by packet and delivers the chosen streams to their own downstream chains.
//
// Graph. demux ends the trunk transfer (a destination there: PUSH_BUFFER or PULL_BUFFER with its
// own thread); each chosen stream goes through a DemuxChannel (csrc/core/mux_channel.h) to a
// branch transfer headed by the internal element demux-output. `streams=` picks them: stream ids
// (3) or host:disk from the stream map (db1:/var); the i-th output chain written in the pipeline
// gets the i-th choice. Without `streams=`, output i gets stream i.
//
// Verification. Every header is checked whole (magic, version, flags, reserved bytes, header
// checksum, length, a known stream id, the per-stream sequence, nothing after a stream's end);
// the map and the chosen streams' payloads are checked against their Fletcher-32. Payloads of
// streams NOT chosen are skipped without being checksummed — their headers are still checked, so
// the framing is verified end to end, but a flipped bit inside them goes unnoticed (demux them to
// verify them). A chosen packet's blocks are handed on only once its checksum matched, so a
// downstream `tar -x` never sees a damaged byte. Every error names the operation and the packet's
// byte offset in the multiplexed stream: "demux#2: read packet at offset 1048640: stream 3:
// checksum 0badf00d, computed 1234abcd". The input ending inside a packet, or before every
// stream of the map has ended, is an error (truncated). Any of these fails the demux's transfer,
// and every branch whose stream has not ended yet fails with the reason; streams that already
// ended are complete and kept.
//
// A stream that ended ABORTED (its source failed at backup time) fails its branch ("stream 3 was
// aborted when it was written: ...") and the others go on. A branch that fails on its own (its
// destination is full) stops taking data; the demux drops that stream and goes on.
// Back-pressure: one input feeds every branch, so a slow branch slows the others (each branch has
// a queue of `queue` blocks).
//
// Messages: `stream-map` {map} when the map has been read; `stream` {stream, label, bytes,
// packets, state: eos|aborted} at each chosen stream's end.
// Threads: push() on upstream's thread, or run() (PULL_BUFFER, 1 thread).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <stdexcept>

#include "fletcher32.h"
#include "mux_channel.h"
#include "mux_format.h"
#include "xfa/element.h"

namespace xfa {
namespace {

class Demux final : public Element {
 public:
  explicit Demux(const Props& p) : Element("demux"), choices_(p.get_strings("streams")) {
    ch_ = std::dynamic_pointer_cast<DemuxChannel>(find_channel(static_cast<uint64_t>(p.get_int("channel", 0))));
    if (!ch_) {
      throw std::invalid_argument(
          "has no outputs: demux runs in a graph (`... ! demux ! dest`, or XferGraph), not as a destination of its own");
    }
    if (!choices_.empty() && choices_.size() != ch_->size())
      throw std::invalid_argument("property \"streams\" chooses " + std::to_string(choices_.size()) + " streams for " +
                                  std::to_string(ch_->size()) + " output chains");
    for (const auto& c : choices_) {
      if (c.empty()) throw std::invalid_argument("property \"streams\": an empty choice");
      if (c.find(':') == std::string::npos && c.find_first_not_of("0123456789") != std::string::npos)
        throw std::invalid_argument("property \"streams\": \"" + c + "\" is neither a stream id nor host:disk");
    }
  }

  MechPairs mech_pairs() const override {
    return {{Mech::kPushBuffer, Mech::kNone, 1, 0, 0}, {Mech::kPullBuffer, Mech::kNone, 1, 0, 1}};
  }

  void push(BlockRef b) override {
    if (stopped_ || cancelled()) return;
    if (!b) return finish();
    consume(b->data(), b->size());
  }

  void run(int) override {
    while (!stopped_ && !cancelled()) {
      BlockRef b = upstream()->pull();
      if (!b) {
        if (!cancelled()) finish();
        break;
      }
      consume(b->data(), b->size());
    }
  }

  void unblock() override { ch_->producer_cancel(); }
  void abort() override { ch_->fail_all(stop_reason()); }
  void close() override {
    ch_->fail_all(stop_reason());
    held_.clear();
    out_.reset();
  }

 private:
  struct StreamState {
    uint64_t next_seq = 0;
    bool ended = false;
    int slot = -1;  // the branch it goes to, -1 = skipped
    uint64_t bytes = 0, packets = 0;
    std::string label;
  };

  std::string stop_reason() const {
    return error_.empty() ? "the multiplexed stream stopped before this stream ended (" + name() + " was cancelled)"
                          : name() + " failed before this stream ended: " + error_;
  }

  // A verification error at the current packet: fail the transfer and every open branch.
  void bad(const std::string& what) { bad_at(pkt_offset_, what); }
  void bad_at(uint64_t offset, const std::string& what) {
    if (stopped_) return;
    stopped_ = true;
    const Error e = plain_error("read packet at offset " + std::to_string(offset), what);
    error_ = e.op + ": " + e.detail;  // without our name: stop_reason() adds it
    ch_->fail_all(stop_reason());
    fail(e);
  }

  void consume(const uint8_t* p, size_t n) {
    count_in(n);
    while (n > 0 && !stopped_) {
      if (payload_left_ == 0 && hdr_have_ == 0 && map_read_ && ended_ == streams_.size() && (padding_ || *p == 0)) return trailer(p, n);
      if (payload_left_ == 0) {  // in a header
        const size_t k = std::min(n, mux::kHeaderSize - hdr_have_);
        std::memcpy(hdr_ + hdr_have_, p, k);
        hdr_have_ += k;
        p += k;
        n -= k;
        offset_ += k;
        if (hdr_have_ == mux::kHeaderSize) header();
        continue;
      }
      const size_t k = static_cast<size_t>(std::min<uint64_t>(n, payload_left_));
      payload(p, k);
      p += k;
      n -= k;
      offset_ += k;
      payload_left_ -= k;
      if (payload_left_ == 0) packet_done();
    }
  }

  // Every stream has ended: what follows can only be the zero padding of media that fill a
  // file's last block (tapes, vtapes without SHORT_BLOCKS). Anything else is an error.
  // (A packet right after the end is still read as one, for its precise error.)
  void trailer(const uint8_t* p, size_t n) {
    padding_ = true;
    const uint8_t* nz = std::find_if(p, p + n, [](uint8_t c) { return c != 0; });
    if (nz != p + n) {
      offset_ += static_cast<uint64_t>(nz - p);
      return bad_at(offset_, "data after the end of every stream (only zero padding may follow)");
    }
    offset_ += n;
  }

  void header() {
    hdr_have_ = 0;
    pkt_offset_ = offset_ - mux::kHeaderSize;
    std::string err = mux::decode_header(hdr_, &h_);
    if (!err.empty()) return bad(err);
    if (!map_read_) {
      if (h_.stream != 0) return bad("stream " + std::to_string(h_.stream) + " before the stream map (not the start of a multiplexed stream?)");
      if (h_.sequence != 0) return bad("stream map with sequence " + std::to_string(h_.sequence));
    } else {
      if (h_.stream == 0) return bad("a second stream map");
      if (h_.stream > streams_.size())
        return bad("unknown stream id " + std::to_string(h_.stream) + " (the stream map has 1.." + std::to_string(streams_.size()) + ")");
      StreamState& s = streams_[h_.stream - 1];
      if (s.ended) return bad("stream " + std::to_string(h_.stream) + ": a packet after its end");
      if (h_.sequence != s.next_seq) {
        return bad("stream " + std::to_string(h_.stream) + ": sequence " + std::to_string(h_.sequence) + " where " +
                   std::to_string(s.next_seq) + " was expected (a packet is missing, repeated or out of order)");
      }
      ++s.next_seq;
    }
    verify_ = h_.stream == 0 || streams_[h_.stream - 1].slot >= 0;
    sum_.reset();
    payload_left_ = h_.length;
    if (h_.length == 0) packet_done();
  }

  void payload(const uint8_t* p, size_t n) {
    if (!verify_) return;  // a stream not chosen: skipped unread
    sum_.update(p, n);
    if (h_.stream == 0) {
      map_json_.append(reinterpret_cast<const char*>(p), n);
      return;
    }
    while (n > 0) {
      if (!out_) out_ = alloc_block();
      const size_t k = std::min(n, out_->capacity() - out_->size());
      std::memcpy(out_->data() + out_->size(), p, k);
      out_->set_size(out_->size() + k);
      p += k;
      n -= k;
      if (out_->size() == out_->capacity()) held_.push_back(std::move(out_));
    }
  }

  void packet_done() {
    if (verify_) {
      const uint32_t got = sum_.value();
      if (got != h_.checksum) {
        held_.clear();
        out_.reset();
        return bad((h_.stream == 0 ? std::string("stream map") : "stream " + std::to_string(h_.stream)) + ": payload checksum " +
                   hex(h_.checksum) + ", computed " + hex(got) + " (damaged data)");
      }
    }
    if (h_.stream == 0) return read_map();
    StreamState& s = streams_[h_.stream - 1];
    ++s.packets;
    s.bytes += h_.length;
    if (s.slot >= 0) {
      if (out_) held_.push_back(std::move(out_));
      for (BlockRef& b : held_) {
        const size_t n = b->size();
        if (!ch_->put(static_cast<size_t>(s.slot), std::move(b))) {
          held_.clear();
          stopped_ = true;
          if (ch_->graph_cancelled()) cancel_transfer();
          return;  // cancelled
        }
        count_out(n);
      }
      held_.clear();
    }
    if (h_.flags & (mux::kEos | mux::kAborted)) {
      s.ended = true;
      ++ended_;
      const bool aborted = (h_.flags & mux::kAborted) != 0;
      if (s.slot >= 0) {
        ch_->end(static_cast<size_t>(s.slot), aborted ? "stream " + std::to_string(h_.stream) +
                                                            " was aborted when it was written (its source failed or was cancelled): " +
                                                            std::to_string(s.bytes) + " bytes were kept before the end"
                                                      : "");
        post(msg(MsgType::kStream).set("stream", static_cast<int64_t>(h_.stream)).set("label", s.label)
                 .set("bytes", static_cast<int64_t>(s.bytes)).set("packets", static_cast<int64_t>(s.packets))
                 .set("state", std::string(aborted ? "aborted" : "eos")));
      }
    }
  }

  void read_map() {
    map_read_ = true;
    std::vector<mux::StreamInfo> map;
    const std::string err = mux::decode_map(map_json_, &map);
    if (!err.empty()) return bad(err);
    streams_.assign(map.size(), StreamState{});
    for (const auto& s : map) streams_[s.id - 1].label = s.label;
    post(msg(MsgType::kStreamMap).set("map", map_json_).set("streams", static_cast<int64_t>(map.size())));
    for (size_t j = 0; j < ch_->size(); ++j) {
      uint32_t id = 0;
      const std::string want = choices_.empty() ? std::to_string(j + 1) : choices_[j];
      if (want.find(':') == std::string::npos) {
        id = want.size() > 9 ? 0 : static_cast<uint32_t>(std::strtoul(want.c_str(), nullptr, 10));  // digits only (checked in the constructor)
        if (id == 0 || id > map.size())
          return bad_at(0, "stream " + want + " is not in the stream map (it has " + std::to_string(map.size()) + " streams: " +
                               describe(map) + ")");
      } else {
        const std::string host = want.substr(0, want.find(':')), disk = want.substr(want.find(':') + 1);
        for (const auto& s : map)
          if (s.host == host && s.disk == disk) id = s.id;
        if (id == 0) return bad_at(0, "no stream " + want + " in the stream map (it has " + describe(map) + ")");
      }
      if (streams_[id - 1].slot >= 0) return bad_at(0, "stream " + std::to_string(id) + " is chosen twice");
      streams_[id - 1].slot = static_cast<int>(j);
    }
  }

  static std::string describe(const std::vector<mux::StreamInfo>& map) {
    std::string o;
    for (const auto& s : map) {
      if (!o.empty()) o += ", ";
      o += std::to_string(s.id);
      if (!s.host.empty() || !s.disk.empty()) o += " " + s.host + ":" + s.disk;
      else if (!s.label.empty()) o += " (" + s.label + ")";
    }
    return o.empty() ? "none" : o;
  }

  void finish() {
    if (stopped_) return;
    if (hdr_have_ > 0 || payload_left_ > 0) {
      const uint64_t have = hdr_have_ > 0 ? hdr_have_ : mux::kHeaderSize + h_.length - payload_left_;
      const uint64_t want = hdr_have_ > 0 ? mux::kHeaderSize : mux::kHeaderSize + h_.length;
      return bad_at(hdr_have_ > 0 ? offset_ - hdr_have_ : pkt_offset_,
                    "truncated: the input ends inside a packet (" + std::to_string(have) + " of " + std::to_string(want) + " bytes)");
    }
    if (!map_read_) return bad_at(0, offset_ == 0 ? "the input is empty: no multiplexed stream" : "no stream map");
    if (ended_ < streams_.size()) {
      std::string open;
      size_t listed = 0;
      for (size_t i = 0; i < streams_.size(); ++i) {
        if (streams_[i].ended) continue;
        if (listed++ < 10) open += (open.empty() ? "" : ",") + std::to_string(i + 1);
      }
      if (listed > 10) open += " and " + std::to_string(listed - 10) + " more";
      return bad_at(offset_, "truncated: the multiplexed stream ends before stream(s) " + open + " ended");
    }
    stopped_ = true;
  }

  static std::string hex(uint32_t v) {
    char b[9];
    std::snprintf(b, sizeof b, "%08x", v);
    return b;
  }

  bool padding_ = false;  // zero padding after the end of every stream has begun
  const std::vector<std::string> choices_;
  std::shared_ptr<DemuxChannel> ch_;
  std::vector<StreamState> streams_;
  size_t ended_ = 0;
  bool map_read_ = false;
  std::string map_json_;
  uint8_t hdr_[mux::kHeaderSize];
  size_t hdr_have_ = 0;
  mux::PacketHeader h_;
  uint64_t payload_left_ = 0;
  uint64_t offset_ = 0, pkt_offset_ = 0;
  bool verify_ = false;
  Fletcher32 sum_;
  BlockRef out_;
  std::vector<BlockRef> held_;
  bool stopped_ = false;
  std::string error_;
};

const bool registered = register_element({
    "demux",
    "filter",
    "Verifies a multiplexed stream and delivers chosen streams to their own chains",
    "Reads what mux wrote: checks every packet header (magic, flags, header checksum, known stream "
    "id, sequence without gaps) and the Fletcher-32 of the chosen streams' payloads (streams not "
    "chosen are skipped without being checksummed), and sends each chosen stream to its own output "
    "chain (`demux name=d` … `d. ! dest`, or one chain written after it). streams= chooses by id or "
    "host:disk from the stream map; the i-th output chain gets the i-th choice. Errors name the "
    "packet's byte offset. A stream that was aborted when written fails its chain; the others go on.",
    {{"streams", PropType::kStrings, "", 0, -1, false,
      "the streams to deliver, one per output chain in order: ids (3) or host:disk (db1:/var); default 1..N"}},
    {{Mech::kPushBuffer, Mech::kNone, 1, 0, 0}, {Mech::kPullBuffer, Mech::kNone, 1, 0, 1}},
    "source-file path=/tmp/two.mux ! demux streams=2 ! dest-file path=/tmp/stream2",
    [](const Props& p) { return std::make_unique<Demux>(p); },
});

}  // namespace
}  // namespace xfa
