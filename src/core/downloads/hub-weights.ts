/**
 * The size of a Hub repository's weights, for placing a service whose engine downloads it on its
 * node (`--hf-model`): the weight files as the hub's file tree lists them (the listing the
 * downloader uses), the way vLLM and SGLang pick them — the `*.safetensors` files when the
 * repository has any, else the PyTorch `*.bin` / `*.pt` / `*.pth` files — at the repository's top
 * level (folders such as `original/` hold another copy in another format, which engines skip).
 */
import type { HubFile } from '../../shared/contract/index.js';
import { toAimaError } from '../../shared/errors.js';
import type { ModelHub } from './hub.js';

export type HubWeights =
  | { known: true; bytes: number; files: number; format: 'safetensors' | 'pytorch' }
  /** Why the size is not known (the hub unreachable, the repository gated, no weight files listed). */
  | { known: false; reason: string };

/** The weights among a repository's files, or null when it lists none. Pure. */
export function weightsOf(files: readonly HubFile[]): Extract<HubWeights, { known: true }> | null {
  const top = files.filter((f) => !f.path.includes('/'));
  const safetensors = top.filter((f) => f.path.endsWith('.safetensors'));
  const pytorch = top.filter((f) => /\.(bin|pt|pth)$/.test(f.path));
  const [picked, format] = safetensors.length > 0 ? ([safetensors, 'safetensors'] as const) : ([pytorch, 'pytorch'] as const);
  if (picked.length === 0) return null;
  return { known: true, bytes: picked.reduce((sum, f) => sum + f.size, 0), files: picked.length, format };
}

/** Asks the hub for the repository's files and sums its weights; never throws (an unknown size says why). */
export async function hubWeights(hub: Pick<ModelHub, 'listFiles' | 'defaultRevision' | 'label'>, repo: string, revision: string | null): Promise<HubWeights> {
  try {
    const w = weightsOf(await hub.listFiles(repo, revision ?? hub.defaultRevision));
    return w ?? { known: false, reason: `${repo} lists no *.safetensors or *.bin weight files on ${hub.label}` };
  } catch (err) {
    return { known: false, reason: toAimaError(err).message };
  }
}

/**
 * `hubWeights` with a memory per repository and revision: a size found is kept for `knownTtlMs`
 * (starts and restarts do not ask again), an unknown one for `unknownTtlMs` (a crash loop's
 * restarts do not each wait out an unreachable hub, and the hub is asked again soon).
 */
export function cachedHubWeights(
  hub: Pick<ModelHub, 'listFiles' | 'defaultRevision' | 'label'>,
  ttl: { knownTtlMs?: number; unknownTtlMs?: number } = {},
): (repo: string, revision: string | null) => Promise<HubWeights> {
  const cache = new Map<string, { until: number; value: HubWeights }>();
  return async (repo, revision) => {
    const key = `${repo}@${revision ?? ''}`;
    const hit = cache.get(key);
    if (hit && Date.now() < hit.until) return hit.value;
    const value = await hubWeights(hub, repo, revision);
    cache.set(key, { until: Date.now() + (value.known ? (ttl.knownTtlMs ?? 10 * 60_000) : (ttl.unknownTtlMs ?? 60_000)), value });
    return value;
  };
}
