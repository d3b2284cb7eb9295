/** The public types of `restoreDump` (src/restore/dump.ts): what to restore, where, and the result. */
import type { DumpRow } from '../catalog/db.js';
import type { ByteRange } from '../slice-index.js';
import type { XferOptions } from '../xfer.js';

export interface DumpSelector {
  /** The catalog id of a dump (or of one of its copies). */
  dump?: number;
  host?: string;
  disk?: string;
  /** A prefix of the datestamp: YYYYMMDD, YYYYMMDDhh, ... */
  date?: string;
  level?: number;
}

/** Where the restored data goes: extracted into a directory, the native stream to a file or an fd. */
export type RestoreTarget = { dir: string } | { file: string } | { fd: number };

export interface RestoreKeys {
  keyFile?: string;
  passphraseFile?: string;
  /** PEM file of the RSA private key whose public half wrapped the data key. */
  privateKeyFile?: string;
}

export interface RestoreDumpOptions {
  /** Members to restore (as tar lists them); only with a `dir` target. Default: everything. */
  paths?: readonly string[];
  keys?: RestoreKeys;
  /** Where the staging file of a selective restore goes (default: the system's tmpdir). */
  tmpdir?: string;
  /** Notes as they happen (the choice made, fallbacks): the CLI prints them on stderr. */
  onNote?: (text: string) => void;
  xfer?: XferOptions;
}

export interface RestoreDumpResult {
  /** The dump read (the original or the copy that served; for a stream, its multiplexed file). */
  dump: DumpRow;
  /** A stream of a multiplexed file was restored: that file's dump id (`selected` is the stream). */
  container?: number;
  /** The dump selected (the original of `dump` when a copy served). */
  selected: DumpRow;
  /** How many restorable dumps matched the selector (the newest was taken). */
  matches: number;
  /** Only the slices of the chosen paths were read (via the catalog's slice index). */
  selective: boolean;
  /** Whether the catalog has a slice index for the dump. */
  indexed: boolean;
  /** Why the whole dump was streamed although paths were given. */
  why?: string;
  /** Members extracted by name (paths and the hard-link targets they need), when paths were given. */
  members: string[];
  /** Stored bytes read from the media (a selective restore: the ranges; otherwise the dump's size). */
  bytesRead: number;
  /** The dump's stored size. */
  dumpSize: number;
  /** Stored byte ranges read (a selective restore). */
  ranges: ByteRange[];
  /** The restore chain's element names, source to target. */
  chain: string[];
  /** CRC check of the stored stream: 'ok', or 'skipped' (selective restore, or no CRC in the catalog). */
  crc: { status: 'ok' | 'skipped'; crc?: string; size?: number; native?: 'ok' };
  notes: string[];
  seconds: number;
}

export type RestoreErrorKind = 'no-dump' | 'volume' | 'corrupt' | 'key' | 'target' | 'no-space' | 'path' | 'filter' | 'failed';

export class RestoreError extends Error {
  override name = 'RestoreError';
  constructor(message: string, readonly kind: RestoreErrorKind, readonly where?: string) {
    super(message);
  }
}
