/**
 * The process hosting the core (`aima serve`, the desktop app's main process) must not end because
 * one promise somewhere was left without a handler: Node 15+ exits on an unhandled rejection, and
 * with it every service, download and voice session. The rejection is logged with its stack (a
 * bug to fix, never silence) and the core goes on. Uncaught exceptions keep Node's default.
 */
export function guardUnhandledRejections(log: (line: string) => void = (l) => process.stderr.write(l + '\n')): void {
  process.on('unhandledRejection', (reason) => {
    const detail = reason instanceof Error ? (reason.stack ?? reason.message) : String(reason);
    log(`aima: internal error (unhandled promise rejection; the core keeps running): ${detail}`);
  });
}
