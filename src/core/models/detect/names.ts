/**
 * Model names: what the user types (or we suggest) as the library handle used by the CLI
 * (`aima run <name>`), the API and the UI. Restricted to a set that is safe everywhere — in URLs,
 * file names and shells — so nothing downstream has to quote or escape it.
 */
import path from 'node:path';
import { ModelImportError } from './errors.js';
import type { DetectedModel } from './types.js';

const ALLOWED = 'letters A–Z a–z, digits 0–9, ".", "_", ":" and "-"';
const NAME_RE = /^[A-Za-z0-9._:-]+$/;
const MAX = 64;

/** Names a character for an error message, escaping invisible ones. */
function showChar(ch: string): string {
  const code = ch.codePointAt(0)!;
  if (code < 0x20 || code === 0x7f) return `control character \\x${code.toString(16).padStart(2, '0')}`;
  if (ch === ' ') return 'a space';
  if (ch === '/' || ch === '\\') return `"${ch}" (a path separator)`;
  if ('$`;&|<>(){}[]*?!~#\'"'.includes(ch)) return `"${ch}" (a shell metacharacter)`;
  return `"${ch}"`;
}

/**
 * Trims `name` and checks it: 1–64 characters of [A-Za-z0-9._:-], not starting with "." or "-".
 * Returns the trimmed name; throws ModelImportError('invalid-name') naming the offending character
 * and the allowed set.
 */
export function validateModelName(name: string): string {
  const trimmed = typeof name === 'string' ? name.trim() : '';
  const fail = (problem: string) =>
    new ModelImportError('invalid-name', problem, `Use 1–${MAX} characters: ${ALLOWED}, not starting with "." or "-".`);
  if (trimmed.length === 0) throw fail('The model name is empty.');
  for (const ch of trimmed) {
    if (!/[A-Za-z0-9._:-]/.test(ch)) throw fail(`The model name ${JSON.stringify(trimmed)} contains ${showChar(ch)}.`);
  }
  if (trimmed.length > MAX) throw fail(`The model name is ${trimmed.length} characters long; the limit is ${MAX}.`);
  if (trimmed.startsWith('.') || trimmed.startsWith('-')) throw fail(`The model name ${JSON.stringify(trimmed)} starts with "${trimmed[0]}".`);
  if (!NAME_RE.test(trimmed)) throw fail(`The model name ${JSON.stringify(trimmed)} is not allowed.`);
  return trimmed;
}

/**
 * A valid default name for a detected model: GGUF `general.name` when present, else the file
 * name without extension (or the folder name), lower-cased, runs of other characters turned into
 * "-", trimmed to 64. Always passes {@link validateModelName}.
 */
export function suggestModelName(detected: Pick<DetectedModel, 'metadata' | 'realPath' | 'isDirectory' | 'kind'>): string {
  const fromMeta = detected.metadata.format === 'gguf' ? detected.metadata.name : undefined;
  const base = path.basename(detected.realPath);
  const fromPath = detected.isDirectory ? base : base.replace(/(-\d{5}-of-\d{5})?\.(gguf|safetensors|onnx)$/i, '');
  for (const candidate of [fromMeta, fromPath]) {
    if (candidate === undefined) continue;
    const cleaned = sanitize(candidate);
    if (cleaned !== '') return cleaned;
  }
  return `${detected.kind}-model`;
}

function sanitize(raw: string): string {
  return raw
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // drop accents left by NFKD: "é" → "e"
    .toLowerCase()
    .replace(/[^a-z0-9._:-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .slice(0, MAX)
    .replace(/^[.-]+/, '')
    .replace(/[-.:]+$/, '');
}
