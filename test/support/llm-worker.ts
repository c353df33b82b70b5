/**
 * Spawns the BUILT embedded LLM worker (out/workers/llm.mjs) as a real child process for
 * integration tests and benchmarks: builds it if missing, starts it on --port 0, reads the real port
 * from its `listening on` line, waits for /health to say ok, and kills it afterwards.
 */
import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, statSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './system.js';

export const workerScript = path.join(repoRoot, 'out', 'workers', 'llm.mjs');

/** Newest modification time under a folder (ms). */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** Builds out/workers/*.mjs when missing or older than the LLM worker's sources. */
export function ensureWorkerBuilt(): void {
  const sources = [path.join(repoRoot, 'src', 'workers', 'llm'), path.join(repoRoot, 'src', 'workers', 'common'), path.join(repoRoot, 'src', 'lib')];
  if (existsSync(workerScript) && statSync(workerScript).mtimeMs >= Math.max(...sources.map(newestMtime))) return;
  execFileSync(process.execPath, [path.join(repoRoot, 'scripts', 'build-node.mjs')], { cwd: repoRoot, stdio: 'pipe' });
}

export interface RunningWorker {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  child: ChildProcess;
  /** Everything the worker wrote to stdout so far. */
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the next stdout line matching `pattern` (already written lines count). */
  waitForLine: (pattern: RegExp, timeoutMs?: number) => Promise<string>;
  stop: () => Promise<void>;
}

/** Result of a worker that exited by itself (startup failure tests). */
export interface ExitedWorker {
  code: number | null;
  stdout: string;
  stderr: string;
}

function spawnWorker(args: string[]): { child: ChildProcess; out: { stdout: string; stderr: string } } {
  const child = spawn(process.execPath, [workerScript, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out.stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out.stderr += d));
  return { child, out };
}

/** Starts the worker with `--port 0 --host 127.0.0.1` plus `args`; resolves once /health is ok. */
export async function startWorker(args: string[], { readyTimeoutMs = 30_000 } = {}): Promise<RunningWorker> {
  ensureWorkerBuilt();
  const { child, out } = spawnWorker(['--host', '127.0.0.1', '--port', '0', ...args]);
  let exited: number | null | undefined;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exited = code;
      resolve();
    }),
  );

  const waitForLine = async (pattern: RegExp, timeoutMs = 10_000): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = out.stdout.split('\n').find((l) => pattern.test(l));
      if (line) return line;
      if (exited !== undefined) throw new Error(`worker exited (${exited}) before printing ${pattern}:\n${out.stdout}\n${out.stderr}`);
      if (Date.now() > deadline) throw new Error(`worker did not print ${pattern} within ${timeoutMs} ms:\n${out.stdout}\n${out.stderr}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  const stop = async () => {
    if (exited === undefined) {
      child.kill('SIGTERM');
      const killTimer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(killTimer);
    }
  };

  try {
    const listening = await waitForLine(/^listening on http:\/\//, readyTimeoutMs);
    const port = Number(/:(\d+)\s*$/.exec(listening)![1]);
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      const res = await fetch(`${url}/health`).catch(() => null);
      if (res?.status === 200) break;
      await res?.body?.cancel();
      if (exited !== undefined) throw new Error(`worker exited (${exited}) while loading:\n${out.stderr}`);
      if (Date.now() > deadline) throw new Error(`worker not healthy within ${readyTimeoutMs} ms:\n${out.stdout}\n${out.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return { url, port, child, stdout: () => out.stdout, stderr: () => out.stderr, waitForLine, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Runs the worker expecting it to exit by itself (bad model etc.); kills it after `timeoutMs`. */
export async function runWorkerToExit(args: string[], timeoutMs = 20_000): Promise<ExitedWorker> {
  ensureWorkerBuilt();
  const { child, out } = spawnWorker(['--host', '127.0.0.1', '--port', '0', ...args]);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stdout: out.stdout, stderr: out.stderr };
}
