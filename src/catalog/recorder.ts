/**
 * Filling the catalog from a transfer's messages. A `Recorder` follows one dump written by
 * dest-taper (or dest-device):
 *
 *   - at start a 'running' dump row;
 *   - `part-done` (successful; size 0 only for the empty part of an empty dump, eof): the part and
 *     its volume, in one transaction; a label the catalog has at another device fails the dump;
 *   - `info` "relabeled (erased) volume": the volume's old parts are dropped;
 *   - `crc` from the writer: the dump's size and CRC;
 *   - `done`: without an `error` before it, every part is read back from its volume (source-recovery,
 *     headers checked, exactly the part's bytes even where the medium pads) and its CRC recorded; only when the parts' CRCs combine to the writer's CRC is the dump
 *     marked 'ok'. Any error, a missing CRC or a mismatch marks it 'failed' with the reason.
 *
 * Each step is its own transaction, so a crash leaves the catalog consistent: the dump stays
 * 'running' (never restorable) with the parts written so far.
 *
 *     const rec = new Recorder(catalog, dumpInfo, { changer: 'chg-disk:/vtapes' });
 *     xfer.on('message', (m) => rec.message(m));
 *     await xfer.done.catch(() => {});
 *     const status = await rec.finished;
 */
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import type { XferMessage } from '../messages.js';
import { element, type ElementSpec } from '../registry.js';
import { SliceIndex } from '../slice-index.js';
import { Xfer, XferError } from '../xfer.js';
import { crc32cOfParts } from './crc.js';
import { CatalogError, type Catalog, type CopyInfo, type DumpInfo, type DumpRow, type DumpStatus, type PartRow } from './db.js';
import { recoveryElement } from './recovery.js';
import type { ByteRange } from '../slice-index.js';

export interface RecorderOptions {
  /** The changer the writer used ("chg-disk:DIR"), to name each slot's device; or deviceOf. */
  changer?: string;
  /** The device of a part's volume from its part-done message (label, slot). */
  deviceOf?: (m: { label?: string; slot?: number }) => string | undefined;
  /** The element whose `crc` is the dump's (default: the first crc from a dest-* element). */
  writer?: string;
  /** Read the parts back before recording the dump as good (default true). */
  readBack?: boolean;
  /** Device properties ("NAME=VALUE") for reading the parts back (an s3: volume's connection, when not from the environment). */
  deviceProperties?: readonly string[];
  /** The transfer's chain: its slice index (SliceIndex.fromMessages) is stored with the good dump.
   * `inverse` as for SliceIndex.fromMessages. */
  index?: { specs: readonly ElementSpec[]; inverse?: Record<number, ElementSpec> };
}

/** How slice indexes are stored: SliceIndex.toJSON(), deflated. */
export const SLICE_INDEX_FORMAT = 'xfa-slice-index-json+deflate';

/** The device of slot N of a chg-disk changer, or undefined for other changers. */
export function chgDiskDevice(changer: string, slot: number | undefined): string | undefined {
  const m = /^chg-disk:(.+)$/.exec(changer);
  if (!m || slot === undefined) return undefined;
  return `file:${join(m[1], `slot${slot}`)}`;
}

/** Reads one file of a volume with source-device: its data's CRC32C and size. */
export async function readPartCrc(device: string, fileno: number, label?: string): Promise<{ crc: string; size: number }> {
  const xfer = new Xfer([element('source-device', { device, file: fileno, ...(label ? { label } : {}) }), element('dest-null', {})]);
  let crc: { crc: string; size: number } | undefined;
  xfer.on('message', (m: XferMessage) => {
    if (m.type === 'crc' && m.elt.startsWith('source-device')) crc = { crc: m.crc, size: m.size };
  });
  xfer.start();
  await xfer.done;
  if (!crc) throw new Error(`${device} file ${fileno}: no CRC from source-device`);
  return crc;
}

/**
 * The CRC32C of bytes `range` of a dump's stored stream, read from its volumes with
 * source-recovery (every part's header checked; a range ends where the written data ends, even on
 * media that pad a file's last block, as tapes do).
 */
