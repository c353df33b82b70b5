/**
 * Runs a hardware tool (nvidia-smi, rocm-smi) without a shell and classifies the result, so every
 * probe reports the same four outcomes: ok, not-present (ENOENT), failed (non-zero exit, unusable
 * output) and timeout (hung: killed after `timeoutMs`).
 */
import { execFile } from 'node:child_process';

export type ToolResult =
  | { kind: 'ok'; stdout: string; durationMs: number }
  | { kind: 'not-present'; error: string; durationMs: number }
  | { kind: 'failed'; error: string; durationMs: number }
  | { kind: 'timeout'; error: string; durationMs: number };

export interface RunToolOptions {
  timeoutMs: number;
  /** Output cap; nvidia-smi -q -x is ~27 KB per GPU, so 8 MiB covers large hosts. */
  maxBufferBytes?: number;
}

/** The last non-empty line of a tool's output: what users see in an error. */
function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.at(-1) ?? '';
}

/**
 * Runs `file args` with execFile and a timeout. Never throws: the outcome is in the result.
 * A failure's error carries the tool's stderr (or stdout, where tools such as nvidia-smi print
 * their complaint there) so the user sees the tool's own words.
 */
export function runTool(file: string, args: readonly string[], options: RunToolOptions): Promise<ToolResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        timeout: options.timeoutMs,
        killSignal: 'SIGKILL', // a hung driver call may ignore SIGTERM; we only want it gone
        maxBuffer: options.maxBufferBytes ?? 8 * 1024 * 1024,
        windowsHide: true,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        const durationMs = Math.round(performance.now() - started);
        if (!err) {
          resolve({ kind: 'ok', stdout, durationMs });
          return;
        }
        const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null; code?: string | number };
        if (e.code === 'ENOENT') {
          resolve({ kind: 'not-present', error: `${file} not found`, durationMs });
          return;
        }
        if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
          resolve({ kind: 'failed', error: `${file} printed more than the output limit`, durationMs });
          return;
        }
        if (e.killed && e.signal) {
          resolve({ kind: 'timeout', error: `${file} did not answer within ${options.timeoutMs} ms (killed)`, durationMs });
          return;
        }
        const said = lastLine(stderr) || lastLine(stdout);
        const how = typeof e.code === 'number' ? `exited with code ${e.code}` : e.code ? String(e.code) : e.message;
        resolve({ kind: 'failed', error: said ? `${file} ${how}: ${said}` : `${file} ${how}`, durationMs });
      },
    );
  });
}
