/**
 * `aima model pull [--source huggingface|modelscope] REPO[:FILE]`: download from the Hugging Face
 * Hub (HF_ENDPOINT) or ModelScope (MODELSCOPE_ENDPOINT) through the core's download manager, with
 * a progress bar on stderr. Without --source the `downloadSource` setting decides. Ctrl+C pauses
 * (partial files are kept); the same command resumes where it stopped. Also `aima model hf-token`
 * for gated Hugging Face repositories.
 */
import type { Command } from 'commander';
import { hubSources } from '../../../shared/contract/enums.js';
import type { DownloadSummary, HubSource } from '../../../shared/contract/index.js';
import { AimaError } from '../../../shared/errors.js';
import { action, cliContext, connect, output } from '../../context.js';
import { size } from './format.js';

/** `--source` checked against the list: an unknown name is refused before anything is asked of the core. */
export function parseSource(value: string | undefined): HubSource | undefined {
  if (value === undefined) return undefined;
  if (!(hubSources as readonly string[]).includes(value)) throw new AimaError('bad-request', `Unknown source "${value}".`, `Sources are: ${hubSources.join(', ')} (without --source: the downloadSource setting).`);
  return value as HubSource;
}

/** `owner/name[:file]` → parts (a file may contain ':' only after the first one). */
export function parsePullSpec(spec: string, source?: HubSource): { repo: string; file?: string } {
  const i = spec.indexOf(':');
  const repo = i < 0 ? spec : spec.slice(0, i);
  const file = i < 0 ? undefined : spec.slice(i + 1);
  if (!/^[\w.-]+\/[\w.-]+$/.test(repo)) {
    if (source === 'modelscope') throw new AimaError('bad-request', `"${repo}" is not a ModelScope repository id.`, 'Use owner/name as on modelscope.cn, e.g. `aima model pull --source modelscope Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M`.');
    throw new AimaError('bad-request', `"${repo}" is not a Hugging Face repository id.`, 'Use owner/name, e.g. `aima model pull bartowski/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M`.');
  }
  if (file === '') throw new AimaError('bad-request', `Nothing after ":" in "${spec}".`, 'Give a file path or a quantization (Q4_K_M), or leave out the colon.');
  return file ? { repo, file } : { repo };
}

function rate(bps: number): string {
  return bps > 0 ? `${size(bps)}/s` : '';
}

