/**
 * The native-process runtime: an engine is a child process started from an argv array (never a
 * shell) in its own process group, writing to its log file, recorded in a PID file with its start
 * time. We are its parent, so its exit arrives as an event and Node reaps it (no zombies). Stop is
 * SIGTERM to the whole group, then SIGKILL to the group after the grace period. Processes adopted
 * from a PID file (left by an earlier core) are checked by PID + start time before any signal.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import { processStartTime, isSameProcess } from '../../process/proc.js';
import { probeHttp } from '../probe.js';
import type { EngineHandle, NativePlan, ProbeResult, Runtime, StartHooks, StopOptions, StopResult } from '../types.js';
import type { HealthSpec } from '../../engines/catalog-schema.js';
import { planNative } from './plan.js';
import { openLogForChild, tailLines } from './log-file.js';
import { readPidFile, removePidFile, writePidFile } from './pid-file.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** True while any process of the group `pgid` exists. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {}
}

export class SpawnError extends Error {}

export interface NativeRuntimeOptions {
  /** The environment engines inherit (the core's, by default). */
  baseEnv?: NodeJS.ProcessEnv;
}

export class NativeRuntime implements Runtime<NativePlan> {
  private readonly baseEnv: NodeJS.ProcessEnv;
  /** Exit promises of our own children, so stop() can wait for the reaped exit. */
  private readonly exits = new Map<number, Promise<void>>();

  constructor(opts: NativeRuntimeOptions = {}) {
    // The one place engines get the core's environment: they need PATH, HOME, locale, ...
    this.baseEnv = opts.baseEnv ?? process.env;
  }

  plan = planNative;

  async start(plan: NativePlan, hooks: StartHooks): Promise<EngineHandle> {
    const fd = openLogForChild(plan.logFile);
    try {
      writeSync(fd, `--- aima ${new Date().toISOString()}: starting ${plan.serviceName}: ${plan.argv.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ')}\n`);
      const child = spawn(plan.argv[0]!, plan.argv.slice(1), {
        detached: true, // own process group: stop signals the group, Ctrl+C in the core's terminal does not reach it
        stdio: ['ignore', fd, fd],
        env: { ...this.baseEnv, ...plan.env },
        shell: false,
      });
      const pid = await new Promise<number>((resolve, reject) => {
        child.once('spawn', () => {
          applyNiceness(child.pid!, plan.niceness, plan.logFile);
          resolve(child.pid!);
        });
        child.once('error', (err: NodeJS.ErrnoException) =>
          reject(new SpawnError(`Could not start ${plan.argv[0]}: ${err.code === 'ENOENT' ? 'not found' : err.code === 'EACCES' ? 'not executable' : err.message}.`)),
        );
      });
      const exited = new Promise<void>((resolve) => {
        child.once('exit', (code, signal) => {
          this.exits.delete(pid);
          removePidFile(plan.pidFile);
          resolve();
          hooks.onExit(code, signal);
        });
      });
      this.exits.set(pid, exited);
      // Do not keep the core alive for the child's sake (the core decides when to stop it).
      child.unref();
      const startTime = processStartTime(pid);
      writePidFile(plan.pidFile, {
        pid,
        startTime,
        serviceId: plan.serviceId,
        serviceName: plan.serviceName,
        host: plan.host,
        port: plan.port,
        logFile: plan.logFile,
        argv: plan.argv,
        startedAt: new Date().toISOString(),
      });
      return { pid, startTime, ownChild: true, host: plan.host, port: plan.port, logFile: plan.logFile };
    } finally {
      closeSync(fd); // the child holds its own copy
    }
  }

  probe(handle: EngineHandle, health: HealthSpec): Promise<ProbeResult> {
    return probeHttp(handle.host, handle.port, health);
  }

  async logs(logFile: string, lines: number): Promise<string[]> {
    return tailLines(logFile, lines);
  }

