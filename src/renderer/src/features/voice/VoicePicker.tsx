/**
 * The TTS voice: a list from the TTS service (GET /v1/audio/voices through the gateway) once it
 * runs; until then — or for a remote TTS that has no such list — a free text field. It never
 * starts a stopped service just to list voices (the page's Start button does that).
 */
import { useEffect, useState } from 'react';
import { gatewayFetch } from '../../api/client.js';
import { useServices } from '../../stores/services.js';
import { useVoice } from '../../stores/voice.js';
import { serviceFor } from '../../../../shared/service-lookup.js';

interface VoiceOption {
  id: string;
  name: string;
}

export function VoicePicker() {
  const config = useVoice((s) => s.config);
  const setVoice = useVoice((s) => s.setVoice);
  const services = useServices((s) => s.services);
  const tts = config?.tts ?? null;
  const running = tts !== null && serviceFor(services, tts)?.state === 'running';
  const [voices, setVoices] = useState<{ model: string; list: VoiceOption[]; fallback: string } | null>(null);

  useEffect(() => {
    if (!tts || !running) return;
    let live = true;
    gatewayFetch(`/v1/audio/voices?model=${encodeURIComponent(tts)}`)
      .then(async (res) => (res.ok ? ((await res.json()) as { default: string; voices: VoiceOption[] }) : null))
      .then(
        (body) => {
          if (live && body) setVoices({ model: tts, list: body.voices, fallback: body.default });
        },
        () => undefined, // no list: the text field stays
      );
    return () => {
      live = false;
    };
  }, [tts, running]);

  if (!config) return null;
  const current = config.voice ?? '';
  if (voices && voices.model === tts && voices.list.length > 0) {
    const known = current === '' || voices.list.some((v) => v.id === current);
    return (
      <label>
        Voice{' '}
        <select name="voice" value={current} onChange={(e) => void setVoice(e.target.value)} data-testid="voice-picker">
          <option value="">Default ({voices.fallback})</option>
          {!known && <option value={current}>{current} (not offered by {tts})</option>}
          {voices.list.map((v) => (
            <option key={v.id} value={v.id}>
              {v.name} ({v.id})
            </option>
          ))}
        </select>
      </label>
    );
  }
  return (
    <label>
      Voice{' '}
      <input
        name="voice"
        key={current}
        defaultValue={current}
        placeholder="engine default"
        size={12}
        title="A TTS voice id (e.g. slt, kal, awb, rms for flite); empty: the engine's default. The list appears once the TTS service runs."
        onBlur={(e) => e.target.value !== current && void setVoice(e.target.value)}
      />
    </label>
  );
}
