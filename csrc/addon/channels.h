// Channels of multiplexing graphs, for src/graph.ts: csrc/addon/channels.cc.
#pragma once

#include <napi.h>

namespace xfa::addon {

// Adds to `exports`:
//   new Channel(kind: 'mux'|'demux', n, queueBlocks?) → {id, kind, size, endpointDone(e), markCancelled(), cancel()}: a
//     MuxChannel (n inputs) or DemuxChannel (n outputs), registered by id for the elements'
//     `channel` property; it lives while this object or an element holds it.
//   fletcher32(buf) → number, muxHeader({flags, stream, length, sequence, checksum}) → Buffer,
//   muxHeaderParse(buf) → {flags, stream, length, sequence, checksum} | {error}: the packet
//     format (csrc/core/mux_format.h) for tests and tools.
void init_channels(Napi::Env env, Napi::Object exports);

}  // namespace xfa::addon
