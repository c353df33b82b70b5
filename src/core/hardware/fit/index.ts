/** Fit estimators: will a model run on this machine's GPU, and the voice stack with it. */
export * from './types.js';
export * from './gguf.js';
export * from './gguf-fit.js';
export * from './vllm.js';
export * from './voice-stack.js';
