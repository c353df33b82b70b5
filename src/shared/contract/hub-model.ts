/**
 * A Hugging Face Hub model id and revision, as a service names them for an engine that downloads
 * the model itself (`--hf-model ORG/NAME [--hf-revision REV]`). The id follows the Hub's own rule
 * (huggingface_hub's `validate_repo_id`): `owner/name`, each part 1 to 96 letters, digits, `-`,
 * `_` or `.`, starting and ending with a letter, digit or `_`, no `--` or `..`, not ending in
 * `.git`. The revision is a branch, tag or commit as Git spells one (`main`, `v1.0`, `refs/pr/3`,
 * a commit hash). Both become an engine's arguments, so neither may start with `-`.
 */
import { z } from 'zod';

const HUB_PART = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?$/;

/** Why `id` is not a Hub model id, or null when it is one. */
export function hubModelIdProblem(id: string): string | null {
  const parts = id.split('/');
  if (parts.length !== 2) return 'is "owner/name" on the Hub (one "/"), e.g. "Qwen/Qwen2.5-0.5B-Instruct"';
  for (const [which, part] of [['an owner', parts[0]!], ['a name', parts[1]!]] as const) {
    if (part.length === 0) return `has an empty ${which.split(' ')[1]}`;
    if (part.length > 96) return `has ${which} longer than 96 characters`;
    if (!HUB_PART.test(part)) return `has ${which} that is not letters, digits, "-", "_" and "." starting and ending with a letter, digit or "_"`;
  }
  if (id.includes('--') || id.includes('..')) return 'contains "--" or ".."';
  if (id.endsWith('.git')) return 'ends in ".git"';
  return null;
}

/** Why `rev` is not a branch, tag or commit name, or null when it is one. */
export function hubRevisionProblem(rev: string): string | null {
  if (rev.length === 0 || rev.length > 255) return 'is 1 to 255 characters';
  if (!/^[A-Za-z0-9._/-]+$/.test(rev)) return 'is letters, digits, ".", "_", "-" and "/" (no spaces), e.g. "main", "v1.0", "refs/pr/3" or a commit hash';
  if (rev.startsWith('-') || rev.startsWith('/') || rev.endsWith('/') || rev.endsWith('.lock')) return 'starts with "-" or "/", or ends with "/" or ".lock"';
  if (rev.includes('..') || rev.includes('//')) return 'contains ".." or "//"';
  return null;
}

/** A Hub model id (`owner/name`), checked as the Hub checks one. */
export const HubModelId = z.string().superRefine((id, ctx) => {
  const problem = hubModelIdProblem(id);
  if (problem) ctx.addIssue({ code: 'custom', message: `hfModel "${id}" ${problem}` });
});

/** A branch, tag or commit of a Hub model. */
export const HubRevision = z.string().superRefine((rev, ctx) => {
  const problem = hubRevisionProblem(rev);
  if (problem) ctx.addIssue({ code: 'custom', message: `hfRevision "${rev}" ${problem}` });
});
