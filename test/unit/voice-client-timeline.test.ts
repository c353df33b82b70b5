/** The Voice page's pure parts: timeline layout, chain check, microphone error messages (src/renderer/src/features/voice). */
import { describe, expect, it } from 'vitest';
import type { ServiceSummary, VoiceConfig } from '../../src/shared/contract/index.js';
import { timelineLayout } from '../../src/renderer/src/features/voice/timeline.js';
import { chainProblems } from '../../src/renderer/src/features/voice/chain.js';
import { serviceFor } from '../../src/shared/service-lookup.js';
import { microphoneErrorMessage } from '../../src/renderer/src/features/voice/mic-errors.js';

describe('timelineLayout', () => {
  it('places each stage after the start of speech and highlights voice-to-voice', () => {
    const tl = {
      speechStart: 1000,
      speechEnd: 2500,
      silenceWindowMs: 500,
      endOfTurn: 3000,
      asrDone: 3200,
      llmFirstToken: 3250,
      firstSentence: 3300,
      firstAudio: 3400,
      playbackStart: 3420,
      llmDone: 3600,
      turnEnd: 8000,
      voiceToVoiceMs: 900,
    };
    const l = timelineLayout(tl);
    expect(l.bars.map((b) => [b.key, b.from, b.to])).toEqual([
      ['speech', 0, 1500],
      ['silence', 1500, 2000],
      ['asr', 2000, 2200],
      ['llm', 2200, 2250],
      ['sentence', 2250, 2300],
      ['tts', 2300, 2400],
      ['out', 2400, 2420],
      ['reply', 2420, 7000],
    ]);
    expect(l.voiceToVoice).toEqual({ from: 1500, to: 2400, ms: 900 });
    expect(l.total).toBe(7000);
  });

  it('a kept speculation: its start is drawn inside the silence window, and ASR begins there', () => {
    const l = timelineLayout({ speechStart: 0, speechEnd: 1000, endOfTurn: 1300, speculation: 'kept', speculationStart: 1200, asrDone: 1280, llmFirstToken: 1290, firstSentence: 1295, firstAudio: 1301 });
    expect(l.bars.map((b) => [b.key, b.from, b.to])).toEqual([
      ['speech', 0, 1000],
      ['silence', 1000, 1300],
      ['speculation', 1200, 1300],
      ['asr', 1200, 1280],
      ['llm', 1280, 1290],
      ['sentence', 1290, 1295],
      ['tts', 1295, 1301],
    ]);
  });

  it('a discarded speculation draws no speculative bar', () => {
    const l = timelineLayout({ speechStart: 0, speechEnd: 1000, endOfTurn: 1540, speculation: 'discarded', speculationStart: 700, asrDone: 1800 });
    expect(l.bars.map((b) => b.key)).toEqual(['speech', 'silence', 'asr']);
  });

  it('leaves out stages that did not happen (an interrupted turn)', () => {
    const l = timelineLayout({ speechStart: 0, speechEnd: 800, endOfTurn: 1300, asrDone: 1500, llmFirstToken: null, turnEnd: 1600 });
    expect(l.bars.map((b) => b.key)).toEqual(['speech', 'silence', 'asr']);
    expect(l.voiceToVoice).toBeNull();
    expect(timelineLayout({}).bars).toEqual([]);
  });
});

const svc = (name: string, model: string | null, state: ServiceSummary['state']) => ({ name, model, state }) as ServiceSummary;
const config: VoiceConfig = { asr: 'whisper', llm: 'qwen', tts: 'voice-tts', voice: null, systemPrompt: '', silenceMs: 500, maxTokens: 160 };

describe('chainProblems', () => {
  it('names each chain service that is not running, found by model or service name', () => {
    const services = [svc('voice-asr', 'whisper', 'stopped'), svc('voice-llm', 'qwen', 'running'), svc('voice-tts', null, 'failed')];
    expect(chainProblems(config, services).map((p) => (p.kind === 'not-running' ? `${p.role}:${p.service.name}:${p.service.state}` : p.kind))).toEqual(['asr:voice-asr:stopped', 'tts:voice-tts:failed']);
  });

  it('reports an unset model, and leaves models without a local service (remote) to the gateway', () => {
    expect(chainProblems({ ...config, asr: null }, [svc('voice-llm', 'qwen', 'running')]).map((p) => p.kind + ':' + p.role)).toEqual(['unset:asr']);
  });

  it('prefers a running service when two serve the model', () => {
    expect(serviceFor([svc('a', 'qwen', 'stopped'), svc('b', 'qwen', 'running')], 'qwen')?.name).toBe('b');
  });
});

describe('microphoneErrorMessage', () => {
  it('says what to do for a denied permission, a missing device and a busy one', () => {
    const named = (name: string) => Object.assign(new Error('x'), { name });
    expect(microphoneErrorMessage(named('NotAllowedError'))).toMatch(/denied\. Allow the microphone .* press Start again/);
    expect(microphoneErrorMessage(named('NotFoundError'))).toMatch(/No microphone was found\. Plug one in/);
    expect(microphoneErrorMessage(named('NotReadableError'))).toMatch(/in use by another application/);
    expect(microphoneErrorMessage(new Error('weird'))).toBe('The microphone could not be opened: weird.');
  });
});
