/** Settings backed by the core's settings store; every change is saved at once. */
import { useEffect } from 'react';
import { useSettings } from '../../stores/settings.js';
import { runningInElectron } from '../../api/client.js';
import { EngineResources } from './EngineResources.js';
import { SchedulerSettings } from './SchedulerSettings.js';
import { VoiceRecordingSettings } from './VoiceRecording.js';
import { VoiceTurnSettings } from './VoiceTurnSettings.js';
import { RemoteAccess } from './RemoteAccess.js';

export function SettingsPage() {
  const { settings, error, saving, savedAt, load, update } = useSettings();
  useEffect(() => {
    void load();
  }, [load]);

  if (!settings) return <p>{error ?? 'Loading settings…'}</p>;

  return (
    <section className="card settings">
      <label className="row">
        <input type="checkbox" name="startAtLogin" checked={settings.startAtLogin} onChange={(e) => void update({ startAtLogin: e.target.checked })} />
        <span>
          Start AIMA when I log in
          {!runningInElectron && <small> (applies to the desktop app)</small>}
        </span>
      </label>
      <label className="row">
        <span>When the desktop app quits</span>
        <select name="onQuit" value={settings.onQuit} onChange={(e) => void update({ onQuit: e.target.value as typeof settings.onQuit })}>
          <option value="stop-services">Stop the services AIMA started</option>
          <option value="keep-running">Keep them running</option>
        </select>
      </label>
      <label className="row">
        <input type="checkbox" name="startOnDemand" checked={settings.startOnDemand} onChange={(e) => void update({ startOnDemand: e.target.checked })} />
        <span>Start a stopped service when a request for its model arrives</span>
      </label>
      <label className="row">
        <span>Theme</span>
        <select name="theme" value={settings.theme} onChange={(e) => void update({ theme: e.target.value as typeof settings.theme })}>
          <option value="system">System</option>
          <option value="light">Light</option>
          <option value="dark">Dark</option>
        </select>
      </label>
      <SchedulerSettings />
      <EngineResources />
      <VoiceTurnSettings />
      <VoiceRecordingSettings />
      <RemoteAccess />
      <p className="status" role="status">
        {error ? <span className="error">{error}</span> : saving ? 'Saving…' : savedAt ? 'Saved.' : ''}
      </p>
    </section>
  );
}
