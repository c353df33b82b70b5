/** The model library as the API shows it: imported models with what detection read from their files. */
import { z } from 'zod';
import { modelKinds } from './enums.js';

export { modelKinds, type ModelKind } from './enums.js';
export const modelFormats = ['gguf', 'safetensors', 'onnx', 'sherpa-onnx'] as const;
export type ModelFormat = (typeof modelFormats)[number];
export const importModes = ['link', 'copy'] as const;
export type ImportMode = (typeof importModes)[number];

export const ModelSummary = z.object({
  id: z.string(),
  /** Unique; the `model` id other tools (gateway, services) use. */
  name: z.string(),
  kind: z.enum(modelKinds),
  /** Why the kind was inferred, or "set by the user". */
  kindReason: z.string(),
  format: z.enum(modelFormats),
  /** What an engine loads: the .gguf/.onnx file, or the folder for Hugging Face and sherpa-onnx models. */
  path: z.string(),
  /** The imported file or folder (for copies: inside the data directory). */
  rootPath: z.string(),
  /** Where the user imported it from. */
  sourcePath: z.string(),
  storage: z.enum(importModes),
  sizeBytes: z.number(),
  createdAt: z.string(),
  missing: z.array(z.string()),
  warnings: z.array(z.string()),
  /** Format-specific details (GGUF architecture, context length, quantization, ...). */
  metadata: z.record(z.string(), z.unknown()),
});
export type ModelSummary = z.infer<typeof ModelSummary>;

export const ModelImportParams = z
  .object({
    path: z.string().min(1),
    name: z.string().optional(),
    kind: z.enum(modelKinds).optional(),
    mode: z.enum(importModes).default('link'),
    /** Chosen by the client so it can cancel (operations.cancel) and match progress events. */
    operationId: z.string().max(100).optional(),
  })
  .strict();

export const ModelRef = z.object({ name: z.string().min(1) }).strict();
export const ModelRenameParams = z.object({ name: z.string().min(1), newName: z.string().min(1) }).strict();
export const ModelRemoveResult = z.object({ name: z.string(), deletedFiles: z.boolean(), path: z.string() });
