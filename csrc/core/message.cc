#include "xfa/message.h"

namespace xfa {

const char* msg_type_name(MsgType t) {
  switch (t) {
    case MsgType::kInfo: return "info";
    case MsgType::kError: return "error";
    case MsgType::kDone: return "done";
    case MsgType::kCancel: return "cancel";
    case MsgType::kPartDone: return "part-done";
    case MsgType::kReady: return "ready";
    case MsgType::kCrc: return "crc";
    case MsgType::kChunkDone: return "chunk-done";
    case MsgType::kNoSpace: return "no-space";
    case MsgType::kSegmentDone: return "segment-done";
    case MsgType::kState: return "state";
    case MsgType::kProgress: return "progress";
    case MsgType::kStats: return "stats";
    case MsgType::kSlice: return "slice";
    case MsgType::kObject: return "object";
    case MsgType::kLinkage: return "linkage";
    case MsgType::kStreamMap: return "stream-map";
    case MsgType::kStream: return "stream";
  }
  return "unknown";
}

}  // namespace xfa
