/**
 * What model detection reports: the shape the model library stores and shows. Pure types, no I/O,
 * so the store, API, CLI and UI can import them without pulling in the readers.
 */

/** On-disk format of a model. `sherpa-onnx` is a folder of ONNX files laid out for sherpa-onnx. */
export type ModelFormat = 'gguf' | 'safetensors' | 'onnx' | 'sherpa-onnx';

/** What a model is for, inferred from its metadata, file layout or names (see `kindReason`). */
export type ModelKind = 'llm' | 'asr' | 'tts' | 'vad' | 'embedding';

/** Result of {@link detectModel}: everything the library needs to know without loading the model. */
export interface DetectedModel {
  format: ModelFormat;
  kind: ModelKind;
  /** One sentence saying which evidence decided `kind` (shown to the user when it looks wrong). */
  kindReason: string;
  /** The input path with every symlink resolved. */
  realPath: string;
  isDirectory: boolean;
  /**
   * Absolute path of the file an engine loads: the .gguf (first shard), the .onnx, the sherpa-onnx
   * main model. Undefined for Hugging Face folders, which are loaded as a whole.
   */
  mainFile: string | undefined;
  /** Sum of the sizes of all files that make up the model (every walked file for a folder). */
  sizeBytes: number;
  /**
   * Files relative to `realPath` for a folder (POSIX separators); for a picked file its base name
   * (all shard names for a split GGUF, which live beside it).
   */
  files: string[];
  /** Files the format needs but that are not there (shards, tokens.txt, ...). Empty when complete. */
  missing: string[];
  /** Non-fatal findings: placeholder (empty) files, skipped folder entries, odd values. */
  warnings: string[];
  metadata: ModelMetadata;
}

/** Per-format details; switch on `format` (same value as {@link DetectedModel.format}). */
export type ModelMetadata = GgufMetadata | HfSafetensorsMetadata | OnnxMetadata | SherpaOnnxMetadata;

/** Bytes and tensor count for one tensor element type (GGML type or safetensors dtype). */
export interface TypeBytes {
  tensors: number;
  elements: number;
  bytes: number;
}

export interface GgufMetadata {
  format: 'gguf';
  /** GGUF container version (2 or 3). */
  version: number;
  architecture: string | undefined;
  /** `general.name`. */
  name: string | undefined;
  /** Sum over all tensors (all shards) of the product of their dimensions. */
  parameterCount: number;
  contextLength: number | undefined;
  embeddingLength: number | undefined;
  /** Attention heads; when the file stores one value per layer this is the largest. */
  headCount: number | undefined;
  headCountKv: number | undefined;
  /** `<arch>.block_count`. */
  layerCount: number | undefined;
  /** `<arch>.attention.key_length` / `value_length`, present when head size ≠ embedding/heads. */
  keyLength: number | undefined;
  valueLength: number | undefined;
  /** Length of `tokenizer.ggml.tokens`, else `<arch>.vocab_size`. */
  vocabSize: number | undefined;
  /** `general.file_type` (llama_ftype) and its name, e.g. 15 / "Q4_K_M". */
  fileType: number | undefined;
  quantization: string | undefined;
  chatTemplate: { present: boolean; length: number };
  /** Byte offset where tensor data starts (first shard). */
  tensorDataOffset: number;
  /** Bytes of tensor data declared by the tensor infos, all shards. */
  tensorDataBytes: number;
  tensorCount: number;
  /** Tensor bytes per GGML type name ("F32", "Q4_K", ...). Input for a memory-fit estimate. */
  bytesByType: Record<string, TypeBytes>;
  /** Split GGUF (`-00001-of-00003.gguf`): shard count and the shard files read. */
  split: { count: number; files: string[] } | undefined;
  /** Scalars and short strings from the metadata; arrays as `{ array, length }` only. */
  keys: Record<string, GgufKeyValue>;
}

/** A GGUF metadata value as kept in {@link GgufMetadata.keys}. */
export type GgufKeyValue =
  | number
  | boolean
  | string
  | { array: string; length: number }
  | { string: 'omitted'; length: number };

export interface SafetensorsShard {
  /** Path relative to the model root. */
  file: string;
  sizeBytes: number;
  headerBytes: number;
  tensorCount: number;
  /** Sum of the tensors' byte ranges as declared by the header. */
  tensorBytes: number;
  bytesByDtype: Record<string, TypeBytes>;
  /** `__metadata__` string map, when present (e.g. `{ format: 'pt' }`). */
  metadata: Record<string, string>;
}

export interface HfSafetensorsMetadata {
  format: 'safetensors';
  /** False when a bare .safetensors file was picked (no config.json). */
  hasConfig: boolean;
  architectures: string[];
  modelType: string | undefined;
  torchDtype: string | undefined;
  hiddenSize: number | undefined;
  numHiddenLayers: number | undefined;
  numAttentionHeads: number | undefined;
  numKeyValueHeads: number | undefined;
  maxPositionEmbeddings: number | undefined;
  vocabSize: number | undefined;
  /** Sum of element counts over all shards (what the tensors hold, not config arithmetic). */
  parameterCount: number;
  shards: SafetensorsShard[];
  tensorCount: number;
  tensorBytes: number;
  bytesByDtype: Record<string, TypeBytes>;
}

export interface OnnxTensorInfo {
  name: string;
  /** ONNX TensorProto.DataType name ("float32", "int64", ...), or "sequence"/"map"/"unknown". */
  elemType: string;
  /** Dimensions: a number, a symbolic name, or null when unknown. */
  shape: Array<number | string | null>;
}

/** Recognised single-file ONNX layouts; `generic` when nothing specific matched. */
export type OnnxVariant = 'whisper-olive-all-in-one' | 'silero-vad' | 'generic';

export interface OnnxMetadata {
  format: 'onnx';
  variant: OnnxVariant;
  irVersion: number | undefined;
  producerName: string | undefined;
  producerVersion: string | undefined;
  /** Operator-set imports: domain ("" = ai.onnx) → version. */
  opsets: Record<string, number>;
  inputs: OnnxTensorInfo[];
  outputs: OnnxTensorInfo[];
  /** Top-level graph nodes counted by `domain::op_type` (op_type alone for the default domain). */
  opCounts: Record<string, number>;
  nodeCount: number;
  initializerCount: number;
  /** `metadata_props` key/values (sherpa-onnx exports put model_type etc. here). */
  metadataProps: Record<string, string>;
}

export type SherpaFamily =
  | 'sense-voice'
  | 'whisper'
  | 'paraformer'
  | 'transducer'
  | 'vits'
  | 'kokoro'
  | 'matcha';

export interface SherpaOnnxMetadata {
  format: 'sherpa-onnx';
  family: SherpaFamily;
  /** Role → file (relative), for each role that was found: model, encoder, tokens, voices, ... */
  found: Record<string, string>;
  /** Roles that the family needs and were not found, with the file name expected. */
  missing: string[];
  /** `metadata_props` of the main model file when it could be read (empty for placeholders). */
  modelMetadataProps: Record<string, string>;
}
