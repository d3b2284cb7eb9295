// mux: interleaves several input chains into ONE stream of packets (Burt's multiplexing engine;
// the packet format is csrc/core/mux_format.h, byte by byte).
//
// Graph. mux has several upstream chains (`src1 ! m.`, `src2 ! m.`, `mux name=m ! dest`). Each
// input is its own transfer ending in the internal element mux-input (elements/mux-input.cc),
// which checksums every block on the branch's own thread and queues it on a MuxChannel
// (csrc/core/mux_channel.h); mux heads the trunk transfer and is a source there
// (NONE → PULL_BUFFER). src/graph.ts builds and runs the graph; a plain `new Xfer([mux, ...])`
// has no inputs and is refused.
//
// Scheduling. pull() takes whichever stream has data (round robin among the ready ones), so one
// slow source never holds up the others; each stream's queue is bounded (`queue` blocks), which
// is the back-pressure on a fast source when the destination is the bottleneck. Each data block
// becomes one packet, sent as two blocks: the 32-byte header, then the branch's block itself (no
// copy of the payload).
//
// Ends. A stream ends EOS when its transfer succeeded (mux-input's commit), ABORTED when it failed
// or was cancelled: its data so far stays in the stream and the other streams go on. The first
// packet is the stream map (stream 0): id → host, disk, level, program (from `map`) and the
// branch's first element; it is also posted as a `stream-map` message {map: JSON} for the
// catalog. Per-stream progress: `stream` messages {stream, label, bytes, packets, state:
// open|eos|aborted}, at most every 500 ms while data flows and once at each stream's end.
// The mux's transfer failing or being cancelled fails every input still sending.
//
// Threads: pull() on downstream's thread; no thread of its own.
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "fletcher32.h"
#include "mux_channel.h"
#include "mux_format.h"
#include "xfa/element.h"

namespace xfa {
namespace {

class Mux final : public Element {
 public:
  explicit Mux(const Props& p) : Element("mux") {
    auto ch = find_channel(static_cast<uint64_t>(p.get_int("channel", 0)));
    ch_ = std::dynamic_pointer_cast<MuxChannel>(ch);
    if (!ch_) {
      throw std::invalid_argument(
          "has no inputs: mux runs in a graph (`src ! m.` … `mux name=m ! dest`, or XferGraph), not in a single chain");
    }
    const auto map = p.get_strings("map");
    if (map.size() > ch_->size())
      throw std::invalid_argument("property \"map\" has " + std::to_string(map.size()) + " entries for " +
                                  std::to_string(ch_->size()) + " inputs");
    const auto labels = p.get_strings("labels");
    for (size_t k = 0; k < ch_->size(); ++k) {
      mux::StreamInfo s = k < map.size() ? mux::parse_map_entry(map[k]) : mux::StreamInfo{};
      s.id = static_cast<uint32_t>(k + 1);
      if (k < labels.size()) s.label = labels[k];
      info_.push_back(s);
    }
    seq_.assign(ch_->size(), 0);
    bytes_.assign(ch_->size(), 0);
    packets_.assign(ch_->size(), 0);
    reported_.assign(ch_->size(), 0);
  }

  MechPairs mech_pairs() const override { return {{Mech::kNone, Mech::kPullBuffer, 0, 1, 0}}; }

  Status start() override {
    map_json_ = mux::encode_map(info_);
    post(msg(MsgType::kStreamMap).set("map", map_json_).set("streams", static_cast<int64_t>(info_.size())));
    last_report_ = std::chrono::steady_clock::now();
    return ok();
  }

