/**
 * Test images built locally, without a registry: a rootfs made of Debian's static busybox
 * (busybox-static) and a /www/health file, turned into an image with `docker import`. The
 * container serves /www with `busybox httpd` on port 8000 by default (GET /health → 200), which is
 * what the "custom image" engine expects. It stops on SIGTERM at once: `docker stop` must not wait
 * out the grace period (10 s for the custom image engine) on every stop.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './system.js';

export const BUSYBOX = '/bin/busybox';
/** The tag names the image's content: an image left by an earlier version under another tag is not reused. */
export const HTTPD_IMAGE = 'aima-test/httpd:2';

/**
 * The default command: httpd under a shell that is PID 1 and traps SIGTERM. The kernel delivers
 * to a container's PID 1 only the signals it has a handler for, and busybox httpd installs none
 * for SIGTERM, so httpd as PID 1 would ignore `docker stop` until the grace period ends and SIGKILL
 * comes. The shell's `wait` returns on the trapped signal and the shell exits (143, as a process
 * killed by SIGTERM); the kernel then ends httpd with the container.
 */
const HTTPD_CMD = ['/bin/sh', '-c', "trap 'exit 143' TERM; httpd -f -vv -p 8000 -h /www & wait"];

/** True when Debian's busybox-static binary is installed (it runs in an empty rootfs). */
export function busyboxStaticAvailable(): boolean {
  if (!existsSync(BUSYBOX)) return false;
  try {
    return !execFileSync('file', ['-L', BUSYBOX], { encoding: 'utf8' }).includes('dynamically linked');
  } catch {
    return true; // no `file` command: trust the package
  }
}

export function docker(args: string[], opts: { input?: string; timeoutMs?: number } = {}): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], input: opts.input, timeout: opts.timeoutMs ?? 60_000 });
}

