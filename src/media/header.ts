/**
 * Amanda file headers, byte for byte (csrc/core/amanda_header.h does the work).
 *
 * Every file Amanda writes to a volume or holding disk starts with a 32 KiB header: a few lines
 * of text and NUL padding. `buildHeader` writes exactly what Amanda 3.5 writes for the same
 * fields; `parseHeader` reads every header Amanda writes. Field names are Amanda's `dumpfile_t`
 * (Amanda::Header) names in camelCase: `name` is the host (or the volume label for TAPESTART).
 *
 *     const block = buildHeader({ type: 'SPLIT_FILE', datestamp: '20240102030405', name: 'host',
 *       disk: '/home', dumplevel: 0, program: '/bin/tar', partnum: 1, totalparts: -1,
 *       recoverCmd: '/bin/tar -xpGf - ...' });            // 32768 bytes
 *     parseHeader(block).disk;                            // '/home'
 *
 * Invalid fields (a bad datestamp, partnum 0, a command without its trailing '|', ...) throw an
 * AmandaHeaderError naming the field; Amanda itself would abort.
 */
import { mediaNative } from './native-media.js';

export type AmandaFileType = 'TAPESTART' | 'TAPEEND' | 'FILE' | 'CONT_FILE' | 'SPLIT_FILE' | 'NOOP';

/** A CRC32C and the number of bytes it covers; written `%08x:size`, only when crc is non-zero. */
export interface AmandaCrc {
  /** 8 hex digits. */
  crc: string;
  size: number;
}

export interface AmandaHeader {
  type: AmandaFileType;
  /** "X", or 8 or 14 digits (YYYYMMDD[hhmmss]). */
  datestamp: string;
  /** The host for dump files; the volume label for TAPESTART. */
  name: string;
  disk?: string;
  dumplevel?: number;
  compressed?: boolean;
  /** ".gz"; the header says "comp N" when not compressed. */
  compSuffix?: string;
  encrypted?: boolean;
  encryptSuffix?: string;
  /** "/bin/tar", "APPLICATION"... */
  program?: string;
  /** APPLICATION= line. */
  application?: string;
  /** server_custom_compress */
  srvcompprog?: string;
  /** client_custom_compress */
  clntcompprog?: string;
  srvEncrypt?: string;
  clntEncrypt?: string;
  srvDecryptOpt?: string;
  clntDecryptOpt?: string;
  /** The restore hint's commands: recover ("/bin/tar -xpGf - ..."), and the optional decrypt
   * and uncompress steps before it, each ending with "|". */
  recoverCmd?: string;
  uncompressCmd?: string;
  decryptCmd?: string;
  /** Holding-disk chunks: the absolute path of the next chunk. */
  contFilename?: string;
  /** The DLE XML (written as a heredoc). */
  dleStr?: string;
  /** PARTIAL=YES */
  isPartial?: boolean;
  /** SPLIT_FILE: part number from 1, and the total (-1 = unknown). FILE parses as 1/1. */
  partnum?: number;
  totalparts?: number;
  /** `bs=Nk` in the restore hint; devices set it (vtape and holding: 32768). */
  blocksize?: number;
  /** ORIGSIZE= (KiB). */
  origSize?: number;
  nativeCrc?: AmandaCrc;
  clientCrc?: AmandaCrc;
  serverCrc?: AmandaCrc;
}

/** DISK_BLOCK_BYTES: the header size on vtapes, diskflat volumes and holding disks. */
export const HEADER_SIZE = 32768;

/** A header that could not be built or parsed. */
export class AmandaHeaderError extends Error {
  override name = 'AmandaHeaderError';
}

function wrap<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof TypeError || e instanceof RangeError) throw e;
    throw new AmandaHeaderError((e as Error).message);
  }
}

/**
 * The header block: the text NUL-padded to `minSize` (default 32 KiB). Throws if a field is
 * invalid or the text is longer than `maxSize` (default 32 KiB).
 */
export function buildHeader(h: AmandaHeader, opts: { minSize?: number; maxSize?: number } = {}): Buffer {
  return wrap(() => mediaNative.headerBuild(h, opts.minSize ?? HEADER_SIZE, opts.maxSize ?? HEADER_SIZE));
}

/** The header's text without padding (what the first bytes of the block are). */
export function headerText(h: AmandaHeader, maxSize = HEADER_SIZE): string {
  return wrap(() => mediaNative.headerBuild(h, 0, maxSize)).toString('utf8');
}

/** Parses a header block (or its text). Throws AmandaHeaderError saying what is wrong where. */
export function parseHeader(block: Buffer | string): AmandaHeader {
  const b = typeof block === 'string' ? Buffer.from(block, 'utf8') : block;
  return wrap(() => mediaNative.headerParse(b));
}

/**
 * What a block looks like before parsing: 'empty' (no bytes or NUL first: a blank file or
 * volume), 'weird' (not starting with "AMANDA:" or "NETDUMP:"), 'amanda' (parse it).
 */
export function classifyHeader(block: Buffer): 'empty' | 'weird' | 'amanda' {
  return mediaNative.headerClassify(block);
}

/** Amanda's quote_string (how a disk name appears on the header's first line). */
export function quoteString(s: string): string {
  return mediaNative.amandaQuote(s);
}

export function unquoteString(s: string): string {
  return mediaNative.amandaUnquote(s);
}

/** Amanda's sanitise_filename: '/', '\\' and ':' become '_'. */
export function sanitiseFilename(s: string): string {
  return mediaNative.amandaSanitise(s);
}

/** The name a vtape gives file `file` of this dump: `%05d.host.disk.level`, sanitised. */
export function vtapeFileName(file: number, h: Pick<AmandaHeader, 'name' | 'disk' | 'dumplevel'>): string {
  return sanitiseFilename(`${String(file).padStart(5, '0')}.${h.name}.${h.disk ?? ''}.${h.dumplevel ?? 0}`);
}

/** The first line of a header (for logs): "AMANDA: FILE 20240102030405 host /home lev 0 ...". */
export function headerFirstLine(h: AmandaHeader): string {
  return headerText(h).split('\n')[0];
}
