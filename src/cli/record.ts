/**
 * `xfa run --record`: the dump a pipeline writes with dest-taper is recorded in the catalog.
 *
 * Host, disk, level and datestamp come from dest-taper's `header` (the first line is enough:
 * "AMANDA: SPLIT_FILE 20261122 client /data part 1/-1 lev 0 comp N program /bin/tar"); compression
 * and encryption from the chain's filters. When the chain has filter-tar-index, the slice index
 * is stored with the dump, so `xfa restore PATH` reads only the slices that hold PATH.
 * The Recorder (src/catalog/recorder.ts) marks the dump ok only after its parts were read back and
 * their CRCs add up to the writer's; otherwise failed, with why — and `xfa run` exits 1.
 */
import { Recorder } from '../catalog/recorder.js';
import { openCatalog, type Catalog, type DumpInfo } from '../catalog/db.js';
import { dumpName } from '../catalog/verify.js';
import { AmandaHeaderError, parseHeader } from '../media/header.js';
import type { ElementSpec } from '../registry.js';
import type { GraphPlan } from '../dsl/graph.js';
import type { GraphMessage, XferGraph } from '../graph.js';
import type { Xfer } from '../xfer.js';
import type { ParsedArgs } from './args.js';
import { catalogPath } from './catalog.js';
import { Exit, type Io } from './io.js';

/** What a chain's filters did to the data, as the catalog's compression and encryption columns. */
export function chainCodecs(specs: readonly ElementSpec[]): { compression?: string; encryption?: string } {
  const out: { compression?: string; encryption?: string } = {};
  for (const s of specs) {
    if (s.name === 'filter-zstd') out.compression = 'zstd';
    else if (s.name === 'filter-gzip') out.compression = 'gzip';
    else if (s.name === 'filter-encrypt') out.encryption = 'aes-256-gcm';
    else if (s.name === 'filter-process') {
      const cmd = String(s.props.cmd ?? (Array.isArray(s.props.argv) ? s.props.argv.join(' ') : ''));
      const m = /\b(zstd|gzip|pigz|xz|bzip2|lz4)\b/.exec(cmd);
      if (m && !/\s-d\b|--decompress/.test(cmd)) out.compression = m[1] === 'pigz' ? 'gzip' : m[1];
    }
  }
  return out;
}

/** The dump a dest-taper chain writes, from its header; an error message when it cannot be recorded. */
export function dumpOfChain(specs: readonly ElementSpec[]): DumpInfo | string {
  const dest = specs[specs.length - 1];
  if (dest?.name !== 'dest-taper') return `--record needs a pipeline ending in dest-taper (it ends in ${dest?.name ?? 'nothing'})`;
  const changer = String(dest.props.changer ?? '');
  if (changer.startsWith('chg-multi:')) return '--record: dest-taper with a chg-multi changer is not supported yet (use chg-disk:DIR or one device)';
  let h;
  try {
    h = parseHeader(String(dest.props.header ?? ''));
  } catch (e) {
    return `--record: dest-taper's header: ${e instanceof AmandaHeaderError ? e.message : String(e)}`;
  }
  if (h.type !== 'FILE' && h.type !== 'SPLIT_FILE') return `--record: dest-taper's header is a ${h.type} header, not a dump's`;
  const fromHeader: Partial<DumpInfo> = {
    compression: h.compressed ? (h.compSuffix ?? 'yes') : undefined,
    encryption: h.encrypted ? (h.encryptSuffix ?? 'yes') : undefined,
  };
  const codecs = chainCodecs(specs);
  return {
    host: h.name, disk: h.disk ?? '', level: h.dumplevel ?? 0, datestamp: h.datestamp, program: h.program,
    compression: codecs.compression ?? fromHeader.compression, encryption: codecs.encryption ?? fromHeader.encryption,
  };
}

export interface Recording {
  /** After the transfer's `done`: prints the dump's fate; the exit status it calls for. */
  finish(): Promise<number>;
}

/** Why a pipeline cannot be recorded, and the exit status that calls for (usage: the pipeline; failed: the catalog). */
export interface RecordRefusal {
  error: string;
  exit: number;
}

/** The dump a chain ending in dest-taper writes and a Recorder for it, in the opened catalog. */
function recorderFor(args: ParsedArgs, io: Io, specs: readonly ElementSpec[], index: boolean):
{ catalog: Catalog; rec: Recorder; info: DumpInfo; storage?: string } | RecordRefusal {
  const info = dumpOfChain(specs);
  if (typeof info === 'string') return { error: info, exit: Exit.usage };
  let catalog: Catalog;
  try {
    catalog = openCatalog(catalogPath(args, io));
  } catch (e) {
    return { error: (e as Error).message, exit: Exit.failed };
  }
  const changer = String(specs[specs.length - 1].props.changer);
  const storage = changer.startsWith('chg-disk:') ? changer : undefined;
  let rec: Recorder;
  try {
    rec = new Recorder(catalog, { ...info, storage }, {
      changer: storage, deviceOf: storage ? undefined : () => changer, index: index ? { specs } : undefined,
    });
  } catch (e) {
    catalog.close();
    return { error: `cannot record the dump in ${catalog.file}: ${(e as Error).message}`, exit: Exit.failed };
  }
  return { catalog, rec, info, storage };
}

