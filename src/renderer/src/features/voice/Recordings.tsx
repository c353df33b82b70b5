/**
 * Recorded conversations on the Voice page: a player per recorded side of a stored turn, the
 * conversation's export, and the space recordings take. In a browser the audio and the zip come
 * straight from the core's /api URLs (the login cookie opens them); the desktop page has no such
 * URL, so it reads a recording through voice.recordings.read and exports into a folder it picks.
 */
import { useState } from 'react';
import { formatBytes } from '../../../../shared/format-bytes.js';
import { voiceExportPath, voiceRecordingPath, type VoiceRecordingSide, type VoiceRecordingUsage, type VoiceTurn } from '../../../../shared/contract/voice.js';
import { desktop, invoke, runningInElectron } from '../../api/client.js';

const seconds = (s: number | null) => (s === null ? '' : `${s.toFixed(1)} s`);

/** One side's player; in the desktop app the audio is fetched when first asked for. */
function SideAudio({ conversationId, turn, side }: { conversationId: string; turn: VoiceTurn; side: VoiceRecordingSide }) {
  const rec = turn.recording!;
  const length = side === 'user' ? rec.userSeconds : rec.replySeconds;
  const [src, setSrc] = useState<string | null>(runningInElectron ? null : voiceRecordingPath(conversationId, turn.id, side));
  const [error, setError] = useState<string | null>(null);
  if (length === null) return null;
  const label = side === 'user' ? 'You' : 'Reply';
  const load = async () => {
    try {
      const r = await invoke('voice.recordings.read', { conversationId, turnId: turn.id, side });
      const bytes = Uint8Array.from(atob(r.base64), (c) => c.charCodeAt(0));
      setSrc(URL.createObjectURL(new Blob([bytes], { type: r.mime })));
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <span className="voice-recording" data-testid={`recording-${side}`}>
      <span className="small muted">
        {label} {seconds(length)}
      </span>{' '}
      {src ? (
        <audio controls preload="none" src={src} autoPlay={runningInElectron} />
      ) : (
        <button type="button" onClick={() => void load()}>
          Play
        </button>
      )}
      {error && <span className="error small">{error}</span>}
    </span>
  );
}

/** The players of a stored turn's recording (nothing when it has none). */
export function TurnRecording({ conversationId, turn }: { conversationId: string | null; turn: VoiceTurn }) {
  if (!conversationId || !turn.recording) return null;
  return (
    <div className="voice-recordings">
      <SideAudio conversationId={conversationId} turn={turn} side="user" /> <SideAudio conversationId={conversationId} turn={turn} side="reply" />
    </div>
  );
}

/** Export of the selected conversation: a zip download in a browser, a folder in the desktop app. */
export function ExportConversation({ conversationId }: { conversationId: string }) {
  const [note, setNote] = useState<string | null>(null);
  if (!runningInElectron) {
    return (
      <a className="button" href={voiceExportPath(conversationId)} download data-testid="voice-export" title="Audio (FLAC), transcript.txt and conversation.json with every turn's timeline, as a zip">
        Export (zip)
      </a>
    );
  }
  const exportTo = async () => {
    const dir = await desktop?.pickModelPath('folder');
    if (!dir) return;
    try {
      const r = await invoke('voice.conversations.export', { id: conversationId, dir });
      setNote(`Exported ${r.files.length} files to ${r.dir}.`);
    } catch (err) {
      setNote((err as Error).message);
    }
  };
  return (
    <>
      <button type="button" onClick={() => void exportTo()} data-testid="voice-export" title="Audio (FLAC), transcript.txt and conversation.json with every turn's timeline, into a folder">
        Export to folder…
      </button>
      {note && <p className="small muted">{note}</p>}
    </>
  );
}

/** Whether recording is on and the space it takes against the cap. */
export function RecordingUsageLine({ usage }: { usage: VoiceRecordingUsage | null }) {
  if (!usage) return null;
  const share = usage.capBytes > 0 ? Math.min(100, (100 * usage.bytes) / usage.capBytes) : 0;
  return (
    <p className="small muted" data-testid="recording-usage" data-enabled={usage.enabled ? 'true' : 'false'}>
      {usage.enabled ? 'Recording on' : 'Recording off (turn it on in Settings)'}: {formatBytes(usage.bytes)} of {formatBytes(usage.capBytes)} used ({share.toFixed(0)}%, {usage.turns} turns); the oldest
      recordings are removed past the cap.
    </p>
  );
}
