/**
 * The messages a transfer delivers, as TypeScript types. Amanda's ten keep their meaning and
 * fields (in camelCase); xfa adds state, progress, stats, slice, object and linkage. Every
 * transfer delivers exactly one `done`, last; an `error` is always followed by `cancel`, then
 * `done`.
 */

export type XferState = 'INIT' | 'START' | 'RUNNING' | 'CANCELLING' | 'CANCELLED' | 'DONE';

interface Base {
  /** Element instance that sent it ("dest-file#3"), or "" for the transfer itself. */
  elt: string;
  /** 0-based position of the element in the chain; -1 for the transfer or glue. */
  index: number;
  version: number;
}

export interface InfoMessage extends Base {
  type: 'info';
  message: string;
  /** A line the child process wrote to stderr (filter-process). */
  stderr?: boolean;
  exitStatus?: number;
  warning?: boolean;
}
export interface ErrorMessage extends Base {
  type: 'error';
  /** "dest-file#3: write /srv/x.tmp: ENOSPC: no space left on device" */
  message: string;
  op: string;
  errno: number;
  /** Symbolic errno, e.g. "ENOSPC", when there is one. */
  code?: string;
}
export interface DoneMessage extends Base { type: 'done' }
export interface CancelMessage extends Base { type: 'cancel' }
export interface PartDoneMessage extends Base {
  type: 'part-done';
  successful: boolean;
  eom: boolean;
  eof: boolean;
  size: number;
  duration: number;
  partnum: number;
  fileno: number;
  reason?: string;
}
export interface ReadyMessage extends Base { type: 'ready' }
export interface CrcMessage extends Base {
  type: 'crc';
  /** CRC32C as 8 hex digits. */
  crc: string;
  size: number;
}
export interface ChunkDoneMessage extends Base {
  type: 'chunk-done';
  headerSize: number;
  dataSize: number;
  noRoom: boolean;
  /** dest-holding: the chunk's file name (its final name, once the transfer succeeded). */
  filename?: string;
}
export interface NoSpaceMessage extends Base { type: 'no-space' }
export interface SegmentDoneMessage extends Base {
  type: 'segment-done';
  size: number;
  duration: number;
  fileno: number;
  partnum: number;
  successful: boolean;
}
export interface StateMessage extends Base {
  type: 'state';
  state: XferState;
}
export interface ProgressMessage extends Base {
  type: 'progress';
  bytesIn: number;
  bytesOut: number;
  /** Bytes per second over the last interval. */
  rate: number;
}
export interface StatsMessage extends Base {
  type: 'stats';
  bytesIn: number;
  bytesOut: number;
  /** Seconds the element's own threads ran. */
  busy: number;
}
export interface SliceMessage extends Base {
  type: 'slice';
  slice: number;
  inOffset: number;
  inLength: number;
  outOffset: number;
  outLength: number;
}
export interface ObjectMessage extends Base {
  type: 'object';
  path: string;
  /** file, dir, symlink, hardlink, sparse, chardev, blockdev, fifo, label, continuation, unknown */
  objectType: string;
  /** Bytes of data stored in the stream (0 for links and directories). */
  size: number;
  /** Offset of the member's first header (its extension headers included). */
  headerOffset: number;
  dataOffset: number;
  /** Links: what they point to (hard links name an earlier member). */
  linkTarget?: string;
  /** Sparse files: the logical file size. */
  realSize?: number;
}
export interface LinkageMessage extends Base {
  type: 'linkage';
  /** "source-random#1 -PULL_BUFFER-> glue -PUSH_BUFFER-> dest-null#2" */
  message: string;
  copies: number;
  allocs: number;
  threads: number;
}

/**
 * mux (written) and demux (read): the stream map of a multiplexed stream, for the catalog —
 * `{"format":"xfa-mux","version":1,"streams":[{"id":1,"host":"db1","disk":"/var","level":0,
 * "program":"tar","label":"source-process#1"}, ...]}` (csrc/core/mux_format.h).
 */
export interface StreamMapMessage extends Base {
  type: 'stream-map';
  map: string;
  streams: number;
}
/** Per-stream progress of a mux or demux: at most every 500 ms while data flows, and at each end. */
export interface StreamMessage extends Base {
  type: 'stream';
  stream: number;
  /** The input chain's first element (mux), as in the stream map. */
  label: string;
  /** Payload bytes so far. */
  bytes: number;
  packets: number;
  /** open while data flows; eos: ended complete; aborted: its source failed, the data before stays. */
  state: 'open' | 'eos' | 'aborted';
}

export type XferMessage =
  | InfoMessage | ErrorMessage | DoneMessage | CancelMessage | PartDoneMessage | ReadyMessage
  | CrcMessage | ChunkDoneMessage | NoSpaceMessage | SegmentDoneMessage | StateMessage
  | ProgressMessage | StatsMessage | SliceMessage | ObjectMessage | LinkageMessage
  | StreamMapMessage | StreamMessage;

export type MessageType = XferMessage['type'];
