/**
 * AIMA's Hugging Face token: HF_TOKEN when set, else the one stored with `aima model hf-token set`
 * (the secret store). Downloads send it to the Hub; engines that download a Hub id themselves get it
 * in their environment.
 */
import type { Env } from '../config/env.js';
import type { SecretStore } from '../secrets/secret-store.js';

/** The secret store's key of the token. */
export const HF_TOKEN_KEY = 'huggingface-token';

/** The token, or null when none is set (an empty HF_TOKEN counts as none). */
export function huggingFaceToken(env: Pick<Env, 'HF_TOKEN'>, store: SecretStore | undefined): string | null {
  return env.HF_TOKEN || store?.get(HF_TOKEN_KEY) || null;
}