export function imageExists(image: string): boolean {
  try {
    docker(['image', 'inspect', image]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Imports a busybox rootfs as `tag` through `cli` (the shared daemon's docker CLI by default):
 * /bin/busybox with `applets` linked to it, /www and /tmp, plus `files` (path → content; mode 0755
 * for paths under a bin folder), with the given `docker import --change` lines.
 */
export function importBusyboxRootfs(
  tag: string,
  opts: { applets: string[]; files: Record<string, string>; copies?: Record<string, string>; changes: string[]; cli?: (args: string[], opts?: { timeoutMs?: number }) => string },
): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'aima-rootfs-'));
  try {
    const root = path.join(dir, 'rootfs');
    for (const d of ['bin', 'www', 'tmp']) mkdirSync(path.join(root, d), { recursive: true });
    copyFileSync(BUSYBOX, path.join(root, 'bin', 'busybox'));
    for (const applet of opts.applets) symlinkSync('busybox', path.join(root, 'bin', applet));
    // Binaries of this machine (a program and the libraries it links), copied as they are.
    for (const [file, from] of Object.entries(opts.copies ?? {})) {
      mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      copyFileSync(from, path.join(root, file));
    }
    for (const [file, content] of Object.entries(opts.files)) {
      mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      writeFileSync(path.join(root, file), content, { mode: /(^|\/)bin\//.test(file) ? 0o755 : 0o644 });
    }
    const tar = path.join(dir, 'rootfs.tar');
    execFileSync('tar', ['-C', root, '-cf', tar, '.']);
    (opts.cli ?? docker)(['import', ...opts.changes.flatMap((c) => ['--change', c]), tar, tag], { timeoutMs: 120_000 });
    return tag;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Builds `tag` from busybox unless it exists already; `extra` adds files (path in the rootfs → content, executable when under bin/). */
export function buildHttpdImage(tag = HTTPD_IMAGE, extra: Record<string, string> = {}): string {
  if (imageExists(tag)) return tag;
  return importBusyboxRootfs(tag, {
    applets: ['sh', 'sleep', 'echo', 'httpd', 'cat', 'ls'],
    files: { 'www/health': '{"status":"ok"}\n', ...extra },
    changes: ['ENV PATH=/bin', `CMD ${JSON.stringify(HTTPD_CMD)}`],
  });
}

export const TLS_ENGINE_IMAGE = 'aima-test/tls-engine:1';

/**
 * An engine for TCP nodes: this Node.js binary and the libraries it links, beside busybox, running
 * test/fixtures/engines/tls-engine.mjs (HTTPS with the certificate and key it is given, `/v1`
 * guarded by the bearer key). Rebuilt when the script changes (its hash is in the tag's label).
 */
export function buildTlsEngineImage(tag = TLS_ENGINE_IMAGE): string {
  return buildNodeScriptImage(tag, path.join(repoRoot, 'test', 'fixtures', 'engines', 'tls-engine.mjs'));
}

export const HUB_ENGINE_IMAGE = 'aima-test/hub-engine:1';

/** An engine standing in for vLLM with a Hub id: test/fixtures/engines/hub-engine.mjs (see there). */
export function buildHubEngineImage(tag = HUB_ENGINE_IMAGE): string {
  return buildNodeScriptImage(tag, path.join(repoRoot, 'test', 'fixtures', 'engines', 'hub-engine.mjs'));
}

/**
 * An image that runs `script` with this Node.js binary (and the libraries it links) beside
 * busybox. Rebuilt when the script changes (its hash is in the tag's label).
 */
function buildNodeScriptImage(tag: string, script: string): string {
  const hash = createHash('sha256').update(readFileSync(script)).digest('hex').slice(0, 16);
  if (imageExists(tag) && docker(['image', 'inspect', '-f', '{{index .Config.Labels "aima.test.script"}}', tag]).trim() === hash) return tag;
  const node = realpathSync(process.execPath);
  const libs = [...execFileSync('ldd', [node], { encoding: 'utf8' }).matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]!);
  return importBusyboxRootfs(tag, {
    applets: ['sh'],
    files: {},
    copies: { 'bin/node': node, 'engine.mjs': script, ...Object.fromEntries(libs.map((l) => [l.slice(1), l])) },
    changes: ['ENV PATH=/bin', `LABEL aima.test.script=${hash}`, 'ENTRYPOINT ["/bin/node", "/engine.mjs"]'],
  });
}

/** Containers carrying AIMA's service label (optionally for one service id). */
export function aimaContainers(serviceId?: string): string[] {
  const out = docker(['ps', '-aq', '--filter', `label=aima.service${serviceId ? `=${serviceId}` : ''}`]);
  return out.split('\n').filter(Boolean);
}

export const RAY_STANDIN_IMAGE = 'aima-test/ray-standin:1';

/**
 * The httpd test image with a `ray` stand-in (Ray itself cannot be obtained here): `ray start ...`
 * prints its arguments and blocks like `ray start --block`; `ray status ...` prints `statusText`
 * (a `ray status -v` output the Ray project published). Every member of a group runs it.
 */
export function buildRayStandInImage(statusText: string, tag = RAY_STANDIN_IMAGE): string {
  return buildHttpdImage(tag, { 'bin/ray': RAY_SCRIPT, 'ray/status.txt': statusText });
}

const RAY_SCRIPT = '#!/bin/sh\ncase "$1" in\n  start) echo "ray stand-in: $*"; exec sleep 2147483647 ;;\n  status) cat /ray/status.txt ;;\n  *) echo "ray stand-in: unknown command $1" >&2; exit 2 ;;\nesac\n';

export const TLS_RAY_STANDIN_IMAGE = 'aima-test/tls-ray-standin:1';

/**
 * The Ray stand-in with an HTTPS engine instead of busybox httpd: the `ray` script of
 * buildRayStandInImage beside this Node.js binary (and the libraries it links) running
 * test/fixtures/engines/tls-engine.mjs, for a span whose head is on a TCP node. Rebuilt when the
 * engine script changes (its hash is in the tag's label).
 */
export function buildTlsRayStandInImage(statusText: string, tag = TLS_RAY_STANDIN_IMAGE): string {
  const script = path.join(repoRoot, 'test', 'fixtures', 'engines', 'tls-engine.mjs');
  const hash = createHash('sha256').update(readFileSync(script)).update(statusText).digest('hex').slice(0, 16);
  if (imageExists(tag) && docker(['image', 'inspect', '-f', '{{index .Config.Labels "aima.test.script"}}', tag]).trim() === hash) return tag;
  const node = realpathSync(process.execPath);
  const libs = [...execFileSync('ldd', [node], { encoding: 'utf8' }).matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]!);
  return importBusyboxRootfs(tag, {
    applets: ['sh', 'sleep', 'cat', 'killall'],
    files: { 'bin/ray': RAY_SCRIPT, 'ray/status.txt': statusText },
    copies: { 'bin/node': node, 'engine.mjs': script, ...Object.fromEntries(libs.map((l) => [l.slice(1), l])) },
    changes: ['ENV PATH=/bin', `LABEL aima.test.script=${hash}`],
  });
}

/** A TLS span engine entry as data: tls-engine.mjs run in the head, with the TLS and key flags it takes as `remoteAccess`. */
export function tlsSpanTestEngineJson(id: string) {
  return {
    ...spanTestEngineJson(id, { required: false, formats: ['safetensors'] }),
    name: `Test TLS span ${id} (tls-engine, ray stand-in)`,
    images: [{ image: TLS_RAY_STANDIN_IMAGE }],
    remoteAccess: { tlsKeyFileFlag: '--ssl-keyfile', tlsCertFileFlag: '--ssl-certfile', apiKeyFlag: '--api-key', keyGuards: '/v1' },
    multiNode: { launcher: 'ray', command: ['node', '/engine.mjs', '--port', '{{port}}'], args: [] },
  };
}

/**
 * A Ray-launched engine entry as data (write it to an AIMA home's engines/ folder): the Ray stand-in
 * on every node, busybox httpd as "the engine" run in the head. `model` says which models it takes.
 */
export function spanTestEngineJson(id: string, model: { required: boolean; formats: string[] }) {
  return {
    id,
    name: `Test span ${id} (busybox, ray stand-in)`,
    kind: 'llm',
    runtime: 'docker',
    devices: ['cpu'],
    model: { ...model, kinds: ['llm'] },
    images: [{ image: RAY_STANDIN_IMAGE }],
    modelMountPath: '/models/model',
    containerPort: 8000,
    health: { path: '/health', status: 200 },
    resources: { memory: '64m' },
    defaults: { stopGraceMs: 1000 },
    multiNode: { launcher: 'ray', command: ['httpd', '-f', '-vv', '-p', '{{host}}:{{port}}', '-h', '/www'], args: [] },
  };
}
