/**
 * `aima voice export ID DIR [--json]`: writes a voice conversation into a folder — its recorded
 * audio (audio/turn-NNN-user.flac, -reply.flac), transcript.txt and conversation.json (every
 * turn's text and timeline) — through voice.conversations.export (the core writes the files, so
 * DIR is on the core's machine: this one).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { action, output, withConnection } from '../../context.js';

export function registerExport(voice: Command): void {
  voice
    .command('export <id> <dir>')
    .description('Write a voice conversation into a folder: recorded audio (FLAC), transcript.txt and conversation.json with the timelines')
    .option('--json', 'print JSON')
    .action(
      action(async (id: string, dir: string, opts: { json?: boolean }, cmd: Command) => {
        const json = opts.json ?? (cmd.optsWithGlobals() as { json?: boolean }).json;
        await withConnection(async (conn) => {
          const r = await conn.api['voice.conversations.export']({ id, dir: path.resolve(dir) });
          const audio = r.files.filter((f) => f.endsWith('.flac')).length;
          output(json, r, () => `Exported ${r.files.length} files to ${r.dir} (${audio} recordings${audio === 0 ? ': recording was off, see `aima settings set voiceRecording true`' : ''}).`);
        });
      }),
    );
}
