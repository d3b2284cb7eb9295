/**
 * Test fixtures for the tar index and selective restore: a seeded file tree (sizes around tar's
 * 512-byte blocks, long names, links, an optional 9 GiB sparse file) and the real `tar` CLI.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, linkSync, mkdirSync, openSync, symlinkSync, writeFileSync, writeSync, ftruncateSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** mulberry32: a small seeded generator, [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randInt(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

/** Semi-compressible bytes: random words from a small vocabulary plus some noise. */
export function content(r: () => number, size: number): Buffer {
  const b = Buffer.alloc(size);
  const words = ['backup', 'amanda', 'slice', 'tape ', 'xfa\n', 'restore', 'zstd', '\0\0\0\0'];
  let i = 0;
  while (i < size) {
    if (r() < 0.2) {
      b[i++] = Math.floor(r() * 256);
      continue;
    }
    const w = words[Math.floor(r() * words.length)];
    i += b.write(w, i, Math.min(w.length, size - i), 'latin1');
  }
  return b;
}

export interface TreeOptions {
  files: number;
  seed: number;
  /** Largest regular file; sizes cluster around multiples of 512 too. */
  maxSize?: number;
  /** Names longer than 100 and 255 bytes (GNU 'L' / pax path). */
  longNames?: boolean;
  /** A symlink and a hard link. */
  links?: boolean;
  /** A 9 GiB sparse file (GNU 'S' / pax sparse; base-256 size fields). */
  sparse?: boolean;
}

/** Creates the tree under root/name; returns the regular files' paths relative to root. */
export function makeTree(root: string, name: string, o: TreeOptions): string[] {
  const r = rng(o.seed);
  const max = o.maxSize ?? 64 * 1024;
  const files: string[] = [];
  for (let i = 0; i < o.files; i++) {
    const sub = `${name}/d${i % 7}/s${i % 3}`;
    const rel = `${sub}/f${String(i).padStart(4, '0')}.dat`;
    mkdirSync(join(root, sub), { recursive: true });
    const pick = r();
    const size = pick < 0.1 ? 0 : pick < 0.25 ? 512 * randInt(r, 1, 4) : pick < 0.3 ? 512 * randInt(r, 1, 4) - 1 : randInt(r, 1, max);
    writeFileSync(join(root, rel), content(r, size));
    files.push(rel);
  }
  if (o.longNames) {
    const long = `${name}/${'a'.repeat(90)}/${'b'.repeat(90)}/${'c'.repeat(90)}`;
    mkdirSync(join(root, long), { recursive: true });
    for (const n of [`${long}/short.txt`, `${name}/${'x'.repeat(120)}.txt`]) {
      writeFileSync(join(root, n), content(r, randInt(r, 1, 5000)));
      files.push(n);
    }
  }
  if (o.links) {
    symlinkSync(`d0/s0/f0000.dat`, join(root, name, 'sym'));
    linkSync(join(root, files[1]), join(root, name, 'hard'));
  }
  if (o.sparse) {
    const p = join(root, name, 'sparse.img');
    mkdirSync(dirname(p), { recursive: true });
    const fd = openSync(p, 'w');
    ftruncateSync(fd, 9 * 1024 ** 3);
    writeSync(fd, Buffer.from('sparse data in the middle\n'), 0, 26, 5_000_000);
    closeSync(fd);
  }
  return files;
}

/** Runs the real tar; throws with its stderr when it fails. */
export function tar(args: string[], opts: { cwd?: string; input?: Buffer } = {}): Buffer {
  const r = spawnSync('tar', args, { cwd: opts.cwd, input: opts.input, maxBuffer: 1 << 30 });
  if (r.error) throw new Error(`tar not runnable (apt-get install -y tar): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`tar ${args.join(' ')}: status ${r.status}: ${r.stderr.toString()}`);
  return r.stdout;
}

/** The member names `tar -t` lists, in order. */
export function tarList(archive: Buffer | string): string[] {
  const out = typeof archive === 'string' ? tar(['-tf', archive]) : tar(['-tf', '-'], { input: archive });
  return out.toString('utf8').split('\n').filter((l) => l.length > 0);
}
