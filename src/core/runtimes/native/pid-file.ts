/**
 * PID files (<dataDir>/run/<service-id>.pid): PID plus process start time, so a core that starts
 * after a crash adopts exactly the engine it left behind and never a process that reused its PID.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

export const PidFileContent = z.object({
  pid: z.number().int().positive(),
  startTime: z.string().nullable(),
  serviceId: z.string(),
  serviceName: z.string(),
  host: z.string(),
  port: z.number().int(),
  logFile: z.string(),
  argv: z.array(z.string()),
  startedAt: z.string(),
});
export type PidFileContent = z.infer<typeof PidFileContent>;

/** Written atomically (temp file + rename): a crash mid-write leaves the old file or none. */
export function writePidFile(file: string, content: PidFileContent): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(content) + '\n', { mode: 0o600 });
  renameSync(tmp, file);
}

/** The PID file's content, or null when it is missing or unreadable. */
export function readPidFile(file: string): PidFileContent | null {
  try {
    const parsed = PidFileContent.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export function removePidFile(file: string): void {
  rmSync(file, { force: true });
}
