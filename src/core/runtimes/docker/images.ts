/**
 * Which image a Docker service runs: the first candidate (in the catalog's order, already filtered
 * by the hardware) present locally; otherwise the first that can be pulled, with progress;
 * otherwise an error that lists every image tried and why each was not usable.
 */
import type Docker from 'dockerode';
import { AimaError } from '../../../shared/errors.js';

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
