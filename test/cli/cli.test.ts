/** `xfa run` and `xfa launch` end to end: real files in scratch directories, exit codes, output. */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { finished, jsonLines, ROOT, scratch, startXfa, untilOutput, xfa } from './helpers.js';

function randomFile(path: string, size: number): Buffer {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = (i * 7919 + (i >> 8)) & 0xff;
  writeFileSync(path, data);
  return data;
}

describe('xfa launch', () => {
  it('copies a file through a filter and exits 0, quietly when stdout is not a terminal', async () => {
    const dir = scratch();
    const data = randomFile(join(dir, 'in'), 300_000);
    const out = await xfa(['launch', `source-file path=${dir}/in ! filter-xor key=7 ! filter-xor key=7 ! dest-file path=${dir}/out`]);
    expect(out.code).toBe(0);
    expect(out.stdout).toBe('');
    expect(readFileSync(join(dir, 'out')).equals(data)).toBe(true);
    expect(existsSync(join(dir, 'out.tmp'))).toBe(false);
  });

  it('joins several arguments into one pipeline, like gst-launch', async () => {
    const dir = scratch();
    const out = await xfa(['launch', 'source-pattern', 'length=10', 'pattern=ab', '!', 'dest-file', `path=${dir}/p`]);
    expect(out.code).toBe(0);
    expect(readFileSync(join(dir, 'p'), 'utf8')).toBe('ababababab');
  });

  it('prints the linkage, statistics and a summary with --verbose', async () => {
    const out = await xfa(['launch', '-v', 'source-random length=1MiB seed=5 ! filter-crc ! dest-null seed=5']);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^linkage: source-random#1 -\S+-> .*dest-null#3 \(copies \d+, allocs \d+, threads \d+\)$/m);
    expect(out.stdout).toMatch(/^filter-crc#2: crc [0-9a-f]{8}:1048576$/m);
    expect(out.stdout).toMatch(/^statistics:\n {2}source-random#1 .*out 1\.0 MiB/m);
    expect(out.stdout).toMatch(/^xfa: done: 1\.0 MiB in \d+\.\d+ s \([\d.]+ [KMGT]?i?B\/s\)$/m);
  });

  it('prints progress lines with --progress even into a pipe, with the size, a percentage and an ETA', async () => {
    const child = startXfa(['launch', '--progress', 'source-random length=1TiB seed=3 ! dest-null']);
    const out = finished(child);
    await untilOutput(child, /\n/);
    child.kill('SIGINT');
    const { code, stdout } = await out;
    expect(code).toBe(130);
    expect(stdout.split('\n')[0]).toMatch(/^[\d.]+ [KMG]?i?B \/ 1\.0 TiB {2}\d+% {2}[\d.]+ [KMG]?i?B\/s {2}ETA \d+:\d\d(:\d\d)?$/);
  });

  it('prints no progress into a pipe unless asked', async () => {
    const child = startXfa(['launch', '--verbose', 'source-random length=0 seed=3 ! dest-null']);
    const out = finished(child);
    await untilOutput(child, /^linkage: .*\n/);
    await new Promise((r) => setTimeout(r, 1200));
    child.kill('SIGINT');
    const { code, stdout } = await out;
    expect(code).toBe(130);
    expect(stdout).toMatch(/^linkage: [^\n]*\n$/);
  });

  it('fails with exit 1 and the engine error (element, operation, errno) on stderr', async () => {
    const dir = scratch();
    const out = await xfa(['launch', `source-file path=${dir}/missing ! dest-file path=${dir}/out`]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`xfa: source-file#1: open ${dir}/missing: ENOENT: no such file or directory`);
    expect(existsSync(join(dir, 'out'))).toBe(false);
    expect(existsSync(join(dir, 'out.tmp'))).toBe(false);
  });

  it('fails with exit 1 when a filter program fails, showing its stderr', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'in'), 'not gzip data\n');
    const out = await xfa(['launch', `source-file path=${dir}/in ! filter-process cmd="gzip -dc" ! dest-file path=${dir}/out`]);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/filter-process#2: .*not in gzip format/);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('exits 2 with file:line:col, the line and a caret for a syntax error', async () => {
    const out = await xfa(['launch', 'source-random seed=1 length=1k ! ! dest-null']);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/^<pipeline>:1:\d+: error: .+\n {2}source-random seed=1 length=1k ! ! dest-null\n {2} *\^/m);
  });

  it('exits 2 with a did-you-mean for an unknown element or property', async () => {
    const el = await xfa(['launch', 'source-random seed=1 ! dest-nul']);
    expect(el.code).toBe(2);
    expect(el.stderr).toContain('unknown element "dest-nul" (did you mean "dest-null"?)');
    const prop = await xfa(['launch', 'source-random sed=1 ! dest-null']);
    expect(prop.code).toBe(2);
    expect(prop.stderr).toContain('did you mean "seed"?');
  });

  it('exits 2 for usage errors: no pipeline, unknown option, malformed --set', async () => {
    for (const args of [['launch'], ['launch', '--verbos', 'x'], ['launch', '--set', 'NOEQUALS', 'x'], ['frobnicate'], []]) {
      const out = await xfa(args);
      expect(out.code, args.join(' ')).toBe(2);
      expect(out.stderr, args.join(' ')).not.toBe('');
    }
  });
});

