/**
 * Reads one small text field (the `model` of an audio upload) from a multipart/form-data body
 * without parsing the whole form: the gateway only routes, and the worker behind it parses the
 * upload anyway. Parsing a form into a FormData copies every file part (an upload may be 200 MB);
 * this walks the part headers and jumps over part bodies with Buffer.indexOf (native).
 *
 * Returns undefined when the body cannot be read this way (no boundary, a malformed part): the
 * caller then parses the form fully and reports what is wrong with it.
 */

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

/** The boundary parameter of a multipart Content-Type (quoted or not), or null. */
export function multipartBoundary(contentType: string): string | null {
  const m = /;\s*boundary=(?:"([^"]+)"|([^\s;]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2]!) : null;
}

/**
 * The value of the text field `name`, null when the form has no such field, undefined when the body
 * is not a multipart body this reader understands.
 */
export function readMultipartField(body: Buffer, contentType: string, name: string): string | null | undefined {
  const boundary = multipartBoundary(contentType);
  if (!boundary) return undefined;
  const delimiter = Buffer.from(`--${boundary}`);
  const nextDelimiter = Buffer.from(`\r\n--${boundary}`);
  let at = body.indexOf(delimiter);
  if (at === -1) return undefined;
  for (;;) {
    at += delimiter.length;
    // "--" after a delimiter closes the form.
    if (body[at] === 0x2d && body[at + 1] === 0x2d) return null;
    if (body.indexOf(CRLF, at) !== at) return undefined;
    const headersStart = at + CRLF.length;
    const headersEnd = body.indexOf(HEADER_END, headersStart - CRLF.length);
    if (headersEnd === -1) return undefined;
    const headers = body.toString('latin1', headersStart, headersEnd);
    const next = body.indexOf(nextDelimiter, headersEnd + HEADER_END.length);
    if (next === -1) return undefined;
    if (partName(headers) === name) {
      // A file part of that name is not a text field.
      if (/;\s*filename\*?=/i.test(dispositionOf(headers) ?? '')) return undefined;
      return body.toString('utf8', headersEnd + HEADER_END.length, next);
    }
    at = next + CRLF.length;
  }
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
