/**
 * Runs flite.wasm in a worker thread. flite synthesises synchronously (about 0.1 s per second of
 * speech, more under load); on the main thread that would stall /health and every other request
 * for as long as a sentence takes. The thread is the same bundled script started with a marker in
 * `workerData`; it answers one request at a time.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { FliteWasiEngine, type TtsEngine, type VoiceInfo } from './engines.js';

const ROLE = 'aima-flite-thread';

type Request = { id: number; text: string; voice: string; speed: number } | { close: true };
type Reply = { id: number; samples: Float32Array } | { id: number; error: string };
type Hello = { ready: VoiceInfo[] } | { fatal: string };

/** True inside the flite thread (the entry script calls `serveFliteThread` then). */
export function isFliteThread(): boolean {
  return !isMainThread && (workerData as { role?: string } | null)?.role === ROLE;
}

/** The thread side: load flite, report its voices, then synthesise on request. */
export async function serveFliteThread(): Promise<void> {
  const port = parentPort!;
  let engine: FliteWasiEngine;
  try {
    engine = await FliteWasiEngine.create();
  } catch (err) {
    port.postMessage({ fatal: (err as Error).message } satisfies Hello);
    return;
  }
  port.postMessage({ ready: engine.voices() } satisfies Hello);
  port.on('message', (r: Request) => {
    if ('close' in r) {
      engine.close();
      port.close();
      return;
    }
    // synthesize() does its work synchronously; requests queue in the port meanwhile.
    engine.synthesize(r.text, r.voice, r.speed).then(
      (samples) => port.postMessage({ id: r.id, samples } satisfies Reply),
      (err: Error) => port.postMessage({ id: r.id, error: err.message } satisfies Reply),
    );
  });
}

/** The main-thread side: a TtsEngine whose work happens in the flite thread. */
export class FliteThreadEngine implements TtsEngine {
  readonly name = 'flite' as const;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (s: Float32Array) => void; reject: (e: Error) => void }>();
  private dead: string | undefined;

  private constructor(
    private readonly worker: Worker,
    private readonly voiceList: VoiceInfo[],
  ) {
    worker.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if ('error' in m) p.reject(new Error(m.error));
      else p.resolve(m.samples);
    });
    const fail = (why: string) => {
      this.dead = why;
      for (const p of this.pending.values()) p.reject(new Error(why));
      this.pending.clear();
    };
    worker.on('error', (err) => fail(`flite thread failed: ${err.message}`));
    worker.on('exit', (code) => fail(`flite thread exited (code ${code})`));
  }

  /** Starts the thread from `entry` (the worker's own bundled script) and waits for its voices. */
  static async create(entry: URL): Promise<FliteThreadEngine> {
    const worker = new Worker(entry, { workerData: { role: ROLE } });
    // Only our own start-up listeners are removed afterwards: Worker keeps internal listeners
    // (message-port referencing) that removeAllListeners() would break.
    let onMessage!: (m: Hello) => void;
    let onError!: (err: Error) => void;
    let onExit!: (code: number) => void;
    const voices = await new Promise<VoiceInfo[]>((resolve, reject) => {
      onMessage = (m) => ('ready' in m ? resolve(m.ready) : reject(new Error(m.fatal)));
      onError = reject;
      onExit = (code) => reject(new Error(`flite thread exited with code ${code} while starting`));
      worker.once('message', onMessage).once('error', onError).once('exit', onExit);
    }).finally(() => {
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
    });
    return new FliteThreadEngine(worker, voices);
  }

  voices(): VoiceInfo[] {
    return this.voiceList;
  }

  synthesize(text: string, voiceId: string, speed: number): Promise<Float32Array> {
    if (this.dead) return Promise.reject(new Error(this.dead));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, text, voice: voiceId, speed } satisfies Request);
    });
  }

  close(): void {
    if (!this.dead) this.worker.postMessage({ close: true } satisfies Request);
  }
}
