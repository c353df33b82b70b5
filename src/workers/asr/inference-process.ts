/**
 * The ASR model in a child process of its own, so that a transcription whose client went away can
 * be stopped mid-run: onnxruntime-node's `run` is one synchronous native call with no cancel, and
 * terminating a worker thread inside it aborts the whole process (std::terminate), so a process
 * killed with SIGKILL is the one unit that stops at once. The child is the worker's own bundled
 * script started with {@link INFERENCE_CHILD_FLAG}; it opens the backend, then transcribes one
 * piece of audio per message, over Node's IPC channel with structured-clone serialisation.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { StartupError } from '../common/worker-server.js';
import { openAsrBackend, type AsrBackend } from './backends.js';
import type { Loading } from './abortable-inference.js';
import type { SherpaAsrKind } from './sherpa-asr.js';

/** The first argument that makes the worker's script serve as an inference child. */
export const INFERENCE_CHILD_FLAG = '--aima-asr-inference-child';

export interface AsrModelOptions {
  model: string;
  threads: number;
  sherpaKind?: SherpaAsrKind;
  beams: number;
}

/** What the parent needs to know of the backend the child opened. */
export type BackendInfo = Pick<AsrBackend, 'engine' | 'windowSamples' | 'languages'>;

type ToChild = { open: AsrModelOptions } | { id: number; samples: Float32Array };
type FromChild = { ready: BackendInfo } | { fatal: string; expected: boolean } | { id: number; text: string } | { id: number; error: string };

/** True when this process was started as an inference child. */
export function isInferenceChild(): boolean {
  return process.argv[2] === INFERENCE_CHILD_FLAG && typeof process.send === 'function';
}

/** The child side: open the model on request, then transcribe pieces one at a time. */
export function serveInferenceChild(): void {
  const send = (m: FromChild) => process.send!(m);
  // The parent gone (killed, crashed) means nobody will ask again.
  process.on('disconnect', () => process.exit(0));
  let backend: AsrBackend | undefined;
  process.on('message', (m: ToChild) => {
    if ('open' in m) {
      openAsrBackend(m.open.model, m.open)
        .then(async (b) => {
          backend = b;
          // One run on a second of silence: the first run of a fresh session allocates its working
          // memory, a cost that belongs to the load, not to the first request (a spare's first
          // request is the one right after an abort).
          await b.transcribe(new Float32Array(16_000));
          // The model file's bytes (read, then rewritten) are garbage now, hundreds of MB that an
          // idle process would otherwise hold until V8 gets round to a major collection.
          (globalThis as { gc?: () => void }).gc?.();
          send({ ready: { engine: b.engine, windowSamples: b.windowSamples, languages: b.languages } });
        })
        .catch((err: Error) => send({ fatal: err.message, expected: err instanceof StartupError }));
      return;
    }
    backend!.transcribe(m.samples).then(
      (text) => send({ id: m.id, text }),
      (err: Error) => send({ id: m.id, error: err.message }),
    );
  });
}

/** The parent side: one child holding one loaded model. */
export class InferenceProcess {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (text: string) => void; reject: (err: Error) => void }>();
  private gone: string | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly info: BackendInfo,
  ) {
    child.on('message', (m: FromChild) => {
      if (!('id' in m)) return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if ('error' in m) p.reject(new Error(m.error));
      else p.resolve(m.text);
    });
    child.once('exit', (code, signal) => this.end(`the ASR inference process exited (${signal ?? `code ${code}`})`));
  }

  private end(why: string): void {
    if (this.gone) return;
    this.gone = why;
    for (const p of this.pending.values()) p.reject(new Error(why));
    this.pending.clear();
  }

  /**
   * Starts a child from `entry` (the worker's bundled script) loading the model; `ready` resolves
   * once it is loaded. A model that cannot be opened rejects with the child's reason (a
   * StartupError when the child expected it).
   */
  static launch(entry: string, opts: AsrModelOptions): Loading<InferenceProcess> {
    const child = fork(entry, [INFERENCE_CHILD_FLAG], {
      serialization: 'advanced',
      execArgv: [...process.execArgv, '--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    // Job control signals do not exist on Windows: there the load simply runs on.
    const signal = (s: NodeJS.Signals) => {
      if (process.platform !== 'win32' && child.exitCode === null && child.signalCode === null) child.kill(s);
    };
    return {
      ready: InferenceProcess.loaded(child, opts),
      pause: () => signal('SIGSTOP'),
      resume: () => signal('SIGCONT'),
      kill: () => child.kill('SIGKILL'),
    };
  }

  /** {@link launch}, waiting for the load. */
  static start(entry: string, opts: AsrModelOptions): Promise<InferenceProcess> {
    return InferenceProcess.launch(entry, opts).ready;
  }

  private static async loaded(child: ChildProcess, opts: AsrModelOptions): Promise<InferenceProcess> {
    let onMessage!: (m: FromChild) => void;
    let onExit!: (code: number | null, signal: NodeJS.Signals | null) => void;
    try {
      const info = await new Promise<BackendInfo>((resolve, reject) => {
        onMessage = (m) => {
          if ('ready' in m) resolve(m.ready);
          else if ('fatal' in m) reject(m.expected ? new StartupError(m.fatal) : new Error(m.fatal));
        };
        onExit = (code, signal) => reject(new Error(`the ASR inference process exited while loading (${signal ?? `code ${code}`})`));
        child.on('message', onMessage).once('exit', onExit);
        child.send({ open: opts } satisfies ToChild);
      });
      return new InferenceProcess(child, info);
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    } finally {
      child.off('message', onMessage).off('exit', onExit);
    }
  }

  /** The process id (for measurements). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** False once the child has exited, for whatever reason. */
  get alive(): boolean {
    return this.gone === undefined;
  }

  transcribe(samples: Float32Array): Promise<string> {
    if (this.gone) return Promise.reject(new Error(this.gone));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // The callback takes a send into a closing channel (reported, not thrown, by Node).
      // A view is cloned with its whole buffer: a copy of just the piece is what travels.
      this.child.send({ id, samples: samples.slice() } satisfies ToChild, (err) => {
        if (err && this.pending.delete(id)) reject(err);
      });
    });
  }

  /** Stops the child at once, whatever it is computing; pending transcriptions reject. */
  kill(): void {
    if (!this.alive) return;
    this.end('the ASR inference process was stopped');
    this.child.kill('SIGKILL');
  }
}