function eta(s: number | null): string {
  if (s === null) return '';
  if (s < 60) return `ETA ${s}s`;
  if (s < 3600) return `ETA ${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `ETA ${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** One progress line for a download (used for the bar and by tests). */
export function formatDownload(d: DownloadSummary): string {
  const frac = d.bytesTotal > 0 ? Math.min(1, d.bytesDone / d.bytesTotal) : 0;
  const width = 24;
  const filled = Math.round(frac * width);
  const parts = [`${d.repo} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0)}%`, `${size(d.bytesDone)}/${size(d.bytesTotal)}`, rate(d.speedBps), eta(d.etaSeconds)];
  if (d.state !== 'downloading') parts.push(d.state);
  if (d.retries > 0) parts.push(`(${d.retries} retries)`);
  return parts.filter(Boolean).join(' ');
}

export function registerPull(model: Command): void {
  model
    .command('pull <repo[:file]>')
    .description('Download a model from the Hugging Face Hub (HF_ENDPOINT) or ModelScope (MODELSCOPE_ENDPOINT) and import it; Ctrl+C pauses, the same command resumes')
    .option('--source <source>', `where from: ${hubSources.join(' | ')} (default: the downloadSource setting, huggingface unless changed)`)
    .option('--include <pattern>', 'download the files matching a glob (e.g. "*Q4_K_M*.gguf", "**/*.onnx")')
    .option('--revision <rev>', 'branch, tag or commit (default: main on Hugging Face, master on ModelScope)')
    .option('--name <name>', 'library name (default: from the model)')
    .option('--json', 'print the finished download as JSON')
    .action(
      action(async (spec: string, opts: { source?: string; include?: string; revision?: string; name?: string; json?: boolean }) => {
        const source = parseSource(opts.source);
        const { repo, file } = parsePullSpec(spec, source);
        if (file && opts.include) throw new AimaError('bad-request', 'Give either REPO:FILE or --include, not both.');
        const conn = await connect(cliContext());
        const tty = process.stderr.isTTY;
        let id: string | null = null;
        let lastPrint = 0;
        let settle: ((d: DownloadSummary) => void) | null = null;
        const finished = new Promise<DownloadSummary>((r) => (settle = r));
        const terminal = (d: DownloadSummary) => d.state === 'completed' || d.state === 'failed' || d.state === 'paused' || d.state === 'cancelled';
        const show = (d: DownloadSummary) => {
          const line = formatDownload(d);
          if (tty) process.stderr.write(`\r\x1b[2K${line}`);
          else if (Date.now() - lastPrint > 1000 || terminal(d)) {
            process.stderr.write(line + '\n');
            lastPrint = Date.now();
          }
          if (terminal(d)) settle?.(d);
        };
        const off = conn.transport.on('download.progress', (d) => {
          if (d.id === id) show(d);
        });
        let pausing = false;
        const onSigint = () => {
          if (!id || pausing) return;
          pausing = true;
          process.stderr.write('\nPausing… (partial files are kept)\n');
          void conn.api['downloads.pause']({ id }).then(show, () => undefined);
        };
        process.on('SIGINT', onSigint);
        // Events can be missed while the socket reconnects: look every few seconds too.
        const poll = setInterval(() => {
          if (!id) return;
          void conn.api['downloads.list']({}).then((all) => {
            const d = all.find((x) => x.id === id);
            if (d && terminal(d)) show(d);
          }, () => undefined);
        }, 3000);
        try {
          const started = await conn.api['downloads.start']({ repo, ...(source ? { source } : {}), ...(opts.revision ? { revision: opts.revision } : {}), ...(file ? { files: [file] } : {}), ...(opts.include ? { include: opts.include } : {}), ...(opts.name ? { name: opts.name } : {}) });
          id = started.id;
          const n = started.files.length;
          process.stderr.write(
            `${started.bytesDone > 0 ? 'Resuming' : 'Downloading'} ${n} file${n === 1 ? '' : 's'} (${size(started.bytesTotal)}) from ${repo}${started.source === 'modelscope' ? ' on ModelScope' : ''}${started.bytesDone > 0 ? ` at ${size(started.bytesDone)}` : ''}. Ctrl+C pauses.\n`,
          );
          show(started);
          const d = await finished;
          if (tty) process.stderr.write('\n');
          switch (d.state) {
            case 'completed':
              output(opts.json, d, (x) => `Downloaded and imported "${x.modelName}" (${size(x.bytesTotal)}, verified).`);
              return;
            case 'paused':
              process.stderr.write(`Paused at ${size(d.bytesDone)} of ${size(d.bytesTotal)}. Run the same command to resume.\n`);
              process.exitCode = 130;
              return;
            case 'failed':
              throw new AimaError('unavailable', `Download of ${repo} failed: ${d.error ?? 'unknown error'}`, 'Run the same command to resume.');
            default:
              throw new AimaError('cancelled', `Download of ${repo} was cancelled.`);
          }
        } finally {
          clearInterval(poll);
          process.off('SIGINT', onSigint);
          off();
          conn.close();
        }
      }),
    );

  const token = model.command('hf-token').description('The Hugging Face token for gated repositories (kept in the OS keychain when there is one)');
  token
    .command('set')
    .description('Store a token read from stdin (not from the command line, which other users can see)')
    .action(
      action(async () => {
        const chunks: Buffer[] = [];
        if (process.stdin.isTTY) process.stderr.write('Paste the token and press Enter, then Ctrl+D: ');
        for await (const c of process.stdin) chunks.push(c as Buffer);
        const value = Buffer.concat(chunks).toString('utf8').trim();
        if (!value) throw new AimaError('bad-request', 'No token on stdin.', 'Pipe it in: `printf %s "$TOKEN" | aima model hf-token set`.');
        const conn = await connect(cliContext());
        try {
          const s = await conn.api['hub.setToken']({ token: value });
          process.stdout.write(`Token stored (${s.store}).\n`);
          if (s.warning) process.stderr.write(`warning: ${s.warning}\n`);
        } finally {
          conn.close();
        }
      }),
    );
  token
    .command('clear')
    .description('Forget the stored token')
    .action(
      action(async () => {
        const conn = await connect(cliContext());
        try {
          await conn.api['hub.setToken']({ token: null });
          process.stdout.write('Token forgotten.\n');
        } finally {
          conn.close();
        }
      }),
    );
  token
    .command('status')
    .description('Whether a token is set, and where it is kept')
    .option('--json', 'print JSON')
    .action(
      action(async (opts: { json?: boolean }) => {
        const conn = await connect(cliContext());
        try {
          output(opts.json, await conn.api['hub.tokenStatus']({}), (s) => (s.set ? `A token is set (${s.store}).` : 'No token set.') + (s.warning ? `\nwarning: ${s.warning}` : ''));
        } finally {
          conn.close();
        }
      }),
    );
}
