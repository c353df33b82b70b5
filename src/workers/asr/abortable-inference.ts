/**
 * Runs transcriptions one at a time on an inference process, and lets each be abandoned by its
 * caller's AbortSignal without the next one waiting behind it:
 *
 *   - aborted while queued (or while waiting for a process to load): dropped, never run;
 *   - aborted while running: its process is killed and the warm spare takes over at once;
 *   - a replacement spare loads only while nothing is queued or running, so its load does not
 *     compete for the CPU with a transcription.
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
  private spare: Promise<U> | undefined;
  private readonly queue: Job[] = [];
  private running: Job | undefined;
  private spareReady = false;
  private closed = false;
  readonly aborts: AbortCounts = { dropped: 0, cancelled: 0 };

  /** `first` is the loaded process to start with; `start` loads another (the spares). */
  constructor(
    first: U,
    private readonly start: () => Promise<U>,
  ) {
    this.active = first;
    this.refillSpare();
  }

  /** Whether a transcription is running or waiting. */
  get busy(): boolean {
    return this.running !== undefined || this.queue.length > 0;
  }

  /** `ready`, `loading` or `none` (only between a failed load and the next try). */
  get spareState(): 'ready' | 'loading' | 'none' {
    return this.spareReady ? 'ready' : this.spare ? 'loading' : 'none';
  }

  /**
   * Runs `work` on the inference process once the ones queued before it are done. Rejects with
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
    if (!job) {
      this.refillSpare();
      return;
    }
    this.running = job;
    try {
      const unit = await this.unit();
      if (job.signal.aborted) return;
      job.unit = unit;
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

  /** The process to run on: the active one, else the spare (waiting for it if it still loads). */
  private async unit(): Promise<U> {
    if (this.active?.alive) return this.active;
    if (!this.spare) this.refillSpare(true);
    const spare = this.spare!;
    this.spare = undefined;
    this.spareReady = false;
    this.active = await spare;
    return this.active;
  }

  /** Starts loading a spare if none is there; only when idle unless `now`. */
  private refillSpare(now = false): void {
    if (this.spare || this.closed || (!now && this.busy)) return;
    const spare = this.start();
    this.spare = spare;
    spare.then(
      () => {
        if (this.spare === spare) this.spareReady = true;
      },
      () => {
        // A failed load is retried by the next request that needs a process.
        if (this.spare === spare) this.spare = undefined;
      },
    );
  }

  /** Kills every process; queued transcriptions are dropped. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('The ASR worker is stopping.'));
    this.active?.kill();
    const spare = this.spare;
    this.spare = undefined;
    (await spare?.catch(() => undefined))?.kill();
  }
}
