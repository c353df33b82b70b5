/**
 * The recorded-conversations settings: recording on or off (off by default), the size cap in MiB,
 * and the space the recordings take now (from voice.recordings.usage).
 */
import { useEffect, useState } from 'react';
import type { VoiceRecordingUsage } from '../../../../shared/contract/voice.js';
import { formatBytes } from '../../../../shared/format-bytes.js';
import { invoke } from '../../api/client.js';
import { useSettings } from '../../stores/settings.js';
import { NumberSetting } from './NumberSetting.js';

export function VoiceRecordingSettings() {
  const { settings, update } = useSettings();
  const [usage, setUsage] = useState<VoiceRecordingUsage | null>(null);
  // The usage again whenever recording is switched or the cap changes (a lower cap removes audio).
  useEffect(() => {
    void invoke('voice.recordings.usage', {}).then(setUsage, () => setUsage(null));
  }, [settings?.voiceRecordingCapMiB, settings?.voiceRecording]);
  if (!settings) return null;
  return (
    <fieldset className="settings-group" data-testid="voice-recording-settings">
      <legend>Recorded conversations</legend>
      <label className="row">
        <input type="checkbox" name="voiceRecording" checked={settings.voiceRecording} onChange={(e) => void update({ voiceRecording: e.target.checked })} />
        <span>Record voice conversations (your speech and the spoken replies, as FLAC beside the database)</span>
      </label>
      <NumberSetting name="voiceRecordingCapMiB" settings={settings} integer={false} min={0.1} label="Largest space for recordings, MiB (the oldest are removed past it)" />
      {usage && (
        <p className="small muted" data-testid="voice-recording-usage">
          {formatBytes(usage.bytes)} used of {formatBytes(usage.capBytes)} by {usage.turns} recorded turns, in <code>{usage.dir}</code>.
        </p>
      )}
    </fieldset>
  );
}
