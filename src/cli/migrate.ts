/** `xfa migrate` (amvault): options to MigrateOptions, lines or JSON out; src/catalog/migrate.ts does the work. */
import { constants } from 'node:os';
import { migrate as runMigrate, MigrateError, planMigration, type CopyResult, type MigrateEvent, type MigrateOptions, type PlanItem } from '../catalog/migrate.js';
import type { S3DeviceProperties } from '../devices/s3.js';
import { parseSize } from '../props.js';
import { humanBytes as formatSize } from './format.js';
import type { ParsedArgs } from './args.js';
import { withCatalog } from './catalog.js';
import { Exit, UsageError, type Io } from './io.js';

const name = (i: PlanItem): string => `${i.host}:${i.disk} level ${i.level} ${i.datestamp}`;
const id = (i: PlanItem): string => (i.id === null ? 'new' : `#${i.id}`);
const size = (n: number | null | undefined): string => (n === null || n === undefined ? '?' : formatSize(n));

function options(args: ParsedArgs, io: Io): MigrateOptions {
  const v = args.values ?? {};
  const str = (k: string): string | undefined => (typeof v[k] === 'string' && v[k] !== '' ? (v[k] as string) : undefined);
  if (args.positionals.length) throw new UsageError(`migrate takes options only (unexpected "${args.positionals[0]}")`, 'migrate');
  const to = str('to');
  if (!to) throw new UsageError('migrate wants --to STORAGE (chg-disk:DIR, s3:BUCKET/PREFIX, a device)', 'migrate');
  let partSize: number | undefined;
  if (str('part-size') !== undefined) {
    try {
      partSize = parseSize(str('part-size')!);
    } catch (e) {
      throw new UsageError(`--part-size: ${(e as Error).message}`, 'migrate');
    }
  }
  const cache = str('part-cache');
  if (cache !== undefined && !['memory', 'disk', 'none'].includes(cache)) throw new UsageError(`--part-cache ${cache}: memory, disk or none`, 'migrate');
  const props = Array.isArray(v['device-property']) ? v['device-property'].map(String) : [];
  for (const p of props) if (!/^[A-Za-z_][A-Za-z0-9_-]*=/.test(p)) throw new UsageError(`--device-property "${p}": want NAME=VALUE`, 'migrate');
  const env = io.env;
  const s3: S3DeviceProperties = {};
  const endpoint = str('s3-endpoint') ?? env.S3_ENDPOINT;
  if (endpoint) s3.ENDPOINT = endpoint;
  else if (env.S3_HOST) Object.assign(s3, { S3_HOST: env.S3_HOST, ...(env.S3_SSL ? { S3_SSL: env.S3_SSL } : {}) });
  const region = str('s3-region') ?? env.S3_REGION;
  if (region) s3.REGION = region;
  const access = str('s3-access-key') ?? env.S3_ACCESS_KEY;
  const secret = str('s3-secret-key') ?? env.S3_SECRET_KEY;
  if ((access === undefined) !== (secret === undefined)) throw new UsageError('give both the S3 access key and the secret key (or neither: the AWS environment or profile)', 'migrate');
  if (access !== undefined) Object.assign(s3, { S3_ACCESS_KEY: access, S3_SECRET_KEY: secret });
  return {
    to, from: str('from'), host: str('host'), disk: str('disk'), since: str('since'), fullsOnly: v['fulls-only'] === true, latestFulls: v['latest-fulls'] === true,
    partSize, labelTemplate: str('label-template'), labelstr: str('labelstr'), deviceProperties: props, partCache: cache === 'none' ? undefined : cache, s3,
  };
}

const planJson = (i: PlanItem) => ({ type: 'plan', ...i });

function resultLine(r: CopyResult): string {
  if (r.status === 'ok') {
    return `      ok: copy #${r.copyId}, ${r.parts} part${r.parts === 1 ? '' : 's'} on ${r.labels!.join(', ')} (${size(r.bytes)} in ${r.seconds!.toFixed(1)} s)\n`;
  }
  return `      FAILED${r.copyId ? ` (copy #${r.copyId} recorded failed)` : ''}: ${r.error}\n`;
}

export function migrate(args: ParsedArgs, io: Io): Promise<number> {
  const opts = options(args, io);
  const quiet = args.quiet;
  const dry = args.values?.['dry-run'] === true;
  return withCatalog(args, io, async (cat) => {
    if (dry) {
      let plan: PlanItem[];
      try {
        plan = planMigration(cat, opts);
      } catch (e) {
        if (e instanceof MigrateError) throw new UsageError(e.message, 'migrate');
        throw e;
      }
      const copy = plan.filter((i) => i.action === 'copy');
      const summary = { type: 'summary', dryRun: true, planned: plan.length, copy: copy.length, skip: plan.length - copy.length, bytes: copy.reduce((s, i) => s + (i.size ?? 0), 0) };
      if (args.json) {
        for (const i of plan) io.out(`${JSON.stringify(planJson(i))}\n`);
        io.out(`${JSON.stringify(summary)}\n`);
        return Exit.ok;
      }
      for (const i of plan) {
        io.out(i.action === 'copy' ? `copy ${id(i)} ${name(i)}  ${size(i.size)}  ${i.from} -> ${i.to}\n` : `skip ${id(i)} ${name(i)}  ${i.reason}\n`);
      }
      io.out(`dry run: ${copy.length} dump${copy.length === 1 ? '' : 's'} to copy (${formatSize(summary.bytes)}), ${summary.skip} skipped; nothing changed\n`);
      return Exit.ok;
    }

    const abort = new AbortController();
    let signal: NodeJS.Signals | undefined;
    const onSignal = (s: NodeJS.Signals): void => {
      signal ??= s;
      abort.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const onEvent = (e: MigrateEvent): void => {
      if (args.json) {
        if (e.type === 'progress') return;
        io.out(`${JSON.stringify(e.type === 'result' ? { type: 'result', ...e.result } : e)}\n`);
        return;
      }
      if (e.type === 'interrupted') io.out(`copies left running by an interrupted migrate, now failed: ${e.ids.map((x) => `#${x}`).join(', ')}\n`);
      else if (e.type === 'start' && !quiet) {
        io.out(`[${e.n}/${e.total}] ${id(e.item)} ${name(e.item)} (${size(e.item.size)}) ${e.item.from} -> ${e.item.to}\n`);
      } else if (e.type === 'result') {
        const r = e.result;
        if (r.status === 'skipped') {
          if (!quiet) io.out(`skip ${id(r.item)} ${name(r.item)}: ${r.error}\n`);
        } else if (r.status === 'failed' && quiet) io.out(`${id(r.item)} ${name(r.item)}:\n${resultLine(r)}`);
        else if (!quiet) io.out(resultLine(r));
      }
    };
    try {
      const report = await runMigrate(cat, { ...opts, onEvent, signal: abort.signal });
      if (args.json) io.out(`${JSON.stringify({ type: 'summary', ...report, results: undefined })}\n`);
      else {
        io.out(`migrate to ${report.to}: ${report.copied} copied (${formatSize(report.bytes)}), ${report.skipped} skipped, ${report.failed} failed`
          + ` in ${report.seconds.toFixed(1)} s\n`);
      }
      if (signal) return 128 + constants.signals[signal];
      return report.failed ? Exit.failed : Exit.ok;
    } catch (e) {
      if (e instanceof MigrateError) throw new UsageError(e.message, 'migrate');
      throw e;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  });
}
