/** Durations as people write them ("10m", "90s", "1h30m", "0") and as AIMA shows them. */

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/**
 * Seconds from "0", "45", "45s", "10m", "1h30m" or "2d"; null when `text` is none of these
 * (negative numbers, fractions of a second and words included).
 */
export function parseDurationSeconds(text: string): number | null {
  const t = text.trim().toLowerCase();
  if (/^\d+$/.test(t)) return Number(t);
  if (!/^(\d+[smhd])+$/.test(t)) return null;
  let total = 0;
  for (const [, n, unit] of t.matchAll(/(\d+)([smhd])/g)) total += Number(n) * UNITS[unit!]!;
  return total;
}

/** "45s", "10m", "1h 30m", "2d 3h": the two largest units that are not zero. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const parts: string[] = [];
  let rest = s;
  for (const [unit, size] of [['d', 86_400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) parts.push(`${n}${unit}`);
  }
  return parts.slice(0, 2).join(' ');
}
