/**
 * Which image a Docker service runs: the first candidate (in the catalog's order, already filtered
 * by the hardware) present locally; otherwise the first that can be pulled, with progress;
 * otherwise an error that lists every image tried and why each was not usable.
 */
import type { WriteStream } from 'node:fs';
import type Docker from 'dockerode';
import { AimaError } from '../../../shared/errors.js';
import type { Operations } from '../../operations/operations.js';

export interface PullProgress {
  image: string;
  /** Bytes downloaded and expected so far, summed over layers (null while the total is unknown). */
  done: number;
  total: number | null;
  /** The daemon's last status line ("Downloading", "Pull complete", ...). */
  status: string;
}

export interface ResolveOptions {
  onPull?: (p: PullProgress) => void;
  signal?: AbortSignal;
}

/** True when the daemon has the image (by name:tag). */
export async function imagePresent(docker: Docker, image: string): Promise<boolean> {
  try {
    await docker.getImage(image).inspect();
    return true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
    throw err;
  }
}

interface PullEvent {
  status?: string;
  id?: string;
  error?: string;
  errorDetail?: { message?: string };
  progressDetail?: { current?: number; total?: number };
}

/** Pulls one image, reporting bytes over all layers; rejects with the daemon's message. */
export function pullImage(docker: Docker, image: string, opts: ResolveOptions = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.pull(image, {}, (err: Error | null, stream?: NodeJS.ReadableStream) => {
      if (err || !stream) return reject(err ?? new Error('no stream'));
      const layers = new Map<string, { current: number; total: number }>();
      let failure: string | null = null;
      const onAbort = () => {
        (stream as NodeJS.ReadableStream & { destroy?: (e?: Error) => void }).destroy?.(new Error('cancelled'));
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      docker.modem.followProgress(
        stream,
        (finishErr: Error | null) => {
          opts.signal?.removeEventListener('abort', onAbort);
          if (finishErr || failure) reject(new Error(failure ?? finishErr!.message));
          else resolve();
        },
        (ev: PullEvent) => {
          if (ev.error) {
            failure = ev.errorDetail?.message ?? ev.error;
            return;
          }
          if (ev.id && ev.progressDetail?.total) layers.set(ev.id, { current: ev.progressDetail.current ?? 0, total: ev.progressDetail.total });
          else if (ev.id && ev.status === 'Pull complete') {
            const l = layers.get(ev.id);
            if (l) l.current = l.total;
          }
          let done = 0;
          let total = 0;
          for (const l of layers.values()) {
            done += l.current;
            total += l.total;
          }
          opts.onPull?.({ image, done, total: total > 0 ? total : null, status: `${ev.status ?? ''}${ev.id ? ` ${ev.id}` : ''}`.trim() });
        },
      );
    });
  });
}

/**
 * The image to run: the first of `images` present locally, else the first that pulls. `skipped`
 * (candidates the hardware rules out) only goes into the error message.
 */
export async function resolveImage(docker: Docker, engineId: string, images: string[], skipped: { image: string; why: string }[], opts: ResolveOptions = {}): Promise<string> {
  const notes = skipped.map((s) => `${s.image} (${s.why})`);
  if (images.length === 0) {
    throw new AimaError('unavailable', `No image of engine "${engineId}" suits this machine: ${notes.join('; ') || 'the catalog lists none'}.`, 'Pick another device or engine, or add a suitable image to the engine entry.');
  }
  for (const image of images) if (await imagePresent(docker, image)) return image;
  const failures: string[] = [];
  for (const image of images) {
    try {
      await pullImage(docker, image, opts);
      return image;
    } catch (err) {
      if (opts.signal?.aborted) throw new AimaError('cancelled', `Pulling ${image} was cancelled.`);
      failures.push(`${image}: ${(err as Error).message}`);
    }
  }
  throw new AimaError(
    'unavailable',
    `No image of engine "${engineId}" is available: none of ${images.join(', ')} is present locally, and pulling failed (${failures.join('; ')})${notes.length ? `; not suitable here: ${notes.join('; ')}` : ''}.`,
    `Make a registry reachable (docker pull ${images[0]}), or load the image with \`docker load\`.`,
  );
}

export interface StartImageOptions {
  engineId: string;
  images: string[];
  skipped: { image: string; why: string }[];
  /** The pull operation's label ("Pulling the image for NAME"). */
  label: string;
  /** The service's log: a line a second while pulling (it keeps the stall timer fed), then the outcome. */
  log: WriteStream;
  /** Pulls run as operations (progress in `operation.progress`, cancellable). */
  operations?: Operations;
}

/**
 * The image a container starts from: the first candidate present, else the first that pulls, with
 * progress in an operation and in the log. On failure the log gets the reason and is ended.
 */
export async function imageForStart(docker: Docker, o: StartImageOptions): Promise<string> {
  for (const image of o.images) if (await imagePresent(docker, image)) return image;
  let lastLine = 0;
  const pull = (op?: { report(done: number, total: number | null, message?: string): void; signal: AbortSignal }) =>
    resolveImage(docker, o.engineId, o.images, o.skipped, {
      signal: op?.signal,
      onPull: (p: PullProgress) => {
        op?.report(p.done, p.total, `${p.image}: ${p.status}`);
        if (Date.now() - lastLine >= 1000) {
          lastLine = Date.now();
          o.log.write(`aima: pulling ${p.image}: ${p.total ? `${Math.round((100 * p.done) / p.total)}% of ${Math.round(p.total / 1e6)} MB` : p.status}\n`);
        }
      },
    });
  try {
    const image = o.operations ? await o.operations.run({ label: o.label, unit: 'bytes' }, pull) : await pull();
    o.log.write(`aima: pulled ${image}\n`);
    return image;
  } catch (err) {
    o.log.write(`aima: ${(err as Error).message}\n`);
    o.log.end();
    throw err;
  }
}
