/** Runs the built `aima` CLI as a user would: a real process, its own data directory. */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './system.js';

export const aimaBin = path.join(repoRoot, 'bin', 'aima.mjs');

export function tempHome(prefix = 'aima-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `aima ARGS` to completion. */
export function runAima(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [aimaBin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`aima ${args.join(' ')} timed out after ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface ServeHandle {
  child: ChildProcess;
  url: string;
  loginUrl: string;
  token: string;
  output: () => string;
  stop(): Promise<void>;
  /** Ends the core with SIGKILL on purpose (not recorded as an unexpected exit). */
  kill(): Promise<void>;
}

/** Starts `aima serve --port 0` and waits for its login URL. */
export async function startServe(env: Record<string, string>, extraArgs: string[] = [], timeoutMs = 30_000): Promise<ServeHandle> {
  const child = spawn(process.execPath, [aimaBin, 'serve', '--port', '0', ...extraArgs], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const loginUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`aima serve did not print a login URL in ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const check = () => {
      const m = /Log in:\s+(\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`aima serve exited with ${code}:\n${out}`));
    });
  });
  // A core that ends while a test still uses it shows up in a test as a timeout or a refused
  // connection; this record (printed by `npm test`'s summary when a run fails) says how it ended.
  let stopping = false;
  child.once('exit', (code, signal) => {
    if (stopping || code === 0) return; // 0: `aima stop` in a test, an orderly end
    const record = `${new Date().toISOString()} aima serve (pid ${child.pid}, AIMA_HOME ${env.AIMA_HOME ?? '?'}) exited with code ${code}, signal ${signal}, not through stop()\n${out.split('\n').slice(-40).join('\n')}\n\n`;
    process.stderr.write(record);
    mkdirSync(path.join(repoRoot, 'test-results'), { recursive: true });
    appendFileSync(path.join(repoRoot, 'test-results', 'core-exits.log'), record);
  });
  /** Ends the core on the test's own terms (not recorded as an unexpected exit). */
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    stopping = true;
    child.kill(signal);
    await exited;
  };
  const u = new URL(loginUrl);
  return {
    child,
    url: u.origin,
    loginUrl,
    token: u.searchParams.get('token')!,
    output: () => out,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
  };
}
