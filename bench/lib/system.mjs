// What the benchmarks need from the machine: checks for their parts, and a process's CPU time
// and memory read from /proc (Linux).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export function hasCmd(c) {
  try {
    execFileSync('which', [c], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/** Exits with status 2 naming the first missing part: `parts` is [[what, present], ...]. */
export function requireParts(bench, parts) {
  for (const [what, ok] of parts) {
    if (!ok) {
      console.error(`bench/${bench}: missing ${what}`);
      process.exit(2);
    }
  }
}

/**
 * User + system CPU seconds of a process (all its threads), or of one thread with `tid` (the main
 * thread's tid is the pid); null when /proc cannot tell.
 */
export function cpuSeconds(pid, tid = null) {
  try {
    const f = readFileSync(tid === null ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime in clock ticks (USER_HZ = 100)
  } catch {
    return null;
  }
}

/** Resident memory of a process in KiB; 0 when it has gone. */
export function rssKiB(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  } catch {
    return 0;
  }
}
