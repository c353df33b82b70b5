/** Helpers for the services tests: fake engine catalog entries, /proc checks, polling. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './system.js';

export const fakeEngine = path.join(repoRoot, 'test', 'fixtures', 'engines', 'fake-engine.mjs');

/** Writes a user catalog entry <dataDir>/engines/<id>.json that runs the fake engine with `args`. */
export function writeFakeEngine(dataDir: string, id: string, args: string[], overrides: Record<string, unknown> = {}): void {
  const dir = path.join(dataDir, 'engines');
  mkdirSync(dir, { recursive: true });
  const entry = {
    id,
    name: `Fake engine (${id})`,
    kind: 'llm',
    runtime: 'native',
    devices: ['cpu', 'gpu'],
    model: { required: false, formats: ['gguf'], kinds: ['llm'] },
    command: ['{{node}}', fakeEngine, '--host', '{{host}}', '--port', '{{port}}', '--model-name', '{{model_name}}', ...args],
    optionArgs: { model_path: ['--model', '{{model_path}}'] },
    health: { path: '/health', status: 200, json: { field: 'status', equals: 'ok' }, progressField: 'progress' },
    ...overrides,
  };
  writeFileSync(path.join(dir, `${id}.json`), JSON.stringify(entry, null, 2));
}

/** The state letter of /proc/PID/stat (R, S, Z, ...), or null when there is no such process. */
export function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? null;
  } catch {
    return null;
  }
}

export async function waitFor<T>(fn: () => T | Promise<T>, what: string, timeoutMs = 10_000, everyMs = 20): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A stored service row on node `b` (the migration tests insert it at an older schema). */
export function serviceRow(id: string, name: string, engine: { engineId: string; device: 'cpu' | 'gpu' }) {
  return {
    id,
    name,
    modelId: null,
    ...engine,
    gpus: [],
    port: 0,
    threads: null,
    ctxSize: null,
    concurrency: 1,
    desiredState: 'stopped' as const,
    restartPolicy: 'on-failure' as const,
    node: 'b',
  };
}