export async function readDumpRangeCrc(d: DumpRow, parts: readonly PartRow[], range: ByteRange, deviceProperties?: readonly string[]): Promise<{ crc: string; size: number }> {
  const xfer = new Xfer([recoveryElement(d, parts, range, deviceProperties), element('dest-null', {})]);
  let crc: { crc: string; size: number } | undefined;
  xfer.on('message', (m: XferMessage) => {
    if (m.type === 'crc' && m.index === 0) crc = { crc: m.crc, size: m.size };
  });
  xfer.start();
  await xfer.done;
  if (!crc) throw new Error(`dump #${d.id}: no CRC from source-recovery`);
  return crc;
}

export class Recorder {
  readonly dumpId: number;
  /** Resolves with the dump's final status once `done` has been handled. */
  readonly finished: Promise<DumpStatus>;
  private resolve!: (s: DumpStatus) => void;
  private error: string | undefined;
  private crc: { crc: string; size: number } | undefined;
  private readonly volumesWritten = new Set<string>();
  private readonly messages: XferMessage[] = [];
  /** Why the slice index could not be composed (the dump is still good without it). */
  indexError: string | undefined;

  constructor(private readonly catalog: Catalog, info: DumpInfo & CopyInfo, private readonly opts: RecorderOptions = {}) {
    this.dumpId = catalog.startDump(info);
    this.finished = new Promise((r) => (this.resolve = r));
  }

  /** Follows a transfer: every message goes to message(). */
  attach(xfer: Xfer): this {
    xfer.on('message', (m: XferMessage) => this.message(m));
    return this;
  }

  private deviceOf(m: { label?: string; slot?: number }): string | undefined {
    if (this.opts.deviceOf) return this.opts.deviceOf(m);
    return this.opts.changer ? chgDiskDevice(this.opts.changer, m.slot) : undefined;
  }

  /** Handles one message of the transfer. Never throws: a catalog error (locked, a label clash)
   * becomes the dump's error, and the dump is recorded failed at `done`. */
  message(m: XferMessage): void {
    try {
      this.handle(m);
    } catch (e) {
      this.error ??= e instanceof CatalogError ? e.message : `catalog: ${(e as Error).message}`;
    }
  }

