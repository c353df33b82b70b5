/**
 * Runs transcriptions one at a time on an inference process, and lets each be abandoned by its
 * caller's AbortSignal without the next one waiting behind it:
 *
 *   - aborted while queued (or while waiting for a process to load): dropped, never run;
 *   - aborted while running: its process is killed and the warm spare takes over at once;
 *   - a replacement spare starts loading when the queue is empty and is paused whenever a
 *     transcription runs, so its load never competes with one for the CPU.
 *
 * The spare costs a second loaded model in memory; docs/speech-workers.md has the measurements
 * that chose this over a second instance finishing the abandoned run.
 */

/** What the queue needs of an inference process. */
export interface InferenceUnit {
  transcribe(samples: Float32Array): Promise<string>;
  /** Stops it at once; pending transcriptions reject. */
  kill(): void;
  readonly alive: boolean;
}

/** A unit being loaded, whose load can be paused and resumed. */
export interface Loading<U> {
  ready: Promise<U>;
  pause(): void;
  resume(): void;
  /** Stops it, loading or loaded. */
  kill(): void;
}

/** Requests abandoned by their clients: `dropped` never ran, `cancelled` were stopped mid-run. */
export interface AbortCounts {
  dropped: number;
  cancelled: number;
}

/** Thrown to the caller whose signal aborted the transcription. */
export class TranscriptionAborted extends Error {
  constructor() {
    super('The client went away; the transcription was abandoned.');
  }
}

interface Job {
  work: (unit: InferenceUnit) => Promise<unknown>;
  signal: AbortSignal;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  /** Set once the job runs on a unit. */
  unit?: InferenceUnit;
}

export class AbortableInference<U extends InferenceUnit> {
  private active: U | undefined;
  private spare: Loading<U> | undefined;
  private spareReady = false;
  private readonly queue: Job[] = [];
  private running: Job | undefined;
  private closed = false;
  readonly aborts: AbortCounts = { dropped: 0, cancelled: 0 };

  /** `first` is the loaded unit to start with; `launch` starts loading another (the spares). */
  constructor(
    first: U,
    private readonly launch: () => Loading<U>,
  ) {
    this.active = first;
    this.idle();
  }

  /** Whether a transcription is running or waiting. */
  get busy(): boolean {
    return this.running !== undefined || this.queue.length > 0;
  }

  /** `ready`, `loading` (or paused while a transcription runs) or `none` (after a failed load). */
  get spareState(): 'ready' | 'loading' | 'none' {
    return this.spareReady ? 'ready' : this.spare ? 'loading' : 'none';
  }

  /**
   * Runs `work` on the inference unit once the jobs queued before it are done. Rejects with
   * {@link TranscriptionAborted} as soon as `signal` aborts, whether queued or running.
   */
  run<T>(signal: AbortSignal, work: (unit: U) => Promise<T>): Promise<T> {
    if (signal.aborted) {
      this.aborts.dropped++;
      return Promise.reject(new TranscriptionAborted());
    }
    return new Promise<T>((resolve, reject) => {
      const job: Job = { work: work as Job['work'], signal, resolve: resolve as Job['resolve'], reject };
      signal.addEventListener('abort', () => this.abandon(job), { once: true });
      this.queue.push(job);
      void this.pump();
    });
  }

  private abandon(job: Job): void {
    const queued = this.queue.indexOf(job);
    if (queued >= 0) this.queue.splice(queued, 1);
    else if (this.running !== job) return;
    if (job.unit) {
      this.aborts.cancelled++;
      job.unit.kill();
    } else {
      this.aborts.dropped++;
    }
    job.reject(new TranscriptionAborted());
  }

  private async pump(): Promise<void> {
    if (this.running || this.closed) return;
    const job = this.queue.shift();
    if (!job) return this.idle();
    this.running = job;
    try {
      const unit = await this.unit();
      if (job.signal.aborted) return;
      job.unit = unit;
      if (!this.spareReady) this.spare?.pause();
      job.resolve(await job.work(unit));
    } catch (err) {
      // An abandoned job was answered by abandon(); a second reject is a no-op.
      job.reject(err as Error);
    } finally {
      if (this.active && !this.active.alive) this.active = undefined;
      this.running = undefined;
      void this.pump();
    }
  }

  /** The unit to run on: the active one, else the spare (waiting for it if it still loads). */
  private async unit(): Promise<U> {
    if (this.active?.alive) return this.active;
    const spare = this.spare ?? this.startSpare();
    this.spare = undefined;
    this.spareReady = false;
    spare.resume();
    this.active = await spare.ready;
    return this.active;
  }

  /** Nothing to run: the spare loads (or goes on loading). */
  private idle(): void {
    if (this.closed) return;
    if (this.spare) this.spare.resume();
    else this.startSpare();
  }

  private startSpare(): Loading<U> {
    const spare = this.launch();
    this.spare = spare;
    spare.ready.then(
      () => {
        if (this.spare === spare) this.spareReady = true;
      },
      () => {
        // A failed load is retried when the worker is next idle or needs a unit.
        if (this.spare === spare) this.spare = undefined;
      },
    );
    return spare;
  }

  /** Kills every unit; queued transcriptions are rejected. */
  close(): void {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('The ASR worker is stopping.'));
    this.active?.kill();
    this.spare?.kill();
    this.spare = undefined;
  }
}
