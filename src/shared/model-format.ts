/** How a model is summed up in one line, the same in the CLI and the UI. */
import type { ModelSummary } from './contract/index.js';

export function modelBrief(m: ModelSummary): string {
  const md = m.metadata as Record<string, unknown>;
  switch (m.format) {
    case 'gguf':
      return [md.architecture, md.quantization, md.contextLength ? `ctx ${md.contextLength}` : undefined].filter(Boolean).join(' · ');
    case 'safetensors':
      return [md.modelType, md.torchDtype].filter(Boolean).join(' · ');
    case 'onnx':
      return String(md.variant ?? '');
    case 'sherpa-onnx':
      return String(md.family ?? '');
  }
}
