/** Who the core is and where it runs. */
import { z } from 'zod';

export const CoreInfo = z.object({
  version: z.string(),
  pid: z.number().int(),
  dataDir: z.string(),
  url: z.string(),
  /** Which process hosts the core: the desktop app or `aima serve`. */
  host: z.enum(['electron', 'serve']),
  startedAt: z.string(),
  schemaVersion: z.number().int(),
});
export type CoreInfo = z.infer<typeof CoreInfo>;
