/**
 * Recorded voice turns on disk, beside the database (never in it):
 * <data dir>/recordings/<conversation id>/<turn id>-user.flac and -reply.flac, owner-only like the
 * rest of the data directory. Names come from the core's own ids; anything else asked of the store
 * (a route's path, a conversation id) is checked against that form first, so no path outside the
 * folder can be reached.
 */
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { encodeFlac } from '../../../lib/audio/flac.js';
import { voiceRecordingFile, type VoiceRecordingSide, type VoiceTurnRecording } from '../../../shared/contract/voice.js';
import type { TurnAudio } from './turn-audio.js';

/** The form of the core's ids (UUIDs); nothing with a dot or a separator passes. */
const ID = /^[A-Za-z0-9-]{1,64}$/;
const FILE = /^([A-Za-z0-9-]{1,64})-(user|reply)\.flac$/;

export class RecordingStore {
  constructor(readonly root: string) {}

  /** The conversation's folder; throws for an id that is not the core's form. */
  private folder(conversationId: string): string {
    if (!ID.test(conversationId)) throw new Error(`Not a conversation id: ${JSON.stringify(conversationId.slice(0, 80))}`);
    return path.join(this.root, conversationId);
  }

  /** A recording's path, or null when the names are not a recording's (a route's check). */
  resolve(conversationId: string, file: string): string | null {
    if (!ID.test(conversationId) || !FILE.test(file)) return null;
    return path.join(this.root, conversationId, file);
  }

  /** The path of one side of a turn (which may not exist). */
  file(conversationId: string, turnId: string, side: VoiceRecordingSide): string {
    if (!ID.test(turnId)) throw new Error(`Not a turn id: ${JSON.stringify(turnId.slice(0, 80))}`);
    return path.join(this.folder(conversationId), voiceRecordingFile(turnId, side));
  }

  /** Encodes and writes a turn's audio; returns what was written (null: nothing to write). */
  write(conversationId: string, turnId: string, audio: TurnAudio): VoiceTurnRecording | null {
    if (!audio.user && !audio.reply) return null;
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    mkdirSync(this.folder(conversationId), { recursive: true, mode: 0o700 });
    let bytes = 0;
    const side = (which: VoiceRecordingSide, a: TurnAudio['user']): number | null => {
      if (!a) return null;
      const flac = encodeFlac(a.pcm, a.sampleRate);
      writeFileSync(this.file(conversationId, turnId, which), flac, { mode: 0o600 });
      bytes += flac.length;
      return a.pcm.length / a.sampleRate;
    };
    const userSeconds = side('user', audio.user);
    const replySeconds = side('reply', audio.reply);
    return { userSeconds, replySeconds, bytes };
  }

  removeTurn(conversationId: string, turnId: string): void {
    for (const s of ['user', 'reply'] as const) rmSync(this.file(conversationId, turnId, s), { force: true });
  }

  removeConversation(conversationId: string): void {
    rmSync(this.folder(conversationId), { recursive: true, force: true });
  }

  /**
   * Removes what no stored turn owns: folders of conversations that are gone and files of turns
   * without recorded audio (a core that stopped between deleting the rows and the files, or
   * between writing a file and its row). `owned` maps each conversation id to the file names its
   * turns' rows say exist. Returns the paths removed.
   */
  sweep(owned: ReadonlyMap<string, ReadonlySet<string>>): string[] {
    const removed: string[] = [];
    let folders: string[];
    try {
      folders = readdirSync(this.root);
    } catch {
      return removed;
    }
    for (const conv of folders) {
      const dir = path.join(this.root, conv);
      const files = owned.get(conv);
      if (!files) {
        rmSync(dir, { recursive: true, force: true });
        removed.push(dir);
        continue;
      }
      for (const f of readdirSync(dir)) {
        if (files.has(f)) continue;
        rmSync(path.join(dir, f), { recursive: true, force: true });
        removed.push(path.join(dir, f));
      }
    }
    return removed;
  }

  /** Size of a file, or null when it is missing. */
  size(file: string): number | null {
    try {
      return statSync(file).size;
    } catch {
      return null;
    }
  }
}
