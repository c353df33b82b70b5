/**
 * The Model library's bad-input table as data, made on disk once, so the same rows run through the
 * core API, the CLI and the Models page. Rows with `afterDup` need a model "dup" (the real GGUF,
 * imported by link) to exist first: they are the duplicate-name and imported-twice rows.
 */
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { safetensorsBytes, withHeader } from './model-fixtures.js';

export interface BadModelInput {
  row: string;
  path: string;
  name?: string;
  code: 'not-found' | 'bad-request' | 'conflict';
  /** What the error must say (the problem); the fix is checked by each caller. */
  problem: RegExp;
  afterDup?: boolean;
}

/**
 * Writes the bad inputs in a new folder under `parent` (a retry gets its own) and lists them. The
 * permissions row is not here: root reads every file, so it needs its own unprivileged run
 * (model-library.test.ts).
 */
export function makeBadModelInputs(parent: string, gguf: string, vad: string): BadModelInput[] {
  mkdirSync(parent, { recursive: true });
  const work = mkdtempSync(path.join(parent, 'bad-inputs-'));
  const good = readFileSync(gguf);
  const file = (name: string, bytes: Buffer) => {
    const f = path.join(work, name);
    writeFileSync(f, bytes);
    return f;
  };
  const patched = (name: string, patch: (b: Buffer) => void) => {
    const b = Buffer.from(good);
    patch(b);
    return file(name, b);
  };

  const junk = path.join(work, 'junk-folder');
  mkdirSync(junk, { recursive: true });
  writeFileSync(path.join(junk, 'notes.txt'), 'hello');

  const cut = file('cut.gguf', good);
  truncateSync(cut, 200);

  const badJson = path.join(work, 'hf-bad-json');
  mkdirSync(badJson, { recursive: true });
  writeFileSync(path.join(badJson, 'config.json'), '{"architectures": ["LlamaForCausalLM"],');
  writeFileSync(path.join(badJson, 'model.safetensors'), safetensorsBytes({ w: { dtype: 'F16', shape: [2, 2] } }));

  const lying = path.join(work, 'hf-lying');
  mkdirSync(lying, { recursive: true });
  writeFileSync(path.join(lying, 'config.json'), JSON.stringify({ architectures: ['LlamaForCausalLM'], model_type: 'llama' }));
  const header = Buffer.from(JSON.stringify({ w: { dtype: 'F16', shape: [2, 2], data_offsets: [0, 8] } }));
  writeFileSync(path.join(lying, 'model.safetensors'), withHeader(header, 8, 10 ** 12));

  const loopA = path.join(work, 'loop-a');
  const loopB = path.join(work, 'loop-b');
  symlinkSync(loopB, loopA);
  symlinkSync(loopA, loopB);

  const link = path.join(work, 'link-to.gguf');
  symlinkSync(gguf, link);

  return [
    { row: 'missing path', path: path.join(work, 'nope.gguf'), code: 'not-found', problem: /does not exist/ },
    { row: 'a folder with nothing recognisable', path: junk, code: 'bad-request', problem: /Nothing in .* is a model AIMA knows/ },
    { row: 'GGUF with wrong magic', path: patched('magic.gguf', (b) => b.write('GGUX', 0)), code: 'bad-request', problem: /GGUF/ },
    { row: 'GGUF header cut short', path: cut, code: 'bad-request', problem: /declares \d+ tensors but only|cut short|truncated/i },
    { row: 'GGUF with an absurd tensor count', path: patched('tensors.gguf', (b) => b.writeBigUInt64LE(2n ** 60n, 8)), code: 'bad-request', problem: /tensor/i },
    { row: 'GGUF with an absurd metadata count', path: patched('kv.gguf', (b) => b.writeBigUInt64LE(2n ** 40n, 16)), code: 'bad-request', problem: /metadata|key/i },
    // The first metadata key's string length (offset 24) pointing far past the end of the file.
    { row: 'GGUF with a string length past the end', path: patched('string.gguf', (b) => b.writeBigUInt64LE(BigInt(good.length * 10), 24)), code: 'bad-request', problem: /past the end|string/i },
    { row: 'a config.json that is not JSON', path: badJson, code: 'bad-request', problem: /config\.json/ },
    { row: 'a safetensors header that lies about its length', path: lying, code: 'bad-request', problem: /header/i },
    { row: 'a name with shell metacharacters', path: gguf, name: 'x; rm -rf ~', code: 'bad-request', problem: /shell metacharacter|space/ },
    { row: 'a name with $( )', path: gguf, name: '$(reboot)', code: 'bad-request', problem: /shell metacharacter/ },
    { row: 'a name with a path separator', path: gguf, name: 'a/b', code: 'bad-request', problem: /path separator/ },
    { row: 'a path with ..', path: path.dirname(gguf) + '/../' + path.basename(path.dirname(gguf)) + '/' + path.basename(gguf), code: 'bad-request', problem: /\.\./ },
    { row: 'a symlink loop', path: loopA, code: 'bad-request', problem: /loop/ },
    { row: 'a duplicate name', path: vad, name: 'dup', code: 'conflict', problem: /already exists/, afterDup: true },
    { row: 'the same file imported twice', path: gguf, name: 'dup2', code: 'conflict', problem: /already imported as "dup"/, afterDup: true },
    { row: 'the same file twice, through a symlink', path: link, name: 'dup3', code: 'conflict', problem: /already imported as "dup"/, afterDup: true },
  ];
}
