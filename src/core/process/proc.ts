/**
 * Process identity: a PID alone can be reused by the OS, so wherever we remember a process (the
 * core lock, service PID files) we also remember its start time and compare both before trusting
 * or signalling it.
 */
import { readFileSync } from 'node:fs';

/**
 * The process start time as an opaque string (Linux: field 22 of /proc/PID/stat, in clock ticks
 * since boot), or null when the process does not exist or the platform has no /proc.
 */
export function processStartTime(pid: number): string | null {
  if (process.platform !== 'linux') return isAlive(pid) ? 'alive' : null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces: split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); field 22 is rest[19].
    const state = rest[0];
    if (state === 'Z' || state === 'X') return null; // a zombie is dead for our purposes
    return rest[19] ?? null;
  } catch {
    return null;
  }
}

/** True when a process with this PID exists (any owner). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when `pid` is alive and is the same process that had `startTime` when we recorded it. */
export function isSameProcess(pid: number, startTime: string | null): boolean {
  const now = processStartTime(pid);
  return now !== null && (startTime === null || now === startTime);
}