describe('xfa run', () => {
  it('runs a pipeline file, taking ${VAR} from --set before the environment', async () => {
    const dir = scratch();
    const file = join(dir, 'p.xfa');
    writeFileSync(file, '# a comment\nsource-pattern length=${N} pattern=${P}\n  ! dest-file path=${OUT}\n');
    const out = await xfa(['run', file, '--set', 'N=6', '--set', `OUT=${dir}/o`], { env: { N: '999', P: 'xy' } });
    expect(out.code).toBe(0);
    expect(readFileSync(join(dir, 'o'), 'utf8')).toBe('xyxyxy');
  });

  it('reports a parse error at the file\'s line and column with a caret', async () => {
    const dir = scratch();
    const file = join(dir, 'bad.xfa');
    writeFileSync(file, '# header\nsource-random seed=1\n  ! filter-crc levle=3\n  ! dest-null\n');
    const out = await xfa(['run', file]);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain(`${file}:3:16: error: `);
    expect(out.stderr).toContain('  ! filter-crc levle=3\n');
    expect(out.stderr).toMatch(/\n {17}\^~*\n/);
  });

  it('names an undefined variable and how to set it', async () => {
    const dir = scratch();
    const file = join(dir, 'v.xfa');
    writeFileSync(file, 'source-file path=${SRC_XFA_TEST} ! dest-null\n');
    const out = await xfa(['run', file], { env: { SRC_XFA_TEST: undefined } });
    expect(out.code).toBe(2);
    expect(out.stderr).toContain(`${file}:1:18: error: undefined variable "SRC_XFA_TEST"`);
  });

  it('points a runtime error at the element\'s place in the file', async () => {
    const dir = scratch();
    const file = join(dir, 'e.xfa');
    writeFileSync(file, 'source-file path=/nonexistent/xfa\n  ! dest-null\n');
    const out = await xfa(['run', file]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`${file}:1:1: source-file#1: open /nonexistent/xfa: ENOENT: no such file or directory`);
  });

  it('exits 2 when the file does not exist or is not given', async () => {
    const missing = await xfa(['run', '/nonexistent/p.xfa']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read pipeline file "/nonexistent/p.xfa"');
    expect((await xfa(['run'])).code).toBe(2);
  });
});

describe('--json', () => {
  it('prints one JSON object per message, ending with done, and nothing else on stdout', async () => {
    const out = await xfa(['launch', '--json', 'source-random length=3MiB seed=9 ! filter-crc ! dest-null seed=9']);
    expect(out.code).toBe(0);
    const msgs = jsonLines(out.stdout);
    expect(msgs.at(-1)).toMatchObject({ type: 'done', elt: '' });
    expect(msgs.filter((m) => m.type === 'done')).toHaveLength(1);
    expect(msgs).toContainEqual(expect.objectContaining({ type: 'crc', elt: 'filter-crc#2', size: 3 * 1024 * 1024 }));
    expect(msgs).toContainEqual(expect.objectContaining({ type: 'linkage' }));
    expect(msgs.filter((m) => m.type === 'stats')).toHaveLength(3);
  });

  it('reports a failure as error, cancel, done lines, and the error on stderr too', async () => {
    const out = await xfa(['launch', '--json', 'source-file path=/nonexistent/xfa ! dest-null']);
    expect(out.code).toBe(1);
    const types = jsonLines(out.stdout).map((m) => m.type).filter((t) => ['error', 'cancel', 'done'].includes(String(t)));
    expect(types).toEqual(['error', 'cancel', 'done']);
    expect(out.stderr).toContain('source-file#1: open /nonexistent/xfa: ENOENT');
  });
});

describe('help and version', () => {
  it('answers --help on every command and help CMD, exit 0', async () => {
    for (const cmd of ['run', 'launch', 'inspect']) {
      const a = await xfa([cmd, '--help']);
      const b = await xfa(['help', cmd]);
      expect(a.code).toBe(0);
      expect(a.stdout).toMatch(new RegExp(`^Usage: xfa ${cmd}`));
      expect(b.stdout).toBe(a.stdout);
    }
    const main = await xfa(['--help']);
    expect(main.code).toBe(0);
    for (const cmd of ['run', 'launch', 'inspect', 'help']) expect(main.stdout).toContain(`xfa ${cmd}`);
  });

  it('prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const out = await xfa(['--version']);
    expect(out.code).toBe(0);
    expect(out.stdout).toBe(`xfa ${pkg.version}\n`);
  });
});

describe('a reader that goes away', () => {
  it('`xfa ... | head -1`: the rest of the output is dropped, no EPIPE crash, the command still finishes (exit 0)', () => {
    const r = spawnSync('sh', ['-c', `XFA_FROM_SOURCE=1 node bin/xfa.js launch -v 'source-random length=8MiB seed=1 rate=20MB ! dest-null seed=1' | head -1; echo "status \${PIPESTATUS:-x}"`], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stdout).toMatch(/^linkage: source-random#1 /);
    expect(r.stderr).not.toMatch(/EPIPE|Unhandled/);
    const s = spawnSync('bash', ['-c', `XFA_FROM_SOURCE=1 node bin/xfa.js launch -v 'source-random length=8MiB seed=1 rate=20MB ! dest-null seed=1' | head -1 >/dev/null; echo \${PIPESTATUS[0]}`], { cwd: ROOT, encoding: 'utf8' });
    expect(s.stdout.trim()).toBe('0');
  });
});
