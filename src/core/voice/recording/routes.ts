/**
 * HTTP routes for recorded voice turns, mounted under /api/ after the host's Host, Origin and
 * token checks (the same auth as every /api call: the login cookie, the install token or an API
 * key), so an <audio> element or a download link on the Voice page can use them directly:
 *   GET /api/voice/recordings/<conversation>/<turn>-(user|reply).flac  one recording (Range supported)
 *   GET /api/voice/export/<conversation>.zip                             the conversation's export
 */
import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Route } from '../../server/http-server.js';
import { zipStore } from '../../../lib/zip-store.js';
import { sendJson } from '../../../lib/http.js';
import { AimaError, httpStatusOf } from '../../../shared/errors.js';
import type { VoiceConversationDetail } from '../../../shared/contract/voice.js';
import { conversationExportFiles } from './export.js';
import type { RecordingStore } from './store.js';

/** An error answer in the shape of every /api error. */
function fail(res: ServerResponse, err: AimaError): void {
  sendJson(res, httpStatusOf[err.code], { error: err.toBody() }, { 'cache-control': 'no-store' });
}

function decode(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/** Parses a single `bytes=a-b` range against a size; null: no (usable) range, serve it all. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(size - 1, Number(m[2]));
  }
  if (start > end || start >= size) return 'unsatisfiable';
  return { start, end };
}

function serveFile(req: IncomingMessage, res: ServerResponse, file: string, size: number): void {
  const headers = { 'content-type': 'audio/flac', 'accept-ranges': 'bytes', 'cache-control': 'private, max-age=3600', 'x-content-type-options': 'nosniff' };
  const range = parseRange(req.headers.range, size);
  if (range === 'unsatisfiable') {
    res.writeHead(416, { ...headers, 'content-range': `bytes */${size}` });
    return void res.end();
  }
  const { start, end } = range ?? { start: 0, end: size - 1 };
  res.writeHead(range ? 206 : 200, { ...headers, 'content-length': String(end - start + 1), ...(range ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}) });
  if (req.method === 'HEAD' || size === 0) return void res.end();
  createReadStream(file, { start, end })
    .on('error', () => res.destroy())
    .pipe(res);
}

export function recordingRoutes(deps: { store: RecordingStore; conversation: (id: string) => VoiceConversationDetail | null }): Route[] {
  const recording: Route = (req, res, path) => {
    const m = /^\/api\/voice\/recordings\/([^/]+)\/([^/]+)$/.exec(path);
    if (!m && !path.startsWith('/api/voice/recordings/')) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      fail(res, new AimaError('method-not-allowed', `${req.method} is not allowed on recordings.`));
      return true;
    }
    const conv = m ? decode(m[1]!) : null;
    const name = m ? decode(m[2]!) : null;
    const file = conv !== null && name !== null ? deps.store.resolve(conv, name) : null;
    if (!file) {
      fail(res, new AimaError('bad-request', 'Not a recording path: use /api/voice/recordings/<conversation id>/<turn id>-user.flac (or -reply.flac).'));
      return true;
    }
    const size = deps.store.size(file);
    if (size === null) {
      fail(res, new AimaError('not-found', `No recording ${name} in conversation ${conv}: recording was off, the size cap removed it, or the conversation was deleted.`));
      return true;
    }
    serveFile(req, res, file, size);
    return true;
  };

  const zip: Route = (req, res, path) => {
    const m = /^\/api\/voice\/export\/([^/]+)\.zip$/.exec(path);
    if (!m) return false;
    if (req.method !== 'GET') {
      res.setHeader('allow', 'GET');
      fail(res, new AimaError('method-not-allowed', `${req.method} is not allowed on an export.`));
      return true;
    }
    const id = decode(m[1]!);
    const c = id !== null && /^[A-Za-z0-9-]{1,64}$/.test(id) ? deps.conversation(id) : null;
    if (!c) {
      fail(res, new AimaError('not-found', `No voice conversation with id ${JSON.stringify(id ?? m[1])}.`));
      return true;
    }
    const body = zipStore(conversationExportFiles(c, deps.store).map((f) => ({ name: `voice-${c.id}/${f.name}`, data: f.data })));
    res.writeHead(200, {
      'content-type': 'application/zip',
      'content-length': String(body.length),
      'content-disposition': `attachment; filename="voice-${c.id}.zip"`,
      'cache-control': 'no-store',
    });
    res.end(body);
    return true;
  };

  return [recording, zip];
}
