import { Upcoming } from '../../components/Upcoming.js';

export function ModelsPage() {
  return (
    <Upcoming capability="the Model library">
      Import GGUF, Hugging Face and ONNX models from disk, see what they are (architecture, context, quantization, size) without loading them.
    </Upcoming>
  );
}
