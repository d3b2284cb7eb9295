// Interoperability with Debian's Amanda 3.5.1, both ways, on real media:
//  * media written by amdump/amflush (fixtures/amanda/make-media.sh, run here): xfa reads the
//    vtape parts (source-device) and the holding-disk chunks (source-holding), and the bytes
//    match the CRCs Amanda put in the headers;
//  * media written by xfa (dest-device, dest-holding): Amanda's amrestore restores them, and the
//    native path `dd bs=32k skip=1 | [gzip -dc |] tar -x` works;
//  * xfa appends a file to a volume Amanda labeled and wrote, and amrestore reads both.
import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEADER_SIZE, parseHeader, type AmandaHeader } from '../../src/media/header.js';
import { labelVolume, scanVolume } from '../../src/media/volume.js';
import { element, runClean } from '../helpers.js';
import { asBackup, backupDir, makeAmandaMedia, removeAmandaConfig, requireAmanda, sharedTmp } from './amanda.js';
import { crc32c, crcOf, dumpHeader, mkdirp, readFile, writeFile } from './media-helpers.js';

const config = `xfatest${process.pid}`;
let root: string;
let am: string;
let data: string;
let tarball: Buffer;

function sh(cmd: string, cwd = root): string {
  const r = spawnSync('bash', ['-c', cmd], { cwd, encoding: 'latin1', maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`${cmd}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Every regular file and symlink under dir with its content, for comparing trees. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of sh(`find . \\( -type f -o -type l \\) -print0 | sort -z | xargs -0 -r sha256sum`, dir).split('\n').filter(Boolean)) {
    const [sum, name] = line.split(/ {2}/);
    out[name] = sum;
  }
  for (const l of sh('find . -type l -printf "%p -> %l\\n"', dir).split('\n').filter(Boolean)) out[l] = 'link';
  return out;
}

beforeAll(() => {
  requireAmanda();
  root = sharedTmp('xfa-amanda-');
  am = join(root, 'am');
  makeAmandaMedia(am, config);
  data = join(am, 'data');
  tarball = Buffer.from(sh(`tar -C '${data}' -cf - .`), 'latin1');
}, 180_000);

afterAll(() => {
  removeAmandaConfig(config);
  if (root) rmSync(root, { recursive: true, force: true });
});

async function readParts(vol: string): Promise<{ headers: AmandaHeader[]; parts: Buffer[] }> {
  const scan = scanVolume(`file:${vol}`);
  const parts: Buffer[] = [];
  for (const f of scan.files) {
    const r = await readFile(`file:${vol}`, f.file);
    expect(r.error).toBeUndefined();
    parts.push(r.data!);
  }
  return { headers: scan.files.map((f) => f.header), parts };
}

describe('xfa reads what Amanda wrote', () => {
  it('vtape parts of a dump straight to tape: each is the file after 32 KiB, together the tar of the DLE', async () => {
    const vol = join(am, 'vtapes', 'slot2');
    const { headers, parts } = await readParts(vol);
    expect(headers.length).toBeGreaterThanOrEqual(2);
    headers.forEach((h, i) => expect(h).toMatchObject({ type: 'SPLIT_FILE', name: 'localhost', disk: 'plain', partnum: i + 1, totalparts: -1, compressed: false }));
    const files = readdirSync(vol).filter((f) => !f.startsWith('00000.')).sort();
    files.forEach((f, i) => expect(parts[i].equals(readFileSync(join(vol, f)).subarray(HEADER_SIZE))).toBe(true));
    const out = mkdirp(join(root, 'x-plain'));
    writeFileSync(join(root, 'plain.tar'), Buffer.concat(parts));
    sh(`tar -C '${out}' -xf plain.tar`);
    expect(Object.keys(tree(data))).toEqual(['./big.txt', './link', './noise.bin', './sub dir/hello.txt', './link -> big.txt']);
    expect(tree(out)).toEqual(tree(data));
  });

  it('vtape parts flushed from holding: the gzip stream matches SERVER-CRC, its content NATIVE-CRC', async () => {
    const { headers, parts } = await readParts(join(am, 'vtapes', 'slot1'));
    expect(headers.length).toBeGreaterThanOrEqual(3);
    const stream = Buffer.concat(parts);
    const h = headers[0];
    expect(h).toMatchObject({ disk: 'gz', compressed: true, compSuffix: '.gz', uncompressCmd: '/bin/gzip -dc |' });
    expect({ crc: crc32c(stream), size: stream.length }).toEqual(h.serverCrc);
    const tar = gunzipSync(stream);
    expect({ crc: crc32c(tar), size: tar.length }).toEqual(h.nativeCrc);
    expect(h.origSize).toBe(Math.round(tar.length / 1024));
    const out = mkdirp(join(root, 'x-gz'));
    writeFileSync(join(root, 'gz.tar'), tar);
    sh(`tar -C '${out}' -xf gz.tar`);
    expect(tree(out)).toEqual(tree(data));
  });

  it('holding-disk chunks (moved after amflush): source-holding follows CONT_FILENAME to the same stream', async () => {
    const dir = join(am, 'holding-copy', readdirSync(join(am, 'holding-copy'))[0]);
    const chunks = readdirSync(dir).sort();
    expect(chunks.length).toBeGreaterThanOrEqual(4);
    const first = parseHeader(readFileSync(join(dir, 'localhost.gz.0')).subarray(0, HEADER_SIZE));
    expect(first).toMatchObject({ type: 'FILE', contFilename: `${join(am, 'holding')}/${dir.split('/').pop()}/localhost.gz.0.1` });
    const r = await runClean([element('source-holding', { path: join(dir, 'localhost.gz.0') }), element('dest-buffer', { 'max-size': 1 << 30 })]);
    expect(r.error).toBeUndefined();
    const stream = r.xfer.result(1)!;
    expect({ crc: crc32c(stream), size: stream.length }).toEqual(first.serverCrc);
    expect(crcOf(r.messages, 'source-holding#1')).toMatchObject({ crc: first.serverCrc!.crc, size: first.serverCrc!.size });
    expect(r.messages.filter((m) => m.type === 'info')).toHaveLength(chunks.length - 1);
    const { parts } = await readParts(join(am, 'vtapes', 'slot1'));
    expect(stream.equals(Buffer.concat(parts))).toBe(true);
  });
});

describe('Amanda reads what xfa wrote', () => {
  const datestamp = '20240102030405';

  it('amrestore restores a dump xfa wrote to a vtape in 3 parts; dd bs=32k skip=1 | tar -x works', async () => {
    const vt = mkdirp(join(root, 'xfa-vt1'));
    labelVolume(`file:${vt}`, 'XFA-TEST-1', { timestamp: datestamp });
    const cut = [0, 100_000, 250_000, tarball.length];
    for (let i = 0; i < 3; i++) {
      const w = await writeFile(`file:${vt}`, tarball.subarray(cut[i], cut[i + 1]),
        dumpHeader({ datestamp, name: 'client', disk: '/srv/data', partnum: i + 1, totalparts: 3 }), { label: 'XFA-TEST-1' });
      expect(w.error).toBeUndefined();
    }
    const out = backupDir(join(root, 'amrestore1'));
    const r = asBackup(`amrestore file:${vt} client /srv/data`, out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('Restoring from tape XFA-TEST-1 starting with file 1.');
    expect(r.stderr).toContain('restoring split dumpfile: date 20240102030405 host client disk /srv/data part 3/3 lev 0 comp N program /bin/tar');
    const restored = readdirSync(out).sort();
    expect(restored).toEqual([1, 2, 3].map((i) => `client._srv_data.${datestamp}.0.000000${i}`));
    expect(Buffer.concat(restored.map((f) => readFileSync(join(out, f)))).equals(tarball)).toBe(true);

    const raw = backupDir(join(root, 'amrestore1-raw'));
    expect(asBackup(`amrestore -r file:${vt}`, raw).status).toBe(0);
    const vtFiles = readdirSync(vt).filter((f) => !f.startsWith('00000.')).sort();
    readdirSync(raw).sort().forEach((f, i) => expect(readFileSync(join(raw, f)).equals(readFileSync(join(vt, vtFiles[i])))).toBe(true));

    const x = mkdirp(join(root, 'x-dd'));
    sh(`for f in '${vt}'/0000[123].*; do dd if="$f" bs=32k skip=1 status=none; done | tar -C '${x}' -xf -`);
    expect(tree(x)).toEqual(tree(data));
  });

  it('a gzip-compressed dump: amrestore uncompresses it by the header; dd | gzip -dc | tar -x works', async () => {
    const vt = mkdirp(join(root, 'xfa-vt2'));
    labelVolume(`file:${vt}`, 'XFA-TEST-2', { timestamp: datestamp });
    const gz = gzipSync(tarball);
    const w = await writeFile(`file:${vt}`, gz, {
      type: 'FILE', datestamp, name: 'client', disk: '/srv/data', dumplevel: 1, program: '/bin/tar', compressed: true,
      compSuffix: '.gz', uncompressCmd: '/bin/gzip -dc |', recoverCmd: '/bin/tar -xpGf - ...',
      serverCrc: { crc: crc32c(gz), size: gz.length }, nativeCrc: { crc: crc32c(tarball), size: tarball.length },
    });
    expect(w.error).toBeUndefined();
    const out = backupDir(join(root, 'amrestore2'));
    const r = asBackup(`amrestore file:${vt}`, out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('comp .gz program /bin/tar');
    const [only] = readdirSync(out);
    expect(only).toMatch(/^client\._srv_data\.20240102030405\.1/);
    expect(readFileSync(join(out, only)).equals(tarball)).toBe(true);
    const x = mkdirp(join(root, 'x-gz-dd'));
    sh(`dd if='${vt}/00001.client._srv_data.1' bs=32k skip=1 status=none | gzip -dc | tar -C '${x}' -xf -`);
    expect(tree(x)).toEqual(tree(data));
  });

  it('amrestore follows the CONT_FILENAME chain of a holding file xfa wrote', async () => {
    const hd = mkdirp(join(root, 'xfa-holding', datestamp));
    const path = join(hd, 'client._srv_data.0');
    const src = join(root, 'holding-src.tar');
    writeFileSync(src, tarball);
    const w = await runClean([element('source-file', { path: src }), element('dest-holding', {
      path, chunksize: '64KiB', header: `AMANDA: FILE ${datestamp} client /srv/data lev 0 comp N program /bin/tar\n` }),
    ]);
    expect(w.error).toBeUndefined();
    expect(readdirSync(hd).length).toBeGreaterThan(5);
    const out = backupDir(join(root, 'amrestore3'));
    const r = asBackup(`amrestore '${path}'`, out);
    expect(r.status, r.stderr).toBe(0);
    const [only] = readdirSync(out);
    expect(readFileSync(join(out, only)).equals(tarball)).toBe(true);
  });

  it('xfa appends to a volume Amanda labeled and wrote; amrestore reads Amanda\'s parts and xfa\'s file', async () => {
    const vol = join(root, 'appended');
    cpSync(join(am, 'vtapes', 'slot2'), vol, { recursive: true });
    const before = scanVolume(`file:${vol}`);
    expect(before.label).toBe('XFA-02');
    const extra = Buffer.from('appended by xfa\n'.repeat(5000));
    const w = await writeFile(`file:${vol}`, extra, dumpHeader({ datestamp, name: 'other', disk: '/etc', partnum: 1, totalparts: 1 }), { label: 'XFA-02' });
    expect(w.error).toBeUndefined();
    const after = scanVolume(`file:${vol}`);
    expect(after.files.length).toBe(before.files.length + 1);
    const out = backupDir(join(root, 'amrestore4'));
    spawnSync('chmod', ['-R', 'a+rX', vol]);  // the copy is root's; amrestore runs as backup
    const r = asBackup(`amrestore file:${vol}`, out);
    expect(r.status, r.stderr).toBe(0);
    const restored = readdirSync(out).sort();
    expect(restored.length).toBe(after.files.length);
    const mine = restored.find((f) => f.startsWith('other._etc.'))!;
    expect(readFileSync(join(out, mine)).equals(extra)).toBe(true);
    const plain = restored.filter((f) => f.startsWith('localhost.plain.'));
    expect(Buffer.concat(plain.map((f) => readFileSync(join(out, f)))).equals(Buffer.concat((await readParts(join(am, 'vtapes', 'slot2'))).parts))).toBe(true);
  });
});
