/** Sizes as people read them, the same in the UI, the CLI and the core's messages. */

/** A size in binary units: "0.5 KiB", "6.1 MiB", "1.50 GiB", "2.00 TiB" (negative sizes keep their sign). */
export function formatBytes(bytes: number): string {
  const abs = Math.abs(bytes);
  if (abs >= 1024 ** 4) return `${(bytes / 1024 ** 4).toFixed(2)} TiB`;
  if (abs >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
  if (abs >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024).toFixed(1)} KiB`;
}