  isAlive(handle: EngineHandle): boolean {
    return isSameProcess(handle.pid, handle.startTime);
  }

  adopt(pidFile: string): EngineHandle | null {
    const rec = readPidFile(pidFile);
    if (!rec) return null;
    // The start time must match: a PID reused by another process is never adopted (or signalled).
    if (!rec.startTime || !isSameProcess(rec.pid, rec.startTime)) return null;
    return { pid: rec.pid, startTime: rec.startTime, ownChild: false, host: rec.host, port: rec.port, logFile: rec.logFile };
  }

  async stop(handle: EngineHandle, opts: StopOptions): Promise<StopResult> {
    const pgid = handle.pid; // detached: the engine leads its own group
    const gone = () => (handle.ownChild ? !this.exits.has(handle.pid) : !isSameProcess(handle.pid, handle.startTime));
    if (!gone()) {
      if (!isSameProcess(handle.pid, handle.startTime)) return { escalated: false };
      signalGroup(pgid, opts.force ? 'SIGKILL' : 'SIGTERM');
    }
    const deadline = Date.now() + (opts.force ? 0 : opts.graceMs);
    let escalated = false;
    while (!gone() && Date.now() < deadline) await sleep(25);
    if (!gone() || groupAlive(pgid)) {
      // Past the grace period, or the leader left children behind: kill what is left of the group.
      // Safe against PID reuse: the kernel does not hand out a PID still in use as a group id.
      const leaderReused = processStartTime(handle.pid) !== null && !isSameProcess(handle.pid, handle.startTime);
      if (!leaderReused) {
        escalated = !gone();
        signalGroup(pgid, 'SIGKILL');
      }
    }
    const killDeadline = Date.now() + 5000;
    while ((!gone() || groupAlive(pgid)) && Date.now() < killDeadline) await sleep(10);
    if (handle.ownChild) await this.exits.get(handle.pid);
    return { escalated };
  }

  /** Removes the PID file of an adopted process once it is gone (our children's are removed on exit). */
  forget(pidFile: string): void {
    removePidFile(pidFile);
  }
}

/**
 * Lowers the engine's CPU priority. Raising it back needs privileges, so only values above 0 are
 * applied; a refusal is logged to the service log, never fatal.
 *
 * Linux with autogroup scheduling (the default on desktop kernels): the engine leads its own
 * session (detached), so it is its own scheduling group, and groups share the cores equally
 * whatever their processes' nice values — `setpriority` alone changed nothing measurable. The
 * group's own nice (/proc/PID/autogroup) is what weighs against the other groups, so it is set too.
 */
function applyNiceness(pid: number, niceness: number, logFile: string): void {
  if (niceness <= 0 || (process.platform === 'win32' && niceness < 10)) return;
  const refused = (what: string, err: unknown) => {
    try {
      appendFileSync(logFile, `--- aima: could not set the CPU priority (${what} ${niceness}): ${(err as Error).message}\n`);
    } catch {
      /* the log is best effort */
    }
  };
  try {
    os.setPriority(pid, niceness);
  } catch (err) {
    refused('nice', err);
  }
  if (process.platform === 'linux') void setAutogroupNice(pid, niceness).catch((err: unknown) => refused('autogroup nice', err));
}

async function setAutogroupNice(pid: number, niceness: number): Promise<void> {
  const file = `/proc/${pid}/autogroup`;
  // Absent when the kernel has no autogroup support; "nice 0" style contents when it has.
  if (!existsSync(file) || readFileSync('/proc/sys/kernel/sched_autogroup_enabled', 'utf8').trim() !== '1') return;
  // Unprivileged writes are rate-limited to one per 100 ms across the system (EAGAIN): retry.
  for (let attempt = 0; ; attempt++) {
    try {
      return writeFileSync(file, String(niceness));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || attempt >= 10) throw err;
      await new Promise((r) => setTimeout(r, 110));
    }
  }
}