/** Opens the catalog and follows `xfer`; a refusal when the pipeline cannot be recorded. */
export function startRecording(args: ParsedArgs, io: Io, specs: readonly ElementSpec[], xfer: Xfer): Recording | RecordRefusal {
  const r = recorderFor(args, io, specs, specs.some((s) => s.name === 'filter-tar-index'));
  if ('error' in r) return r;
  const { catalog, rec } = r;
  rec.attach(xfer);
  return {
    async finish(): Promise<number> {
      try {
        const status = await rec.finished;
        const d = catalog.dump(rec.dumpId)!;
        const line = `dump #${d.id} ${dumpName(d)}: ${status}${d.error ? ` (${d.error})` : ''}`;
        if (status === 'ok') {
          if (!args.json && !args.quiet) io.out(`recorded ${line}${rec.indexError ? `; no slice index: ${rec.indexError}` : ''}\n`);
          return Exit.ok;
        }
        io.err(`xfa: recorded ${line}\n`);
        return Exit.failed;
      } finally {
        catalog.close();
      }
    },
  };
}

/** One stream of a mux's `stream-map` message. */
interface MapEntry {
  id: number;
  host?: string;
  disk?: string;
  level?: number;
  program?: string;
  label?: string;
}

/**
 * `--record` for a multiplexed pipeline: the trunk [mux, filters..., dest-taper] is recorded as
 * the container dump (from dest-taper's header, like a plain dump), and every stream of the mux's
 * stream map as a dump of its own (host, disk, level and program from the map, compression from
 * its branch's filters) with `stream` = its id and `container` = the container's id; it has no
 * parts — the container's parts hold it. A stream is ok when the container is ok and the stream
 * ended complete (eos); one whose source failed (aborted) is recorded failed with its branch's
 * error — the other streams stay good.
 */
export function startGraphRecording(args: ParsedArgs, io: Io, plan: GraphPlan, g: XferGraph): Recording | RecordRefusal {
  if (plan.channels.some((c) => c.kind === 'demux')) return { error: '--record records multiplexed backups (mux), not demux pipelines', exit: Exit.usage };
  const trunkIndex = plan.chains.findIndex((c) => c.role === 'trunk');
  const trunk = plan.chains[trunkIndex].elements.map((e) => ({ name: e.name, props: e.props }));
  const r = recorderFor(args, io, trunk, false);
  if ('error' in r) return r;
  const { catalog, rec, info, storage } = r;
  let map: MapEntry[] = [];
  const ends = new Map<number, { state: string; bytes: number }>();
  const chainErrors = new Map<string, string>(); // first element's label → the chain's error
  g.on('message', (m: GraphMessage) => {
    if (m.type === 'chain-done') {
      if (!m.ok) chainErrors.set(plan.chains[m.chain].elements[0]?.label ?? '', m.error ?? 'failed');
      return;
    }
    if (m.type === 'stream-map') map = (JSON.parse(m.map) as { streams: MapEntry[] }).streams;
    if (m.type === 'stream' && m.state !== 'open') ends.set(m.stream, { state: m.state, bytes: m.bytes });
    if (m.chain === trunkIndex || m.type === 'done') rec.message(m);
  });
  const branchOf = (label: string | undefined) => plan.chains.find((c) => c.role === 'branch' && c.elements[0]?.label === label);
  return {
    async finish(): Promise<number> {
      try {
        const status = await rec.finished;
        const d = catalog.dump(rec.dumpId)!;
        const lines: string[] = [];
        let failed = status !== 'ok';
        catalog.tx(() => {
          for (const s of map) {
            const branch = branchOf(s.label);
            const codecs = branch ? chainCodecs(branch.elements.map((e) => ({ name: e.name, props: e.props }))) : {};
            const id = catalog.startDump({
              host: s.host || info.host, disk: s.disk || `${info.disk}#${s.id}`, level: s.level ?? info.level, datestamp: info.datestamp,
              program: s.program, ...codecs, stream: s.id, container: d.id, storage,
            });
            const end = ends.get(s.id);
            let why: string | undefined;
            if (status !== 'ok') why = `the multiplexed file (dump #${d.id}) failed`;
            else if (end?.state !== 'eos') why = `its source failed: ${chainErrors.get(s.label ?? '') ?? (end ? 'aborted' : 'no end of stream')}`;
            if (why) {
              catalog.failDump(id, why);
              failed = true;
            } else catalog.finishDump(id, end!.bytes, null);
            lines.push(`  stream ${s.id}: dump #${id} ${dumpName(catalog.dump(id)!)}: ${why ? `failed (${why})` : 'ok'}`);
          }
        });
        const head = `dump #${d.id} ${dumpName(d)} (multiplexed, ${map.length} streams): ${status}${d.error ? ` (${d.error})` : ''}`;
        if (!failed) {
          if (!args.json && !args.quiet) io.out(`recorded ${head}\n${lines.join('\n')}\n`);
          return Exit.ok;
        }
        io.err(`xfa: recorded ${head}\n${lines.join('\n')}\n`);
        return Exit.failed;
      } finally {
        catalog.close();
      }
    },
  };
}
