/** The size cap of recorded voice turns: which turns' audio goes, oldest first. */
import type { RecordedTurn } from '../../store/repositories/voice-repo.js';

/**
 * The oldest recorded turns to remove so that what stays fits in `capBytes`. `turns` is oldest
 * first; `keep` (the turn just recorded) is never chosen, even when it alone is over the cap.
 */
export function recordingsOverCap(turns: readonly RecordedTurn[], capBytes: number, keep: string | null = null): RecordedTurn[] {
  let total = turns.reduce((a, t) => a + t.bytes, 0);
  const out: RecordedTurn[] = [];
  for (const t of turns) {
    if (total <= capBytes) break;
    if (t.turnId === keep) continue;
    out.push(t);
    total -= t.bytes;
  }
  return out;
}
