/**
 * GGUF file names → quantizations: `Qwen2.5-7B-Instruct-Q4_K_M.gguf` is Q4_K_M, and the shards of
 * `…-Q8_0-00001-of-00003.gguf` form one variant. Pure functions, used by `hub.files`, the UI and
 * `aima model pull REPO:Q4_K_M`.
 */
import type { FitHint, HubFile, QuantGroup } from '../../shared/contract/index.js';

const SHARD = /-(\d{5})-of-(\d{5})\.gguf$/i;
// Longest forms first so "Q4_K_M" wins over "Q4_K"; IQ and TQ families, float types, MXFP4.
const QUANT = /(?:^|[-_.\s])((?:IQ|Q)[1-8](?:_[0-9])?(?:_K)?(?:_(?:XXS|XS|S|M|L|XL|NL))?|TQ[12]_0|MXFP4(?:_MOE)?|BF16|F16|FP16|F32|FP32)(?=[-_.\s]|$)/i;
const COMPANION = /(?:^|[-_.])mmproj(?:[-_.]|$)/i;

/** The quantization named in a GGUF file name, upper-cased, or 'unknown'. */
export function quantOf(fileName: string): string {
  const base = fileName.split('/').pop()!.replace(SHARD, '.gguf').replace(/\.gguf$/i, '');
  // Scan right to left: the quantization is the last tag (`model-f16-Q4_K_M` is Q4_K_M).
  let found = 'unknown';
  let rest = base;
  for (;;) {
    const m = QUANT.exec(rest);
    if (!m) break;
    found = m[1]!.toUpperCase();
    rest = rest.slice(m.index + m[0].length);
  }
  return found;
}

/** `{ series, index, count }` for a split GGUF shard, else null. */
export function shardOf(filePath: string): { series: string; index: number; count: number } | null {
  const m = SHARD.exec(filePath);
  if (!m) return null;
  return { series: filePath.slice(0, m.index), index: Number(m[1]), count: Number(m[2]) };
}

/**
 * Groups a repository's GGUF files into downloadable variants (one quantization, all shards),
 * smallest first; `fit` adds a verdict per variant when the core has an estimator.
 */
export function groupGgufFiles(files: HubFile[], fit?: (sizeBytes: number) => FitHint): QuantGroup[] {
  const groups = new Map<string, QuantGroup>();
  for (const f of files) {
    if (!/\.gguf$/i.test(f.path)) continue;
    const shard = shardOf(f.path);
    const key = shard ? `${shard.series}#${shard.count}` : f.path;
    let g = groups.get(key);
    if (!g) {
      const label = shard ? `${shard.series.split('/').pop()} (${shard.count} parts)` : f.path.split('/').pop()!;
      g = { quant: quantOf(f.path), label, files: [], sizeBytes: 0, companion: COMPANION.test(f.path.split('/').pop()!) };
      groups.set(key, g);
    }
    g.files.push(f.path);
    g.sizeBytes += f.size;
  }
  const out = [...groups.values()];
  for (const g of out) {
    g.files.sort();
    if (fit && !g.companion) g.fit = fit(g.sizeBytes);
  }
  return out.sort((a, b) => Number(a.companion) - Number(b.companion) || a.sizeBytes - b.sizeBytes);
}

/** A glob over repo paths: `*` within a path part, `**` across parts, `?` one character. Case-insensitive. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  // A pattern without a slash matches the file name anywhere (as huggingface-cli's --include does for "*.gguf").
  return new RegExp(glob.includes('/') ? `^${re}$` : `(?:^|/)${re}$`, 'i');
}
