/** Long operations (copies, downloads, waits): progress events and cancellation, the same for every kind. */
import { z } from 'zod';

export const OperationProgress = z.object({
  id: z.string(),
  /** What is happening, for a progress line ("Copying model files"). */
  label: z.string(),
  phase: z.enum(['running', 'done', 'failed', 'cancelled']),
  done: z.number(),
  /** null when the total is unknown. */
  total: z.number().nullable(),
  unit: z.enum(['bytes', 'items', 'percent']),
  message: z.string().optional(),
});
export type OperationProgress = z.infer<typeof OperationProgress>;

export const OperationCancelParams = z.object({ id: z.string() }).strict();
export const OperationCancelResult = z.object({ cancelled: z.boolean() });
