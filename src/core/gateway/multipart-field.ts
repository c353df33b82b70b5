/**
 * Reads one small text field (the `model` of an audio upload) from a multipart/form-data body
 * without parsing the whole form: the gateway only routes, and the worker behind it parses the
 * upload anyway. Parsing a form into a FormData copies every file part (an upload may be 200 MB);
 * the scanner here walks the part headers and jumps over part bodies, chunk by chunk, so the
 * gateway learns the model while the upload streams in.
 */

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

/** The boundary parameter of a multipart Content-Type (quoted or not), or null. */
export function multipartBoundary(contentType: string): string | null {
  const m = /;\s*boundary=(?:"([^"]+)"|([^\s;]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2]!) : null;
}

/** What a scan found: the field's value, a form closed without it, or a body it cannot follow. */
export type FieldScan = { kind: 'value'; value: string } | { kind: 'absent' } | { kind: 'invalid'; reason: string };

/**
 * Finds one text field in a multipart body fed chunk by chunk, holding only what it must: the tail
 * of the current chunk that could start a delimiter, part headers, and the field's value. Part
 * bodies are skipped with Buffer.indexOf (native), so a 200 MB file part costs no copy.
 */
export class MultipartFieldScanner {
  private readonly delimiter: Buffer;
  /** Bytes not yet consumed; starts with CRLF so the first delimiter matches like the others. */
  private pending: Buffer = CRLF;
  private state: 'body' | 'after-delimiter' | 'headers' = 'body';
  private capturing = false;
  private captured: Buffer[] = [];
  private capturedBytes = 0;
  private found: FieldScan | null = null;

  constructor(
    boundary: string,
    private readonly name: string,
    private readonly maxValueBytes = 4096,
    private readonly maxHeaderBytes = 16 * 1024,
  ) {
    this.delimiter = Buffer.from(`\r\n--${boundary}`);
  }

  /** Feeds the next chunk; returns the outcome once known, null while it needs more. */
  push(chunk: Buffer): FieldScan | null {
    if (this.found) return this.found;
    this.pending = this.join(chunk);
    for (;;) {
      if (this.state === 'body') {
        const at = this.pending.indexOf(this.delimiter);
        // Keep what could be the start of a delimiter split across chunks.
        const upTo = at === -1 ? Math.max(0, this.pending.length - this.delimiter.length + 1) : at;
        if (this.capturing && !this.keep(this.pending.subarray(0, upTo))) return this.found;
        if (at === -1) {
          this.pending = Buffer.from(this.pending.subarray(upTo));
          return null;
        }
        if (this.capturing) return (this.found = { kind: 'value', value: Buffer.concat(this.captured).toString('utf8') });
        this.pending = this.pending.subarray(at + this.delimiter.length);
        this.state = 'after-delimiter';
      } else if (this.state === 'after-delimiter') {
        if (this.pending.length < 2) return null;
        // "--" after a delimiter closes the form.
        if (this.pending[0] === 0x2d && this.pending[1] === 0x2d) return (this.found = { kind: 'absent' });
        if (this.pending[0] !== 0x0d || this.pending[1] !== 0x0a) return (this.found = { kind: 'invalid', reason: 'a boundary is not followed by a line break' });
        this.pending = this.pending.subarray(2);
        this.state = 'headers';
      } else {
        // A part without headers starts with the empty line at once.
        const end = this.pending[0] === 0x0d && this.pending[1] === 0x0a ? -2 : this.pending.indexOf(HEADER_END);
        if (end === -1) {
          if (this.pending.length > this.maxHeaderBytes) return (this.found = { kind: 'invalid', reason: `part headers longer than ${this.maxHeaderBytes} bytes` });
          return null;
        }
        const headers = end === -2 ? '' : this.pending.toString('latin1', 0, end);
        this.pending = this.pending.subarray(end + HEADER_END.length);
        this.state = 'body';
        if (partName(headers) === this.name) {
          if (/;\s*filename\*?=/i.test(dispositionOf(headers) ?? '')) return (this.found = { kind: 'invalid', reason: `the "${this.name}" part is a file, not a text field` });
          this.capturing = true;
        }
      }
    }
  }

  /**
   * The bytes to scan next. Inside a part body the kept tail only matters for a delimiter split
   * across chunks: that is checked on a few bytes, and the chunk itself is then scanned in place.
   * Copying every chunk onto the tail would copy the whole upload once more.
   */
  private join(chunk: Buffer): Buffer {
    if (this.pending.length === 0) return chunk;
    if (this.state === 'body' && !this.capturing && this.pending.length < this.delimiter.length && chunk.length >= this.delimiter.length) {
      const straddle = Buffer.concat([this.pending, chunk.subarray(0, this.delimiter.length - 1)]);
      if (straddle.indexOf(this.delimiter) === -1) return chunk;
    }
    return Buffer.concat([this.pending, chunk]);
  }

  /** The outcome at the end of the body. */
  end(): FieldScan {
    return this.found ?? { kind: 'invalid', reason: 'the body ended before the form was closed' };
  }

  private keep(bytes: Buffer): boolean {
    this.capturedBytes += bytes.length;
    if (this.capturedBytes > this.maxValueBytes) {
      this.found = { kind: 'invalid', reason: `the "${this.name}" field is longer than ${this.maxValueBytes} bytes` };
      return false;
    }
    if (bytes.length) this.captured.push(Buffer.from(bytes));
    return true;
  }
}

/**
 * The value of the text field `name`, null when the form has no such field, undefined when the body
 * is not a multipart body this reader understands.
 */
export function readMultipartField(body: Buffer, contentType: string, name: string): string | null | undefined {
  const boundary = multipartBoundary(contentType);
  if (!boundary) return undefined;
  const scanner = new MultipartFieldScanner(boundary, name, Infinity, Infinity);
  const r = scanner.push(body) ?? scanner.end();
  return r.kind === 'value' ? r.value : r.kind === 'absent' ? null : undefined;
}

function dispositionOf(headers: string): string | null {
  for (const line of headers.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === 'content-disposition') return line.slice(colon + 1);
  }
  return null;
}

function partName(headers: string): string | null {
  const d = dispositionOf(headers);
  if (!d) return null;
  const m = /;\s*name=(?:"((?:[^"\\]|\\.)*)"|([^\s;]+))/i.exec(d);
  return m ? (m[1]?.replace(/\\(.)/g, '$1') ?? m[2]!) : null;
}
