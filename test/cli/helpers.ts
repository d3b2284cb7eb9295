/**
 * Running the real `xfa` command (node bin/xfa.js) as a child process, and scratch directories.
 * XFA_FROM_SOURCE=1 makes the launcher run src/ through tsx even when a dist/ exists, so the
 * tests never exercise a stale build.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = join(ROOT, 'bin', 'xfa.js');

export interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface SpawnOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  input?: string;
  /** In its own process group, so a test can signal the whole group as a terminal's Ctrl-C does. */
  detached?: boolean;
}

/** Starts `xfa ARGS...`; collect its outcome with `finished`. */
export function startXfa(args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
  const env = { ...process.env, XFA_FROM_SOURCE: '1', ...opts.env };
  const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? ROOT, env, stdio: ['pipe', 'pipe', 'pipe'], detached: opts.detached });
  child.stdin?.end(opts.input ?? '');
  return child;
}

export function finished(child: ChildProcess): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Runs `xfa ARGS...` to completion. */
export function xfa(args: readonly string[], opts: SpawnOptions = {}): Promise<Outcome> {
  return finished(startXfa(args, opts));
}

/** A fresh directory, removed when the current test finishes (call it inside a test). */
export function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'xfa-cli-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The JSON lines of --json output, parsed (a line that is not JSON fails the test here). */
export function jsonLines(stdout: string): Array<Record<string, unknown>> {
  return stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Resolves once the child's stdout (or stderr) has matched `re`; rejects if it exits first. */
export function untilOutput(child: ChildProcess, re: RegExp, stream: 'stdout' | 'stderr' = 'stdout'): Promise<string> {
  const source = child[stream];
  if (!source) return Promise.reject(new Error(`no ${stream}`));
  let seen = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer | string): void => {
      seen += d.toString();
      if (!re.test(seen)) return;
      source.off('data', onData);
      resolve(seen);
    };
    source.on('data', onData);
    child.once('exit', () => reject(new Error(`exited before ${stream} matched ${re}: ${seen}`)));
  });
}
