/**
 * Names what the first bytes of a file look like, so "not a GGUF" errors can say "it is an HTML
 * page" (a failed download) or "a Git LFS pointer" (a clone without LFS) instead of hex alone.
 */

/** Printable rendering of up to 4 bytes, C-style escapes for the rest: 'PK\x03\x04'. */
export function showMagic(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes.subarray(0, 4)) {
    if (b >= 0x20 && b < 0x7f && b !== 0x27 && b !== 0x5c) out += String.fromCharCode(b);
    else out += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return `'${out}'`;
}

/** What kind of file the head bytes suggest, with the fix for that case; undefined if unknown. */
export function guessContent(head: Uint8Array): { what: string; fix: string } | undefined {
  const text = new TextDecoder('latin1').decode(head.subarray(0, 64)).trimStart().toLowerCase();
  if (text.startsWith('version https://git-lfs')) {
    return { what: 'a Git LFS pointer, not the model itself', fix: 'Run `git lfs pull` in the repository, or download the file from the model page.' };
  }
  if (text.startsWith('<!doctype html') || text.startsWith('<html') || text.startsWith('<?xml')) {
    return { what: 'a web page (the download probably returned an error or login page)', fix: 'Download the model again from its page and check that you are logged in if it is gated.' };
  }
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) {
    return { what: 'a ZIP archive', fix: 'Extract it first and pick the model file inside.' };
  }
  if (head[0] === 0x1f && head[1] === 0x8b) {
    return { what: 'a gzip archive', fix: 'Extract it first (tar -xzf) and pick the model file inside.' };
  }
  if (head[0] === 0xfd && text.startsWith('\u00fd7zxz')) {
    return { what: 'an xz archive', fix: 'Extract it first and pick the model file inside.' };
  }
  if (head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68) {
    return { what: 'a bzip2 archive', fix: 'Extract it first (tar -xjf) and pick the model folder inside.' };
  }
  if (text.startsWith('{') || text.startsWith('[')) {
    return { what: 'a JSON file', fix: 'Pick the model file or its whole folder, not a configuration file.' };
  }
  return undefined;
}
