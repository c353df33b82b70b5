/**
 * Resident memory of the services' processes, each with its child processes (a worker's helper,
 * an engine's own children). One read of the process table serves every service. Linux reads
 * /proc; macOS asks `ps` once; elsewhere nothing is measured and the planner falls back to the
 * services' estimates.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

interface ProcRow {
  pid: number;
  ppid: number;
  rssBytes: number;
}

function linuxTable(): ProcRow[] {
  const rows: ProcRow[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return rows;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const status = readFileSync(`/proc/${e}/status`, 'utf8');
      const ppid = /^PPid:\s+(\d+)/m.exec(status);
      const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
      rows.push({ pid: Number(e), ppid: ppid ? Number(ppid[1]) : 0, rssBytes: rss ? Number(rss[1]) * 1024 : 0 });
    } catch {
      // The process ended while we looked.
    }
  }
  return rows;
}

function psTable(): Promise<ProcRow[]> {
  return new Promise((resolve) => {
    execFile('ps', ['-A', '-o', 'pid=,ppid=,rss='], { timeout: 3000 }, (err, stdout) => {
      if (err) return resolve([]);
      resolve(
        stdout
          .split('\n')
          .map((l) => l.trim().split(/\s+/).map(Number))
          .filter((p) => p.length === 3 && p.every(Number.isFinite))
          .map(([pid, ppid, rss]) => ({ pid: pid!, ppid: ppid!, rssBytes: rss! * 1024 })),
      );
    });
  });
}

/** The process table of this platform, or null where it is not read. */
export async function processTable(platform: NodeJS.Platform = process.platform): Promise<ProcRow[] | null> {
  if (platform === 'linux') return linuxTable();
  if (platform === 'darwin') return psTable();
  return null;
}

/** RSS of each root pid with its descendants; a pid not in the table is left out. */
export function treeRss(table: ProcRow[], roots: number[]): Map<number, number> {
  const children = new Map<number, ProcRow[]>();
  const byPid = new Map<number, ProcRow>();
  for (const r of table) {
    byPid.set(r.pid, r);
    const list = children.get(r.ppid);
    if (list) list.push(r);
    else children.set(r.ppid, [r]);
  }
  const out = new Map<number, number>();
  for (const root of roots) {
    const top = byPid.get(root);
    if (!top) continue;
    let sum = 0;
    const stack = [top];
    const seen = new Set<number>();
    while (stack.length) {
      const r = stack.pop()!;
      if (seen.has(r.pid)) continue;
      seen.add(r.pid);
      sum += r.rssBytes;
      for (const c of children.get(r.pid) ?? []) stack.push(c);
    }
    out.set(root, sum);
  }
  return out;
}

/** Measured RSS per service name (with children); services whose pid is not readable are left out. */
export async function measureServicesRss(services: { name: string; pid: number | null }[]): Promise<Map<string, number>> {
  const withPid = services.filter((s) => s.pid !== null && s.pid > 0);
  const out = new Map<string, number>();
  if (withPid.length === 0) return out;
  const table = await processTable();
  if (!table) return out;
  const rss = treeRss(table, withPid.map((s) => s.pid!));
  for (const s of withPid) {
    const v = rss.get(s.pid!);
    if (v !== undefined) out.set(s.name, v);
  }
  return out;
}
