/**
 * The engine catalog: built-in entries (resources/engines/*.json) plus the user's
 * (<dataDir>/engines/*.json; a user entry with a built-in's id replaces it). Each file is
 * validated with the schema; a bad file is reported as a problem and left out, never half-used.
 * `canRun` answers whether an engine can run on this machine with a closed union of reasons.
 */
import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { CannotRunReason, EngineSummary } from '../../shared/contract/services.js';
import { assertNever } from '../../shared/assert-never.js';
import { EngineEntry } from './catalog-schema.js';
import { renderTemplate, type TemplateValues } from './template.js';

export interface CatalogItem {
  entry: EngineEntry;
  source: 'builtin' | 'user';
  file: string;
}

export interface Catalog {
  items: Map<string, CatalogItem>;
  problems: { file: string; message: string }[];
}

function readDir(dir: string, source: CatalogItem['source'], catalog: Catalog): void {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  } catch {
    return; // no such folder: nothing to add
  }
  for (const f of files) {
    const file = path.join(dir, f);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      catalog.problems.push({ file, message: `not valid JSON: ${(err as Error).message}` });
      continue;
    }
    const parsed = EngineEntry.safeParse(raw);
    if (!parsed.success) {
      catalog.problems.push({ file, message: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') });
      continue;
    }
    catalog.items.set(parsed.data.id, { entry: parsed.data, source, file });
  }
}

/** Loads the built-in entries, then the user's (which may replace a built-in by id). */
export function loadCatalog(dirs: { builtin: string; user: string }): Catalog {
  const catalog: Catalog = { items: new Map(), problems: [] };
  readDir(dirs.builtin, 'builtin', catalog);
  readDir(dirs.user, 'user', catalog);
  return catalog;
}

/** What canRun needs to know about this machine. */
export interface HostFacts {
  /** Values for {{node}} and {{workers_dir}}. */
  node: string;
  workersDir: string;
  /** PATH to search for binaries named by argv[0]. */
  searchPath: string;
  /** Environment (only the variables config/env.ts declares). */
  env: Partial<Record<string, string>>;
  platform: NodeJS.Platform;
  /** Number of usable GPUs, when known. */
  gpuCount: number | null;
  /** Whether Docker is usable, when known (last check); unknown: Docker engines are checked at create/start. */
  docker?: { usable: true } | { usable: false; detail: string };
}

export type CanRun = { ok: true; binary: string } | { ok: false; reason: CannotRunReason; detail: string };

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Resolves a command name as execvp would: absolute paths as they are, names through PATH. */
export function findExecutable(name: string, searchPath: string): string | null {
  if (path.isAbsolute(name)) return isExecutable(name) ? name : null;
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

/** Whether the engine can run here; for native engines also the resolved argv[0]. */
export function canRun(entry: EngineEntry, host: HostFacts): CanRun {
  if (!entry.devices.includes('cpu') && host.gpuCount === 0) {
    return { ok: false, reason: 'no-gpu', detail: `${entry.name} needs a GPU and this machine has none that AIMA can see.` };
  }
  switch (entry.runtime) {
    case 'docker':
      // The daemon, the GPU runtime and the images are checked (with their fixes) before a create or start.
      if (host.docker && !host.docker.usable) return { ok: false, reason: 'docker-unavailable', detail: host.docker.detail };
      return { ok: true, binary: 'docker' };
    case 'native': {
      if (host.platform === 'win32') {
        return { ok: false, reason: 'platform-unsupported', detail: 'Native engines are supported on Linux and macOS only so far.' };
      }
      const vars: TemplateValues = { node: host.node, workers_dir: host.workersDir };
      for (const f of entry.requiresFiles) {
        const file = renderTemplate(f, vars);
        if (!existsSync(file)) {
          return { ok: false, reason: 'worker-not-built', detail: `${file} is missing. Build the workers with \`npm run build\` (or \`node scripts/build-node.mjs\`).` };
        }
      }
      const argv0 = entry.command[0]!;
      if (argv0.includes('{{')) return { ok: true, binary: renderTemplate(argv0, vars) };
      const fromEnv = entry.binaryEnv ? host.env[entry.binaryEnv] : undefined;
      if (fromEnv) {
        return isExecutable(fromEnv)
          ? { ok: true, binary: fromEnv }
          : { ok: false, reason: 'binary-missing', detail: `${entry.binaryEnv}=${fromEnv} is not an executable file. Fix the path, or unset it to search PATH.` };
      }
      const found = findExecutable(argv0, host.searchPath);
      if (found) return { ok: true, binary: found };
      return {
        ok: false,
        reason: 'binary-missing',
        detail: `${argv0} not found on PATH.${entry.binaryEnv ? ` Install it, or set ${entry.binaryEnv} to its path.` : ' Install it.'}`,
      };
    }
    default:
      return assertNever(entry, 'engine runtime');
  }
}

export function summarizeEngine(item: CatalogItem, host: HostFacts): EngineSummary {
  const { entry } = item;
  const run = canRun(entry, host);
  return {
    id: entry.id,
    name: entry.name,
    description: entry.description,
    kind: entry.kind,
    runtime: entry.runtime,
    source: item.source,
    file: item.file,
    devices: entry.devices,
    modelFormats: entry.model.formats,
    modelKinds: entry.model.kinds,
    modelRequired: entry.model.required,
    imageFromService: entry.runtime === 'docker' && entry.imageFromService,
    resources: entry.runtime === 'docker' ? { memory: entry.resources.memory ?? null, cpus: entry.resources.cpus ?? null } : null,
    canRun: run.ok,
    reason: run.ok ? null : run.reason,
    detail: run.ok ? null : run.detail,
  };
}
