// Messages: what a transfer tells the TypeScript event loop.
//
// Any thread may post a message (Element::post / Transfer::post). Posting never blocks on the
// JavaScript side: messages are queued and delivered in batches on the event loop through one
// thread-safe function per transfer (csrc/addon/). Within one transfer, messages are delivered in
// the order they were posted.
//
// Amanda's ten types keep their numbers and fields; xfa adds its own from 100 up. Every transfer
// delivers exactly one `done`, and it is the last message. An `error` is always followed by
// `cancel` and then `done`. `version` changes only when a field changes meaning.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace xfa {

enum class MsgType : int {
  kInfo = 1,          // message
  kError = 2,         // message, op, errno, code
  kDone = 3,          // (none)
  kCancel = 4,        // (none)
  kPartDone = 5,      // successful, eom, eof, size, duration, partnum, fileno, reason
  kReady = 6,         // (none)
  kCrc = 7,           // crc (%08x), size
  kChunkDone = 8,     // header_size, data_size, no_room
  kNoSpace = 9,       // (none)
  kSegmentDone = 10,  // size, duration, fileno, partnum, successful
  kState = 100,       // state: INIT START RUNNING CANCELLING CANCELLED DONE
  kProgress = 101,    // bytes_in, bytes_out, rate (bytes/s over the last interval)
  kStats = 102,       // bytes_in, bytes_out, busy (seconds), blocks
  kSlice = 103,       // slice, in_offset, in_length, out_offset, out_length
  kObject = 104,      // path, type, size, header_offset, data_offset
  kLinkage = 105,     // message: "source-random#1 -PULL_BUFFER-> glue -PUSH_BUFFER-> dest-null#2"
  kStreamMap = 106,   // map (JSON, csrc/core/mux_format.h), streams: mux wrote / demux read it
  kStream = 107,      // stream, label, bytes, packets, state (open|eos|aborted): per-stream progress
};

const char* msg_type_name(MsgType t);  // "info", "error", ..., "part-done", "linkage"

using FieldValue = std::variant<bool, int64_t, double, std::string>;

struct Message {
  MsgType type;
  std::string elt;      // element instance name, "dest-file#3"; "" for the transfer itself
  int elt_index = -1;   // position in the user's chain (0-based), -1 for glue/transfer
  int version = 0;
  std::vector<std::pair<std::string, FieldValue>> fields;

  Message(MsgType t, std::string e, int idx) : type(t), elt(std::move(e)), elt_index(idx) {}
  Message& set(std::string key, FieldValue v) {
    fields.emplace_back(std::move(key), std::move(v));
    return *this;
  }
};

// Where a transfer's messages go. Implemented by the addon (thread-safe function) and by tests.
// post() is called from any thread, must be thread-safe and must not block for long.
// close() is called once, right after the `done` message has been posted.
class MessageSink {
 public:
  virtual ~MessageSink() = default;
  virtual void post(Message m) = 0;
  virtual void close() = 0;
};

}  // namespace xfa
