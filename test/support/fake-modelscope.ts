/**
 * A local stand-in for ModelScope's hub API, in the response shapes the `modelscope` SDK reads
 * (modelscope/hub/api.py, file_download.py, errors.py) and a recorded listing of a real repository
 * shows (docs/downloads.md names the sources):
 *
 * - `PUT /api/v1/dolphin/models` (search): `{Code, Data: {Model: {Models, TotalCount}}, Message,
 *   RequestId, Success}`, each model with Path (owner), Name, Downloads, Stars, LastUpdatedTime,
 *   Libraries, Tasks; a `libraries contains` criterion filters;
 * - `GET /api/v1/models/{owner}/{name}/repo/files?Revision=master&Recursive=True`: `Data.Files[]`
 *   with Name, Path, Type (blob|tree), Size, Sha256, IsLFS, Revision, Mode, Commit*; a
 *   `.gitattributes` as real repositories have; an unknown repository or revision is HTTP 404 with
 *   an envelope whose Success is false;
 * - `GET /api/v1/models/{owner}/{name}/repo?Revision=…&FilePath=…`: LFS files 302 to a CDN path
 *   on the same server (`/cdn-lfs/…?auth_key=…`), small files served directly; Range honoured.
 *   HEAD is refused (405): the SDK never sends one, so AIMA must not depend on it.
 *
 * Faults and the request log are FakeHub's (fake-hub.ts).
 */
import { createHash } from 'node:crypto';
import type http from 'node:http';
import { FakeHub } from './fake-hub.js';

const ok = (data: unknown) => ({ Code: 200, Data: data, Message: 'success', RequestId: createHash('md5').update(String(Math.random())).digest('hex'), Success: true });
const failed = (code: number, message: string) => ({ Code: code, Message: message, RequestId: 'fake', Success: false });

export class FakeModelScope extends FakeHub {
  /** Bodies of the search requests, in order. */
  readonly searches: unknown[] = [];

  /** Range starts (bytes) of the body requests for one file, in order. */
  override rangeStarts(filePath: string): number[] {
    return this.log
      .filter((l) => l.method === 'GET' && (l.path.startsWith('/cdn-lfs/') ? decodeURIComponent(l.path).endsWith(filePath) : l.path.includes(`FilePath=${filePath}`)))
      .filter((l) => l.status === 200 || l.status === 206)
      .map((l) => (l.range ? Number(/bytes=(\d+)-/.exec(l.range)![1]) : 0));
  }

  protected override handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const u = new URL(req.url ?? '/', 'http://x');
    const entry = { method: req.method ?? 'GET', path: u.pathname + (u.pathname.endsWith('/repo') ? `?FilePath=${u.searchParams.get('FilePath')}` : ''), status: 0, sent: 0, ...(req.headers.range ? { range: req.headers.range } : {}) };
    this.log.push(entry);
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      entry.status = status;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    let m: RegExpExecArray | null;
    if (u.pathname === '/api/v1/dolphin/models') {
      if (req.method !== 'PUT') return reply(405, failed(405, 'method not allowed'));
      let raw = '';
      req.on('data', (d) => (raw += d));
      req.on('end', () => {
        const body = JSON.parse(raw || '{}') as { Name?: string; PageSize?: number; Criterion?: Array<{ category: string; values: string[] }> };
        this.searches.push(body);
        const q = (body.Name ?? '').toLowerCase();
        const libs = (body.Criterion ?? []).filter((c) => c.category === 'libraries').flatMap((c) => c.values);
        const models = [...this.repos.entries()]
          .filter(([id]) => id.toLowerCase().includes(q))
          .map(([id, files]) => {
            const gguf = [...files.keys()].some((p) => p.endsWith('.gguf'));
            return { id, libraries: gguf ? ['gguf'] : ['pytorch'] };
          })
          .filter((r) => libs.every((l) => r.libraries.includes(l)))
          .slice(0, body.PageSize ?? 10)
          .map((r) => {
            const [owner, name] = r.id.split('/');
            return { Path: owner, Name: name, ChineseName: '', Downloads: 42, Stars: 7, LastUpdatedTime: 1767225600, Libraries: r.libraries, Tasks: [{ Name: 'text-generation', ChineseName: '文本生成' }], Organization: { Name: owner } };
          });
        reply(200, ok({ Model: { Models: models, TotalCount: models.length } }));
      });
      return;
    }
    if ((m = /^\/api\/v1\/models\/([^/]+\/[^/]+)\/repo\/files$/.exec(u.pathname))) {
      const repo = this.repos.get(m[1]!);
      if (!repo || u.searchParams.get('Revision') !== 'master') return reply(404, failed(10010205001, `model ${m[1]} not exists`));
      const files: unknown[] = [{ CommitMessage: 'init', CommittedDate: 1767225600, CommitterName: 'fake', InCheck: false, IsLFS: false, Mode: '33188', Name: '.gitattributes', Path: '.gitattributes', Revision: 'c'.repeat(40), Sha256: createHash('sha256').update('*.gguf filter=lfs\n').digest('hex'), Size: 18, Type: 'blob' }];
      const dirs = new Set<string>();
      for (const e of repo.values()) {
        const parts = e.file.path.split('/');
        for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
        files.push({ CommitMessage: 'upload', CommittedDate: 1767225600, CommitterName: 'fake', InCheck: false, IsLFS: e.file.lfs, Mode: '33188', Name: parts.at(-1), Path: e.file.path, Revision: 'c'.repeat(40), Sha256: e.sha256, Size: e.size, Type: 'blob' });
      }
      for (const d of dirs) files.push({ IsLFS: false, Mode: '16384', Name: d.split('/').at(-1), Path: d, Revision: '', Sha256: '', Size: 0, Type: 'tree' });
      return reply(200, ok({ Files: files }));
    }
    if ((m = /^\/api\/v1\/models\/([^/]+\/[^/]+)\/repo$/.exec(u.pathname))) {
      if (req.method !== 'GET') return reply(405, failed(405, 'method not allowed'));
      const e = this.repos.get(m[1]!)?.get(u.searchParams.get('FilePath') ?? '');
      if (!e || u.searchParams.get('Revision') !== 'master') return reply(404, failed(10010205001, 'file not exists'));
      if (e.file.lfs) {
        entry.status = 302;
        res.writeHead(302, { location: `/cdn-lfs/${m[1]}/${e.sha256}/${encodeURIComponent(e.file.path)}?auth_key=${Date.now()}-fake` });
        return void res.end();
      }
      return this.serveBody(req, res, e, entry, `"${e.sha256}"`, {});
    }
    if ((m = /^\/cdn-lfs\/([^/]+\/[^/]+)\/([0-9a-f]+)\/(.+)$/.exec(u.pathname))) {
      const e = this.repos.get(m[1]!)?.get(decodeURIComponent(m[3]!));
      if (!e || e.sha256 !== m[2] || !u.searchParams.get('auth_key')) return reply(403, { error: 'forbidden' });
      return this.serveBody(req, res, e, entry, `"${e.sha256}"`, {});
    }
    reply(404, failed(404, 'not found'));
  }
}
