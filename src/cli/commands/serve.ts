/**
 * `aima serve`: host the core headless, with the API, the gateway and the web UI on one port.
 * On SIGTERM or Ctrl+C the core closes; its engines stop only when the onQuit setting is
 * 'stop-services' (the default) — with 'keep-running' they stay up and the next core adopts them
 * by PID file (src/core/services/supervisor.ts).
 */
import type { Command } from 'commander';
import path from 'node:path';
import { DEFAULT_PORT, parsePort } from '../../core/config/env.js';
import { AimaError } from '../../shared/errors.js';
import { action, cliContext } from '../context.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Run the AIMA core headless: API, gateway and web UI on one local port')
    .option('--port <port>', `port to listen on (default ${DEFAULT_PORT}, or AIMA_PORT)`)
    .option('--host <host>', 'address to bind (default: the listenHost setting, 127.0.0.1); beyond loopback only once an API key exists (`aima key create`)')
    .option('--tls-cert <file>', 'beyond loopback: serve HTTPS with this PEM certificate (default: one AIMA issues from its own CA)')
    .option('--tls-key <file>', "the PEM private key of --tls-cert")
    .option('--name <name...>', "beyond loopback: a DNS name of this machine that clients use (covered by AIMA's certificate, checked in yours)")
    .option('--background', 'started by another aima command; log to the serve log', false)
    .action(
      action(async (opts: { port?: string; host?: string; background: boolean; tlsCert?: string; tlsKey?: string; name?: string[] }) => {
        // Only serve loads the core; every other command is an HTTP client of it.
        const [{ hostCore, listenerStatus }, { guardUnhandledRejections }] = await Promise.all([import('../../core/host.js'), import('../../core/process/rejection-guard.js')]);
        const ctx = cliContext();
        const port = parsePort(opts.port ?? ctx.env.AIMA_PORT ?? String(DEFAULT_PORT), '--port');
        const host = (p: number) => hostCore({
            dataDir: ctx.paths.dataDir,
            owner: 'serve',
            host: opts.host,
            port: p,
            env: ctx.env,
            tls: { certFile: opts.tlsCert ? path.resolve(opts.tlsCert) : null, keyFile: opts.tlsKey ? path.resolve(opts.tlsKey) : null, names: opts.name },
          });
        // A core started in the background by another command takes any free port when the
        // default one is busy: clients find it through the lock file, not the port number.
        const result = await host(port).catch((err: unknown) => {
          if (opts.background && !opts.port && !ctx.env.AIMA_PORT && err instanceof AimaError && err.code === 'conflict' && /already in use/.test(err.message)) return host(0);
          throw err;
        });
        // In the background, stdout and stderr go to the serve log: the login URL (it holds the
        // install token) stays out of it, and `aima status` shows it to whoever may read the token.
        const statusHint = 'run `aima status` to see the login URL';
        if (result.kind === 'attached') {
          const { info } = result;
          throw new AimaError(
            'conflict',
            `An AIMA core already runs for ${info.dataDir} (${info.owner === 'electron' ? 'the desktop app' : 'aima serve'}, pid ${info.pid}, ${info.url ?? 'starting'}).`,
            `Use that one: ${opts.background ? statusHint : `open ${info.url ?? ''}/login?token=${result.token}`} — or stop it first with \`aima stop\`.`,
          );
        }
        // A reader that went away (the terminal closed, a pipe's reader exited) makes the next write
        // fail with EPIPE, emitted on the stream: unhandled, it would end this process before the
        // core stops its engines. What is written is only for that reader, so the write is dropped.
        for (const stream of [process.stdout, process.stderr]) {
          stream.on('error', (err: NodeJS.ErrnoException) => {
            if (err.code !== 'EPIPE') throw err;
          });
        }
        const { server } = result;
        const status = listenerStatus(server, result.tls);
        const remote = status.urls.length
          ? `  Other machines: ${status.urls.join('  ')}\n` +
            (status.tls?.caFingerprint
              ? `  HTTPS by the install CA (SHA-256 ${status.tls.caFingerprint}): trust ${server.url}${status.tls.caPath} on each client (docs/remote-access.md)\n`
              : status.tls
                ? `  HTTPS with your certificate, valid until ${status.tls.validTo.slice(0, 10)}\n`
                : '')
          : '';
        process.stdout.write(
          `AIMA core running for ${ctx.paths.dataDir}\n` +
            `  API and UI: ${server.url}\n` +
            remote +
            `  Log in:     ${opts.background ? statusHint : server.loginUrl}\n` +
            `Press Ctrl+C to stop.\n`,
        );
        let stopping = false;
        const stop = async (signal: string) => {
          if (stopping) return;
          stopping = true;
          process.stdout.write(`Stopping (${signal})…\n`);
          await result.stop();
          process.exit(0);
        };
        guardUnhandledRejections();
        process.on('SIGINT', () => void stop('SIGINT'));
        process.on('SIGTERM', () => void stop('SIGTERM'));
        // Keep running until a signal arrives.
        await new Promise<never>(() => {});
      }),
    );
}
