#!/usr/bin/env python3
"""Writes a small llama-architecture GGUF with a 32,000-token SentencePiece-style vocabulary and
random weights, for measuring what a sampling grammar costs with a realistic vocabulary size
(llama.cpp checks candidate tokens against the grammar, so stories260K's 512 tokens flatter it).
The model's text is noise; only its speed means anything.

Needs numpy and llama.cpp's gguf-py (in node-llama-cpp's bundled llama.cpp source):
  git clone --depth 1 node_modules/node-llama-cpp/llama/gitRelease.bundle /tmp/llama-src
  PYTHONPATH=/tmp/llama-src/gguf-py python3 bench/make-large-vocab-gguf.py /tmp/random-32k.gguf
"""
import random
import string
import sys

import numpy as np
import gguf

N_VOCAB = 32000
N_EMBD = 128
N_FF = 256
N_LAYER = 2
N_HEAD = 4
CTX = 2048


def vocabulary():
    tokens = [b"<unk>", b"<s>", b"</s>"]
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
    tokens += [f"<0x{b:02X}>".encode() for b in range(256)]
    types += [gguf.TokenType.BYTE] * 256
    seen = set(tokens)
    pieces = list(string.ascii_letters + string.digits + string.punctuation)
    pieces += ["\u2581" + c for c in string.ascii_letters + string.digits + string.punctuation]
    rng = random.Random(1)
    while len(tokens) + len(pieces) < N_VOCAB * 2:
        word = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(2, 8)))
        pieces.append(("\u2581" if rng.random() < 0.6 else "") + word)
    for p in pieces:
        b = p.encode()
        if b in seen:
            continue
        seen.add(b)
        tokens.append(b)
        types.append(gguf.TokenType.NORMAL)
        if len(tokens) == N_VOCAB:
            break
    scores = [0.0] * 3 + [0.0] * 256 + [-float(i) for i in range(N_VOCAB - 259)]
    return tokens, scores, types


def main(path):
    w = gguf.GGUFWriter(path, "llama")
    w.add_name("random-32k")
    w.add_context_length(CTX)
    w.add_embedding_length(N_EMBD)
    w.add_block_count(N_LAYER)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_HEAD)
    w.add_rope_dimension_count(N_EMBD // N_HEAD)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    tokens, scores, types = vocabulary()
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    rng = np.random.default_rng(1)
    t = lambda *shape: (rng.standard_normal(shape) * 0.02).astype(np.float32)
    w.add_tensor("token_embd.weight", t(N_VOCAB, N_EMBD))
    w.add_tensor("output_norm.weight", np.ones(N_EMBD, dtype=np.float32))
    w.add_tensor("output.weight", t(N_VOCAB, N_EMBD))
    for i in range(N_LAYER):
        w.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            w.add_tensor(f"blk.{i}.{name}.weight", t(N_EMBD, N_EMBD))
        w.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
        w.add_tensor(f"blk.{i}.ffn_gate.weight", t(N_FF, N_EMBD))
        w.add_tensor(f"blk.{i}.ffn_up.weight", t(N_FF, N_EMBD))
        w.add_tensor(f"blk.{i}.ffn_down.weight", t(N_EMBD, N_FF))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main(sys.argv[1])
