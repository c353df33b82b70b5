/**
 * Test-side checks for system parts. A test that needs a part calls `requirePart(ctx, part, present)`:
 * when the part is missing the test is skipped with a message naming the part and how to get it;
 * under AIMA_REQUIRE_ALL=1 (CI) the skip becomes a failure, unless the part is one that cannot be
 * obtained on these machines at all (see the brief: Electron binary, GPU, registry images, ...).
 */
import { existsSync, accessSync, constants } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type ObtainablePart =
  | 'docker'
  | 'chromium'
  | 'espeak-ng'
  | 'flite'
  | 'sox'
  | 'sshd'
  | 'shared-models'
  | 'shared-fixtures';

export type UnobtainablePart =
  | 'electron-binary'
  | 'gpu'
  | 'registry-images'
  | 'sherpa-neural-models'
  | 'rocm-smi'
  | 'huggingface-hub'
  | 'ray';

export type SystemPart = ObtainablePart | UnobtainablePart;

const HOW_TO_GET: Record<SystemPart, string> = {
  docker: 'apt-get install -y docker.io && dockerd &',
  chromium: 'apt-get install -y chromium',
  'espeak-ng': 'apt-get install -y espeak-ng',
  flite: 'apt-get install -y flite',
  sox: 'apt-get install -y sox',
  sshd: 'apt-get install -y openssh-server',
  'shared-models': 'check out the workplace shared/ folder beside this repo (../shared/models; sources in its README)',
  'shared-fixtures': 'check out the workplace shared/ folder beside this repo (../shared/fixtures)',
  'electron-binary': 'run on a machine where Electron can download its binary',
  gpu: 'run on a machine with an NVIDIA GPU',
  'registry-images': 'run where a container registry is reachable',
  'sherpa-neural-models': 'import a sherpa-onnx model folder',
  'rocm-smi': 'run on a machine with an AMD GPU and ROCm',
  'huggingface-hub': 'run where huggingface.co is reachable',
  ray: 'run where Ray can be obtained (the vLLM image, or pip install "ray[default]"; no Python registry or Debian package here) on two linked GPU nodes',
};

const UNOBTAINABLE: ReadonlySet<SystemPart> = new Set<UnobtainablePart>([
  'electron-binary',
  'gpu',
  'registry-images',
  'sherpa-neural-models',
  'rocm-smi',
  'huggingface-hub',
  'ray',
]);

export const requireAll = process.env.AIMA_REQUIRE_ALL === '1';

/** Repository root, from this file's location. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The workplace's shared/ folder beside the checkout. */
export const sharedDir = process.env.AIMA_SHARED_DIR ?? path.resolve(repoRoot, '..', 'shared');
export const sharedModel = (rel: string) => path.join(sharedDir, 'models', rel);
export const sharedFixture = (rel: string) => path.join(sharedDir, 'fixtures', rel);

/** Minimal view of vitest's test context, so this module does not depend on vitest internals. */
interface SkipContext {
  skip: (note?: string) => void;
}

/**
 * Skips the current test when `present` is false, naming the missing part and how to get it.
 * Under AIMA_REQUIRE_ALL=1 a missing obtainable part throws instead.
 */
export function requirePart(ctx: SkipContext, part: SystemPart, present: boolean): void {
  if (present) return;
  const message = `missing system part "${part}": ${HOW_TO_GET[part]}`;
  if (requireAll && !UNOBTAINABLE.has(part)) {
    throw new Error(`${message} (AIMA_REQUIRE_ALL=1 turns this skip into a failure)`);
  }
  ctx.skip(message);
}

/** True when an executable is on PATH (or at an absolute path). */
export function hasCommand(cmd: string): boolean {
  if (path.isAbsolute(cmd)) {
    try {
      accessSync(cmd, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, cmd))) return true;
  }
  return false;
}

/** True when the Docker daemon answers `docker version`. */
export function dockerAvailable(): boolean {
  try {
    execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], { stdio: 'pipe', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}
