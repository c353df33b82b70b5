/**
 * Every environment variable AIMA reads, declared once and typed (as Ollama's envconfig does).
 * Nothing else in the code base reads process.env directly, except downloads/proxy.ts for the proxy
 * variables, which it reads as the proxy-from-env library does.
 */

export interface EnvSpec {
  /** What it does, for `aima --help` and the docs. */
  description: string;
}

/** AIMA_<ENGINE>_MEMORY / _CPU / _GPU: a Docker engine's container limits (override the catalog's `resources`). */
function dockerLimits<P extends string>(prefix: P, engine: string): Record<`${P}_MEMORY` | `${P}_CPU` | `${P}_GPU`, EnvSpec> {
  return {
    [`${prefix}_MEMORY`]: { description: `${engine} container memory limit, e.g. 32g (default: the engine entry's)` },
    [`${prefix}_CPU`]: { description: `${engine} container CPU limit in cores, e.g. 8 or 1.5 (default: the engine entry's, else none)` },
    [`${prefix}_GPU`]: { description: `${engine} GPUs when a service names none: "all" or indexes such as 0,1 (default all)` },
  } as Record<`${P}_MEMORY` | `${P}_CPU` | `${P}_GPU`, EnvSpec>;
}

export const envSpecs = {
  AIMA_HOME: { description: 'Data directory (default: the platform data dir, e.g. ~/.local/share/aima)' },
  AIMA_PORT: { description: 'Port of the core API when `aima serve` is started without --port (default 9090)' },
  AIMA_NVIDIA_SMI: { description: 'Path of the nvidia-smi executable (tests and demos replay recordings through it)' },
  AIMA_LLAMA_SERVER: { description: 'Path of the llama-server binary for the llama-server engine (default: found on PATH)' },
  AIMA_SQLITE_BINDING: { description: 'Path of a better_sqlite3.node to load instead of the automatic choice' },
  AIMA_REQUIRE_ALL: { description: 'Tests: 1 turns a skip for a missing obtainable system part into a failure' },
  AIMA_LOG_LEVEL: { description: 'debug | info | warn | error (default info)' },
  XDG_DATA_HOME: { description: 'Linux data directory base (XDG Base Directory spec)' },
  APPDATA: { description: 'Windows roaming application data directory' },
  PATH: { description: 'Where engine binaries named by the catalog (llama-server) are looked up' },
  DOCKER_HOST: { description: 'Docker daemon address (default: the local socket)' },
  HF_ENDPOINT: { description: 'Hugging Face Hub endpoint or mirror for search and downloads (default https://huggingface.co)' },
  HF_TOKEN: { description: 'Hugging Face token for gated repositories (overrides the one stored with `aima model hf-token set`)' },
  MODELSCOPE_ENDPOINT: { description: 'ModelScope endpoint or mirror for search and downloads with --source modelscope (default https://www.modelscope.cn)' },
  // Read by proxy-from-env itself (downloads/proxy.ts), lower case first as curl does; declared for the docs.
  HTTPS_PROXY: { description: 'Proxy for the Hub API and https downloads, e.g. http://proxy.corp:3128 (http://USER:PASSWORD@HOST:PORT for a login; https_proxy wins if both are set)' },
  HTTP_PROXY: { description: 'Proxy for http:// addresses (a plain-HTTP HF_ENDPOINT mirror)' },
  ALL_PROXY: { description: "Proxy for both when the scheme's own variable is unset (http:// or https:// proxies; SOCKS is not supported)" },
  NO_PROXY: { description: 'Hosts reached without the proxy: comma-separated names, .suffixes, host:port, or * for all' },
  AIMA_UPLOAD_BUDGET_MB: { description: 'Total MB of audio uploads the gateway takes in at once; beyond it uploads get 429 (default 1024)' },
  AIMA_WORKER_LOAD_DELAY_MS: { description: 'Tests: milliseconds an embedded worker (llm, asr, tts) waits after listening before it loads its model, so its loading phase can be observed; read by src/workers/common/worker-server.ts' },
  ...dockerLimits('AIMA_VLLM', 'vLLM'),
  ...dockerLimits('AIMA_SGLANG', 'SGLang'),
  ...dockerLimits('AIMA_LLAMA_CPP', 'llama.cpp server (Docker)'),
  ...dockerLimits('AIMA_SPEACHES', 'Speaches'),
  ...dockerLimits('AIMA_KOKORO', 'Kokoro TTS'),
  ...dockerLimits('AIMA_CUSTOM_IMAGE', 'Custom image'),
} as const satisfies Record<string, EnvSpec>;

export type EnvName = keyof typeof envSpecs;
export type Env = Partial<Record<EnvName, string>>;

/** Reads the declared variables from an environment (process.env by default); empty strings count as unset. */
export function readEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const env: Env = {};
  for (const name of Object.keys(envSpecs) as EnvName[]) {
    const value = source[name];
    if (value !== undefined && value !== '') env[name] = value;
  }
  return env;
}

/** Parses a TCP port from an env value, or throws naming the variable. */
export function parsePort(value: string, what: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`${what} must be a port number between 0 and 65535, got "${value}".`);
  }
  return port;
}

/** Parses a positive whole number of megabytes from an env value into bytes, or throws naming the variable. */
export function parseMegabytes(value: string, what: string): number {
  const mb = Number(value);
  if (!Number.isInteger(mb) || mb < 1) throw new Error(`${what} must be a whole number of megabytes, 1 or more, got "${value}".`);
  return mb * 1024 * 1024;
}

export const DEFAULT_PORT = 9090;
