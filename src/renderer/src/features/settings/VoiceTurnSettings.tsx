/**
 * How the voice conversation decides that the user's turn is over: speculative turns on or off
 * (started at the early mark, held until the end of turn), the early mark, and the bounds the
 * adaptive silence window keeps to. The base window is the voice chain's (Voice page setup).
 */
import { useSettings } from '../../stores/settings.js';
import { NumberSetting } from './NumberSetting.js';

export function VoiceTurnSettings() {
  const { settings, update } = useSettings();
  if (!settings) return null;
  return (
    <fieldset className="settings-group" data-testid="voice-turn-settings">
      <legend>Voice turn-taking</legend>
      <label className="row">
        <input type="checkbox" name="voiceSpeculation" checked={settings.voiceSpeculation} onChange={(e) => void update({ voiceSpeculation: e.target.checked })} />
        <span>Answer sooner: prepare each reply during the pause after you speak (dropped unheard if you go on), and end the turn sooner after a complete sentence</span>
      </label>
      <NumberSetting name="voiceEarlyMarkMs" settings={settings} min={50} label="Start preparing the reply after this much silence, ms" />
      <NumberSetting name="voiceWindowMinMs" settings={settings} min={100} label="Silence that ends the turn after a complete sentence or question, ms" />
      <NumberSetting name="voiceWindowMaxMs" settings={settings} min={100} label='Silence that ends the turn after a hesitation ("um", a trailing "and"), ms' />
    </fieldset>
  );
}
