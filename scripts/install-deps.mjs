#!/usr/bin/env node
// Installs the npm dependencies for this machine without the GPU prebuilts it cannot use.
//
// node-llama-cpp lists ~640 MB of CUDA and Vulkan builds of llama.cpp as optional dependencies. A
// plain `npm ci` downloads all of them on every Linux x64 machine. Instead we run
// `npm install --omit=optional` and then add back, from package-lock.json, every optional package that
// matches this platform (os, cpu, libc) — rolldown's and esbuild's native bindings, sherpa-onnx's
// and node-llama-cpp's CPU builds — plus the CUDA builds only when an NVIDIA driver is present
// (nvidia-smi answers) and the Vulkan builds only when a Vulkan loader is present.
//
// Usage: node scripts/install-deps.mjs [--if-missing] [--gpu=auto|none|all]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const gpuArg = [...args].find((a) => a.startsWith('--gpu='))?.slice(6) ?? 'auto';
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const env = {
  ...process.env,
  // onnxruntime-node's postinstall would fetch GPU binaries from a host outside the npm registry.
  ONNXRUNTIME_NODE_INSTALL: 'skip',
  // node-llama-cpp's postinstall compiles llama.cpp from source (10+ minutes on 2 cores) when its
  // prebuilt package is not installed yet — which is the case between the two steps below. The
  // prebuilt for this platform is added in the second step, so the postinstall has nothing to do.
  NODE_LLAMA_CPP_SKIP_DOWNLOAD: 'true',
};

function run(cmd, argv) {
  console.log(`$ ${cmd} ${argv.join(' ')}`);
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) {
    console.error(`install-deps: \`${cmd} ${argv.join(' ')}\` failed (exit ${r.status}).`);
    process.exit(r.status ?? 1);
  }
}

function commandWorks(cmd, argv) {
  try {
    execFileSync(cmd, argv, { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

function libc() {
  if (process.platform !== 'linux') return null;
  const report = process.report?.getReport?.();
  return report?.header?.glibcVersionRuntime ? 'glibc' : 'musl';
}

const matches = (list, value) => {
  if (!list) return true;
  const allowed = list.filter((x) => !x.startsWith('!'));
  const denied = list.filter((x) => x.startsWith('!')).map((x) => x.slice(1));
  if (denied.includes(value)) return false;
  return allowed.length === 0 || allowed.includes(value);
};

const wantCuda = gpuArg === 'all' || (gpuArg === 'auto' && commandWorks('nvidia-smi', ['-L']));
const wantVulkan = gpuArg === 'all' || (gpuArg === 'auto' && commandWorks('vulkaninfo', ['--summary']));
const llamaPlatform = { linux: 'linux', darwin: 'mac', win32: 'win' }[process.platform] ?? process.platform;
const isCuda = (name) => /^@node-llama-cpp\/.*cuda/.test(name);
const isVulkan = (name) => /^@node-llama-cpp\/.*vulkan/.test(name);

const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
const optional = [];
for (const [key, meta] of Object.entries(lock.packages ?? {})) {
  // Platform bindings only (they declare os or cpu); other optional packages stay omitted.
  if (!key || !meta.optional || (!meta.os && !meta.cpu)) continue;
  // Only top-level packages: nested copies come with their parents.
  if (key.lastIndexOf('node_modules/') !== 0) continue;
  const name = key.slice('node_modules/'.length);
  if (!matches(meta.os, process.platform) || !matches(meta.cpu, process.arch) || !matches(meta.libc, libc())) continue;
  // node-llama-cpp marks some cross builds (linux-arm64) as installable on x64: go by the name.
  if (name.startsWith('@node-llama-cpp/') && !name.startsWith(`@node-llama-cpp/${llamaPlatform}-${process.arch}`)) continue;
  if (isCuda(name) && !wantCuda) continue;
  if (isVulkan(name) && !wantVulkan) continue;
  optional.push({ name, version: meta.version, present: existsSync(path.join(root, key, 'package.json')) });
}

const haveTree = existsSync(path.join(root, 'node_modules', '.package-lock.json'));
if (args.has('--if-missing') && haveTree && optional.every((p) => p.present)) {
  console.log('install-deps: node_modules is complete.');
  process.exit(0);
}

// `npm install` from the lockfile rather than `npm ci`: the registry lacks some of
// node-llama-cpp's other-platform builds at this version (mac, win, riscv), which npm leaves out of
// the lockfile; `npm ci` then calls the lockfile out of sync, while `npm install` skips them as the
// optional packages they are. --no-save keeps package.json and the lockfile untouched.
if (!haveTree || !args.has('--if-missing')) run(npm, ['install', '--omit=optional', '--no-save', '--no-audit', '--no-fund']);
const specs = optional.map((p) => `${p.name}@${p.version}`);
if (specs.length) run(npm, ['install', '--no-save', '--omit=optional', '--no-audit', '--no-fund', ...specs]);
console.log(`install-deps: done (${specs.length} platform packages; CUDA builds ${wantCuda ? 'included' : 'skipped'}, Vulkan builds ${wantVulkan ? 'included' : 'skipped'}).`);
