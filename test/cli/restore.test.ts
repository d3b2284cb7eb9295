// xfa restore on a catalog filled by real backups (tar of a tree over vtapes; one through
// filter-tar-index + zstd + AES-GCM with its slice index): ls → one path → everything → verify,
// --output and --stdout, --json; and every bad input with its message and exit status.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import type { Io } from '../../src/cli/io.js';
import { native } from '../../src/native.js';
import { backup, bigTree, catalogRows, changer, corrupt, DUMP, indexedBackup, keyFile, open, tarTree, treeSums, vtapeFile } from '../restore/helpers-dump.js';
import { BIN, xfa } from './helpers.js';

let root: string;
let db: string;
let key: string;
let tree: ReturnType<typeof bigTree>;
let small: ReturnType<typeof tarTree>;
let enc: number;
let plain: number;
let n = 0;
const fresh = () => join(root, `out-${n++}`);
const walk = (d: string, base = d): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) =>
  e.isDirectory() ? walk(join(d, e.name), base) : [relative(base, join(d, e.name))]);

/** runCli in this process, with stdout and stderr collected. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: Io = { out: (t) => void (stdout += t), err: (t) => void (stderr += t), tty: false, columns: 100, env: { HOME: root } };
  const code = await runCli(['restore', '--catalog', db, ...args], io);
  return { code, stdout, stderr };
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'xfa-cli-restore-'));
  const vt = changer(root, 8);
  const cat = open(root);
  key = keyFile(root);
  tree = bigTree(root);
  const a = await indexedBackup(cat, vt, tree.argv, key);
  expect(a.status, a.error?.message).toBe('ok');
  enc = a.dumpId;
  small = tarTree(join(root, 'p'));
  const b = await backup(cat, vt, small.argv, { ...DUMP, level: 1, datestamp: '20261123010000' }, 5);
  expect(b.status, b.error?.message).toBe('ok');
  plain = b.dumpId;
  cat.close();
  db = join(root, 'catalog.db');
}, 120_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('xfa restore', () => {
  it('ls → one path (few bytes read) → everything → verify, through the real command', async () => {
    const ls = await xfa(['ls', '-c', db]);
    expect(ls.stdout).toMatch(new RegExp(`#${enc} client:/data level 0 20261122063000  ok .* indexed`));
    const want = tree.files[100];
    const out = fresh();
    const one = await xfa(['restore', '-c', db, '--dump', String(enc), '--to', out, '--key-file', key, '--json', want]);
    expect(one.stderr).toBe('');
    expect(one.code).toBe(0);
    const j = JSON.parse(one.stdout) as { bytesRead: number; dumpSize: number; selective: boolean; members: string[] };
    expect(j).toMatchObject({ selective: true, members: [want] });
    expect(j.bytesRead).toBeLessThan(j.dumpSize / 20);
    expect(walk(out)).toEqual([want]);
    expect(readFileSync(join(out, want)).equals(readFileSync(join(tree.src, want)))).toBe(true);
    const all = fresh();
    const every = await xfa(['restore', '-c', db, '--host', 'client', '--disk', '/data', '--level', '0', '--to', all, '--key-file', key]);
    expect(every.code).toBe(0);
    expect(every.stdout).toMatch(new RegExp(`^restored the whole dump of #${enc} client:/data level 0 20261122063000 into .*: read (\\S+ \\S+) of \\1 \\(all of it\\); CRC32C [0-9a-f]{8} ok\\n$`));
    expect(treeSums(all)).toEqual(treeSums(tree.src));
    expect((await xfa(['verify', '-c', db])).code).toBe(0);
  });

  it('several matches: the newest, said on stderr; --output FILE and --stdout give the native stream', async () => {
    const tarBytes = spawnSync(small.argv[0], small.argv.slice(1), { maxBuffer: 1 << 30 }).stdout as Buffer;
    const file = join(root, 'newest.tar');
    const r = await cli(['--host', 'client', '--output', file]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`xfa: 2 dumps match; restoring the newest: #${plain} client:/data level 1 20261123010000\n`);
    expect(native.crc32c(readFileSync(file))).toBe(native.crc32c(tarBytes));
    // --stdout (-o -) through the real command: the tar, byte for byte; the summary on stderr
    const big = spawnSync(tree.argv[0], tree.argv.slice(1), { maxBuffer: 1 << 30 }).stdout as Buffer;
    for (const flag of [['--stdout'], ['-o', '-']]) {
      const s = spawnSync(process.execPath, [BIN, 'restore', '-c', db, '--dump', String(enc), ...flag, '--key-file', key],
        { maxBuffer: 1 << 30, env: { ...process.env, XFA_FROM_SOURCE: '1' } });
      expect(s.status, s.stderr.toString()).toBe(0);
      expect(native.crc32c(s.stdout)).toBe(native.crc32c(big));
      expect(s.stderr.toString()).toMatch(/^restored the whole dump of #\d+ .* to stdout: /);
    }
  });

  it('usage errors exit 2: no selector, no target, two targets, paths without --to, a bad --date', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--to', fresh()], /restore wants a dump: --dump ID, or --host\/--disk\/--date\/--level/],
      [['--host', 'client'], /restore wants exactly one target: --to DIR \(extract\), --output FILE or --stdout \(the native stream\); there is no default/],
      [['--host', 'client', '--to', 'x', '--stdout'], /exactly one target/],
      [['--host', 'client', '--output', 'x.tar', 'etc/hosts'], /PATHs are extracted: give --to DIR/],
      [['--host', 'client', '--to', 'x', '--date', 'yesterday'], /--date wants YYYYMMDD\[hhmmss\]/],
      [['--dump', 'one', '--to', 'x'], /--dump wants a dump id/],
      [['--hots', 'client'], /did you mean "--host"/],
    ];
    for (const [args, re] of cases) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(re);
      expect(r.stderr).toContain('Try "xfa restore --help".');
    }
  });

  it('failures exit 1 with a clear message, and leave the catalog as it was', async () => {
    const cat = open(root);
    const before = catalogRows(cat);
    const parts = cat.parts(enc);
    cat.close();
    // unknown dump
    let r = await cli(['--host', 'client', '--disk', '/nope', '--to', fresh()]);
    expect([r.code, r.stderr]).toEqual([1, 'xfa: no dump matches host client, disk /nope; the catalog has dumps of client:/data\n']);
    r = await cli(['--dump', '77', '--to', fresh()]);
    expect([r.code, r.stderr]).toEqual([1, 'xfa: no dump #77 in the catalog\n']);
    // no catalog
    r = await cli(['--dump', '1', '--to', fresh(), '--catalog', join(root, 'none.db')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no catalog at .*none.db/);
    // wrong key, no key
    const other = join(root, 'other.key');
    writeFileSync(other, 'cd'.repeat(32));
    const file = join(root, 'x.tar');
    r = await cli(['--dump', String(enc), '--output', file, '--key-file', other]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^xfa: dump #\d+: .*wrong key/);
    expect(existsSync(file) || existsSync(`${file}.tmp`)).toBe(false);
    r = await cli(['--dump', String(enc), '--to', fresh()]);
    expect([r.code, r.stderr]).toEqual([1, 'xfa: the dump is encrypted (filter-encrypt): give its key with --key-file, --passphrase-file or --private-key\n']);
    // unwritable target
    writeFileSync(join(root, 'plainfile'), '');
    r = await cli(['--dump', String(enc), '--to', join(root, 'plainfile', 'd'), '--key-file', key]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^xfa: cannot restore into .*plainfile\/d: ENOTDIR/);
    // missing volume
    const dev = parts[2].device!.slice('file:'.length);
    renameSync(dev, `${dev}.gone`);
    try {
      r = await cli(['--dump', String(enc), '--to', fresh(), '--key-file', key]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`volume ${parts[2].label} is missing: ${parts[2].device}`);
    } finally {
      renameSync(`${dev}.gone`, dev);
    }
    // corrupt part
    const f = vtapeFile(parts[1].device!.slice('file:'.length), parts[1].fileno);
    corrupt(f, 2000);
    try {
      r = await cli(['--dump', String(enc), '--to', fresh(), '--key-file', key, '--json']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^xfa: part 2 at ${parts[1].label}:${parts[1].fileno} is corrupt: CRC32C`));
      expect(JSON.parse(r.stdout)).toMatchObject({ kind: 'corrupt', where: `${parts[1].label}:${parts[1].fileno}` });
    } finally {
      corrupt(f, 2000);
    }
    // a path not in the dump
    r = await cli(['--dump', String(enc), '--to', fresh(), '--key-file', key, 'tree/nothing']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not in dump #\d+ \(its index lists \d+ members\): tree\/nothing/);
    // full disk: /dev/full as the directory's file system is not possible; a 1 MiB tmpfs is
    const mnt = join(root, 'small');
    spawnSync('mkdir', [mnt]);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
    if (m.status !== 0) throw new Error(`this test mounts a tmpfs (run as root): ${m.stderr}`);
    try {
      r = await cli(['--dump', String(enc), '--output', join(mnt, 'all.tar'), '--key-file', key]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/no space left on device/i);
      expect(readdirSync(mnt)).toEqual([]);
    } finally {
      spawnSync('umount', [mnt]);
    }
    const after = open(root);
    expect(catalogRows(after)).toEqual(before);
    after.close();
  });

  it('--list prints the members from the slice index without reading a volume; a dump without an index says how to list it', async () => {
    const all = await cli(['--dump', String(enc), '--list', '--json']);
    expect(all.code, all.stderr).toBe(0);
    const listed = JSON.parse(all.stdout) as { members: Array<{ path: string; objectType: string; size: number }> };
    for (const f of tree.files) expect(listed.members.map((m) => m.path)).toContain(f);
    const dir = tree.files[100].split('/').slice(0, -1).join('/');
    const under = await cli(['--dump', String(enc), '--list', dir]);
    expect(under.code).toBe(0);
    const lines = under.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l.split(/\s+/).slice(2).join(' ').startsWith(dir))).toBe(true);
    expect(lines.join('\n')).toContain(tree.files[100]);
    const none = await cli(['--dump', String(plain), '--list']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(new RegExp(`dump #${plain} .* has no slice index in the catalog: list it by reading it, e.g. xfa restore --dump ${plain} --stdout \\| tar -tvf -`));
  });

  it('a path that is not in the dump: exit 1, and the --to directory it would have made is not left behind', async () => {
    const out = join(fresh(), 'deeper');
    const r = await cli(['--dump', String(enc), '--to', out, '--key-file', key, 'no/such/file']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not in dump #\d+ .*no\/such\/file/);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(dirname(out))).toBe(false);
  });

  it('a directory and a path under it together restore fine (tar is given the directory only)', async () => {
    const f = tree.files[100];
    const d = f.split('/').slice(0, -1).join('/');
    const out = fresh();
    const a = await cli(['--dump', String(enc), '--to', out, '--key-file', key, `${d}/`, f]);
    expect(a.code, a.stderr).toBe(0);
    expect(readFileSync(join(out, f)).equals(readFileSync(join(tree.src, f)))).toBe(true);
    const g = small.files[0];
    const gd = g.split('/').slice(0, -1).join('/');
    const out2 = fresh();
    const b = await cli(['--dump', String(plain), '--to', out2, gd, g]);
    expect(b.code, b.stderr).toBe(0);
    expect(walk(out2)).toContain(g);
  });

  it('a reader that goes away (--stdout | head) fails at once as a target fault, without re-reading the dump', () => {
    const r = spawnSync('bash', ['-c', `XFA_FROM_SOURCE=1 node ${BIN} restore -c ${db} --dump ${enc} --key-file ${key} --stdout --json 2>${root}/epipe.err | head -c 10 >/dev/null; echo "status \${PIPESTATUS[0]}"`], { encoding: 'utf8' });
    expect(r.stdout).toMatch(/status 1/);
    const err = readFileSync(join(root, 'epipe.err'), 'utf8');
    expect(err).toMatch(/dest-fd.*EPIPE/);
    const last = JSON.parse(err.trim().split('\n').pop()!) as { kind: string };
    expect(last.kind).toBe('target'); // not diagnosed as a media problem (that would read every part again)
  });

  it('--help describes selectors, targets and exit statuses', async () => {
    const r = await xfa(['restore', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: xfa restore SELECTORS TARGET \[PATH\.\.\.\]/);
    expect(r.stdout).toContain('--key-file FILE');
    expect(r.stdout).toContain('Exit status: 0 restored, 1 failed');
  });
});
