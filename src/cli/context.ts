/**
 * What every CLI command shares: the data directory, the connection to the core (starting one in
 * the background when a command needs it and none runs), JSON output, and one-line errors. Every
 * command loads this file, so it loads nothing heavy: the HTTP client and the contract's schemas
 * are imported when a command connects.
 */
import { spawn } from 'node:child_process';
import { readEnv, type Env } from '../core/config/env.js';
import { resolveDataDir, dataPaths, type DataPaths } from '../core/config/paths.js';
import { openPrivateLog, preparePrivateDataDir } from '../core/config/data-dir.js';
import { liveHolder, type LockInfo } from '../core/lock/core-lock.js';
import { readToken } from '../core/server/token.js';
import type { CoreApi } from '../shared/contract/index.js';
import type { HttpTransport } from '../shared/http-transport.js';
import { AimaError, formatError, toAimaError } from '../shared/errors.js';

export interface CliContext {
  env: Env;
  paths: DataPaths;
}

export function cliContext(): CliContext {
  const env = readEnv();
  return { env, paths: dataPaths(resolveDataDir(env)) };
}

export interface Connection {
  api: CoreApi;
  transport: HttpTransport;
  info: LockInfo & { url: string };
  token: string;
  close(): void;
}

/** The running core for this data directory, or null. */
export function runningCore(ctx: CliContext): (LockInfo & { url: string }) | null {
  const info = liveHolder(ctx.paths.lock);
  return info && info.url ? (info as LockInfo & { url: string }) : null;
}

/**
 * Connects to the core; when none runs, starts `aima serve` in the background and says so on
 * stderr (stdout stays clean for --json).
 */
export async function connect(ctx: CliContext, opts: { start?: boolean; timeoutMs?: number } = {}): Promise<Connection> {
  let info = runningCore(ctx);
  if (!info) {
    if (opts.start === false) {
      throw new AimaError('unavailable', `No AIMA core is running for ${ctx.paths.dataDir}.`, 'Start one with `aima serve` (or open the desktop app).');
    }
    info = await startBackgroundCore(ctx, opts.timeoutMs ?? 30_000);
  }
  const token = readToken(ctx.paths.token);
  if (!token) throw new AimaError('unauthorized', `No API token in ${ctx.paths.token}.`, 'Restart the core with `aima serve` to create one.');
  const { createHttpClient, transportToApi } = await import('../lib/client/http-client.js');
  const transport = createHttpClient({ url: info.url, token });
  return { api: transportToApi(transport), transport, info, token, close: () => transport.close() };
}

async function startBackgroundCore(ctx: CliContext, timeoutMs: number): Promise<LockInfo & { url: string }> {
  const loose = preparePrivateDataDir(ctx.paths);
  if (loose) process.stderr.write(`aima: warning: ${loose}\n`);
  const log = openPrivateLog(ctx.paths.serveLog);
  // The script this process runs (bin/aima.mjs or out/cli/aima.mjs); this module may be a chunk beside it.
  const cliPath = process.argv[1]!;
  const child = spawn(process.execPath, [cliPath, 'serve', '--background'], {
    detached: true,
    stdio: ['ignore', log, log],
    env: process.env,
  });
  child.unref();
  const deadline = Date.now() + timeoutMs;
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? 1));
  while (Date.now() < deadline) {
    const info = runningCore(ctx);
    if (info) {
      process.stderr.write(`Started the AIMA core in the background (pid ${info.pid}, ${info.url}; log: ${ctx.paths.serveLog}). Stop it with \`aima stop\`.\n`);
      return info;
    }
    if (exited !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new AimaError('unavailable', `The AIMA core did not start${exited !== null ? ` (exit code ${exited})` : ` within ${timeoutMs / 1000} s`}.`, `See ${ctx.paths.serveLog}.`);
}

/** Connects (starting a core when needed), runs `fn`, and always closes the connection. */
export async function withConnection<T>(fn: (conn: Connection) => Promise<T>): Promise<T> {
  const conn = await connect(cliContext());
  try {
    return await fn(conn);
  } finally {
    conn.close();
  }
}

/** Prints a value as JSON or through a formatter. */
export function output<T>(json: boolean | undefined, value: T, human: (v: T) => string): void {
  process.stdout.write(json ? JSON.stringify(value, null, 2) + '\n' : human(value) + '\n');
}

/** Runs a command body: errors become one clear line on stderr and a non-zero exit. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      const e = toAimaError(err);
      process.stderr.write(`aima: ${formatError(e)}\n`);
      process.exitCode = e.code === 'cancelled' ? 130 : 1;
    }
  };
}