  private handle(m: XferMessage): void {
    if (this.opts.index && m.type !== 'progress') this.messages.push(m);
    switch (m.type) {
      case 'part-done': {
        const p = m as typeof m & { label?: string; slot?: number; eof?: boolean };
        // A 0-byte part cut short by the end of the volume (reason leom) was removed from it; the
        // 0-byte part of an empty dump (eof) is a file on the volume and is recorded.
        if (!p.successful || (p.size === 0 && p.eof !== true)) return;
        if (!p.label) {
          this.error ??= `${m.elt}: part ${p.partnum} has no volume label`;
          return;
        }
        const newSession = !this.volumesWritten.has(p.label);
        this.catalog.addPart(this.dumpId, { label: p.label, device: this.deviceOf(p), fileno: p.fileno, partnum: p.partnum, size: p.size, newSession });
        this.volumesWritten.add(p.label);
        return;
      }
      case 'info': {
        const r = /relabeled \(erased\) volume "([^"]*)"/.exec(m.message);
        if (!r) return;
        // "slot N (DEVICE): relabeled ...": a volume of another changer with the same label as one
        // the catalog has must not drop that one's parts.
        const device = /^slot (\d+) \(([^)]*)\)/.exec(m.message);
        const clash = device ? this.catalog.labelClash(r[1], this.deviceOf({ label: r[1], slot: Number(device[1]) }) ?? device[2]) : undefined;
        if (clash) this.error ??= clash;
        else this.catalog.relabeled(r[1]);
        return;
      }
      case 'crc':
        if (this.opts.writer ? m.elt === this.opts.writer : m.elt.startsWith('dest-') && !this.crc) this.crc = { crc: m.crc, size: m.size };
        return;
      case 'error':
        this.error ??= m.message;
        return;
      case 'cancel':
        this.error ??= 'cancelled';
        return;
      case 'done':
        void this.finish().then(this.resolve, (e: unknown) => {
          try {
            this.catalog.failDump(this.dumpId, `recording failed: ${(e as Error).message}`);
          } catch {
            /* the catalog is unusable: the dump stays 'running', never restorable */
          }
          this.resolve('failed');
        });
        return;
      default:
    }
  }

  private async finish(): Promise<DumpStatus> {
    if (this.error !== undefined) return this.fail(this.error);
    if (!this.crc) return this.fail('the writer reported no CRC');
    const parts = this.catalog.parts(this.dumpId);
    const total = parts.reduce((s, p) => s + p.size, 0);
    if (total !== this.crc.size) return this.fail(`parts hold ${total} bytes, the writer wrote ${this.crc.size}`);
    if (this.opts.readBack !== false) {
      const crcs: Array<[PartRow, string]> = [];
      const dump = this.catalog.dump(this.dumpId)!;
      let offset = 0;
      for (const p of parts) {
        if (!p.device) return this.fail(`part ${p.partnum} on ${p.label}: device unknown, cannot read it back`);
        let got: { crc: string; size: number };
        try {
          got = await readDumpRangeCrc(dump, parts, { offset, length: p.size }, this.opts.deviceProperties);
        } catch (e) {
          return this.fail(`part ${p.partnum} at ${p.label}:${p.fileno}: read back failed: ${e instanceof XferError ? e.message : String(e)}`);
        }
        offset += p.size;
        if (got.size !== p.size) return this.fail(`part ${p.partnum} at ${p.label}:${p.fileno}: read back ${got.size} bytes, wrote ${p.size}`);
        crcs.push([p, got.crc]);
      }
      const combined = crc32cOfParts(crcs.map(([p, crc]) => ({ crc, size: p.size })));
      if (combined !== this.crc.crc) return this.fail(`the parts read back have CRC ${combined}, the writer's is ${this.crc.crc}`);
      const index = this.sliceIndex();
      this.catalog.tx(() => {
        for (const [p, crc] of crcs) this.catalog.setPartCrc(p.id, crc);
        if (index) this.catalog.setSliceIndex(this.dumpId, SLICE_INDEX_FORMAT, index);
        this.catalog.finishDump(this.dumpId, this.crc!.size, this.crc!.crc);
      });
    } else {
      const index = this.sliceIndex();
      this.catalog.tx(() => {
        if (index) this.catalog.setSliceIndex(this.dumpId, SLICE_INDEX_FORMAT, index);
        this.catalog.finishDump(this.dumpId, this.crc!.size, this.crc!.crc);
      });
    }
    return 'ok';
  }

  private sliceIndex(): Buffer | undefined {
    if (!this.opts.index) return undefined;
    try {
      const index = SliceIndex.fromMessages(this.opts.index.specs, this.messages, { inverse: this.opts.index.inverse });
      return deflateRawSync(Buffer.from(JSON.stringify(index.toJSON())), { level: 9 });
    } catch (e) {
      this.indexError = (e as Error).message;
      return undefined;
    }
  }

  private fail(why: string): DumpStatus {
    this.catalog.failDump(this.dumpId, why);
    return 'failed';
  }
}

/** Starts a transfer (not yet started) while recording its dump; resolves with the dump id and status (never throws on a failed transfer). */
export async function recordTransfer(catalog: Catalog, xfer: Xfer, info: DumpInfo & CopyInfo, opts: RecorderOptions = {}):
Promise<{ dumpId: number; status: DumpStatus; error?: XferError }> {
  const rec = new Recorder(catalog, info, opts).attach(xfer);
  let error: XferError | undefined;
  xfer.start();
  try {
    await xfer.done;
  } catch (e) {
    if (!(e instanceof XferError)) throw e;
    error = e;
  }
  return { dumpId: rec.dumpId, status: await rec.finished, error };
}
