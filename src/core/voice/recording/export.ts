/**
 * A voice conversation as a set of files a person can keep: the recorded audio (FLAC), a plain
 * transcript and conversation.json (the conversation, each turn's text, interruption, timeline and
 * audio file names). The same files go into a folder (`aima voice export`, voice.conversations.export)
 * or into a zip (the Voice page's download in a browser).
 */
import { existsSync, readFileSync } from 'node:fs';
import type { VoiceConversationDetail, VoiceRecordingSide } from '../../../shared/contract/voice.js';
import type { RecordingStore } from './store.js';

export interface ExportFile {
  name: string;
  data: Uint8Array;
}

const audioName = (seq: number, side: VoiceRecordingSide) => `audio/turn-${String(seq).padStart(3, '0')}-${side}.flac`;

/** The files of a conversation's export, read from the store. */
export function conversationExportFiles(c: VoiceConversationDetail, store: RecordingStore): ExportFile[] {
  const files: ExportFile[] = [];
  const turns = c.turns.map((t) => {
    const audio: Partial<Record<VoiceRecordingSide, { file: string; seconds: number | null }>> = {};
    for (const side of ['user', 'reply'] as const) {
      const src = store.file(c.id, t.id, side);
      if (!t.recording || !existsSync(src)) continue;
      const name = audioName(t.seq, side);
      files.push({ name, data: readFileSync(src) });
      audio[side] = { file: name, seconds: side === 'user' ? t.recording.userSeconds : t.recording.replySeconds };
    }
    return { ...t, audio };
  });
  const { turns: _omit, ...conversation } = c;
  void _omit;
  const json = { format: 'aima-voice-conversation', version: 1, conversation, turns };
  files.push({ name: 'conversation.json', data: Buffer.from(`${JSON.stringify(json, null, 2)}\n`) });
  const lines = [`${c.title || 'Voice conversation'} (${c.createdAt})`, `Models: ASR ${c.asr ?? '-'}, LLM ${c.llm ?? '-'}, TTS ${c.tts ?? '-'}`, ''];
  for (const t of turns) {
    lines.push(`[${t.seq}] You: ${t.user}${t.audio.user ? `  (${t.audio.user.file})` : ''}`);
    lines.push(`[${t.seq}] AIMA: ${t.assistant}${t.interrupted ? ' [interrupted]' : ''}${t.audio.reply ? `  (${t.audio.reply.file})` : ''}`);
    lines.push('');
  }
  files.push({ name: 'transcript.txt', data: Buffer.from(lines.join('\n')) });
  return files;
}