  BlockRef pull() override {
    if (payload_) {
      BlockRef b = std::move(payload_);
      count_out(b->size());
      return b;
    }
    if (eof_ || cancelled()) return {};
    if (!map_sent_) {
      map_sent_ = true;
      BlockRef b = alloc_block();
      if (b->capacity() < mux::kHeaderSize + map_json_.size()) {
        fail(plain_error("stream map", "the map (" + std::to_string(map_json_.size()) + " bytes) does not fit in a block"));
        return {};
      }
      mux::PacketHeader h;
      h.flags = mux::kMap | mux::kEos;
      h.length = static_cast<uint32_t>(map_json_.size());
      h.checksum = fletcher32(map_json_.data(), map_json_.size());
      mux::encode_header(h, b->data());
      std::memcpy(b->data() + mux::kHeaderSize, map_json_.data(), map_json_.size());
      b->set_size(mux::kHeaderSize + map_json_.size());
      count_out(b->size());
      return b;
    }
    MuxChannel::Item it = ch_->next();
    switch (it.kind) {
      case MuxChannel::Item::kAllDone:
      case MuxChannel::Item::kCancelled:
        eof_ = true;
        if (ch_->graph_cancelled()) cancel_transfer();  // never an EOF that would commit
        report(true);
        return {};
      case MuxChannel::Item::kData: {
        const size_t k = it.stream;
        mux::PacketHeader h;
        h.stream = static_cast<uint32_t>(k + 1);
        h.length = static_cast<uint32_t>(it.block->size());
        h.sequence = seq_[k]++;
        h.checksum = it.checksum;
        bytes_[k] += it.block->size();
        ++packets_[k];
        count_in(it.block->size());
        payload_ = std::move(it.block);
        report(false);
        return header_block(h);
      }
      case MuxChannel::Item::kEnd: {
        const size_t k = it.stream;
        mux::PacketHeader h;
        h.stream = static_cast<uint32_t>(k + 1);
        h.flags = it.ok ? mux::kEos : mux::kAborted;
        h.sequence = seq_[k]++;
        h.checksum = fletcher32(nullptr, 0);
        ++packets_[k];
        post_stream(k, it.ok ? "eos" : "aborted");
        return header_block(h);
      }
    }
    return {};
  }

  // A failure cancels the transfer first, so unblock() cannot tell the two apart.
  void unblock() override { ch_->consumer_gone("the multiplexed stream stopped (" + name() + " failed or was cancelled)"); }
  void abort() override { ch_->consumer_gone("the multiplexed stream stopped (" + name() + " failed or was cancelled)"); }
  void close() override {
    ch_->consumer_gone("the multiplexed stream stopped: " + name() + " has ended");
    payload_.reset();
  }

 private:
  BlockRef header_block(const mux::PacketHeader& h) {
    BlockRef b = alloc_block();
    mux::encode_header(h, b->data());
    b->set_size(mux::kHeaderSize);
    count_out(mux::kHeaderSize);
    return b;
  }

  void post_stream(size_t k, const char* state) {
    reported_[k] = bytes_[k];
    post(msg(MsgType::kStream).set("stream", static_cast<int64_t>(k + 1)).set("label", info_[k].label)
             .set("bytes", static_cast<int64_t>(bytes_[k])).set("packets", static_cast<int64_t>(packets_[k]))
             .set("state", std::string(state)));
  }

  // Per-stream progress, at most every 500 ms (and not at all for streams that did not move).
  void report(bool final) {
    const auto now = std::chrono::steady_clock::now();
    if (!final && now - last_report_ < std::chrono::milliseconds(500)) return;
    last_report_ = now;
    if (final) return;
    for (size_t k = 0; k < bytes_.size(); ++k)
      if (bytes_[k] != reported_[k]) post_stream(k, "open");
  }

  std::shared_ptr<MuxChannel> ch_;
  std::vector<mux::StreamInfo> info_;
  std::string map_json_;
  std::vector<uint64_t> seq_, bytes_, packets_, reported_;
  BlockRef payload_;
  bool map_sent_ = false;
  bool eof_ = false;
  std::chrono::steady_clock::time_point last_report_;
};

const bool registered = register_element({
    "mux",
    "filter",
    "Interleaves several input chains into one stream of checksummed packets",
    "Takes several upstream chains (`src ! m.` per input, then `mux name=m ! dest`) and writes one "
    "multiplexed stream: a stream map first (stream id -> host, disk, level, program; also posted as "
    "a `stream-map` message for the catalog), then packets of 32-byte header (magic XFAM, version, "
    "flags EOS/ABORTED/MAP, stream id, payload length, per-stream sequence, Fletcher-32 of the "
    "payload and of the header) and payload, in the order the data arrives: a slow input never "
    "holds up the others. An input that fails ends its stream ABORTED and the others go on. "
    "Inputs are numbered 1..N in the order they are written. `stream` messages report per-stream "
    "progress. Read it back with demux.",
    {{"map", PropType::kStrings, "", 0, -1, false,
      "per input, in order: host:disk[:level[:program]] for the stream map, e.g. db1:/var:0:tar,db1:/etc:0:tar"}},
    {{Mech::kNone, Mech::kPullBuffer, 0, 1, 0}},
    "source-process cmd=\"tar -cf - -C /etc .\" ! mux map=db1:/etc:0:tar ! dest-file path=/tmp/db1.mux",
    [](const Props& p) { return std::make_unique<Mux>(p); },
});

}  // namespace
}  // namespace xfa
