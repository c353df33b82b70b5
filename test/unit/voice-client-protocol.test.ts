/** The Voice page's protocol client (docs/voice.md) against scripted core messages. */
import { describe, expect, it } from 'vitest';
import { emptyVoiceTimeline } from '../../src/shared/contract/voice.js';
import { VoiceClient, type VoiceClientSink } from '../../src/renderer/src/features/voice/voice-client.js';

/** A turn's timeline with nothing measured yet (the `turn` message carries every field). */
const noTimeline = emptyVoiceTimeline(500);

function harness() {
  const sent: (string | ArrayBuffer)[] = [];
  const played: { turnId: string; sampleRate: number; first: number }[] = [];
  const calls: string[] = [];
  let changes = 0;
  const sink: VoiceClientSink = {
    send: (d) => sent.push(d),
    now: () => 1234.5,
    play: (turnId, sampleRate, pcm) => played.push({ turnId, sampleRate, first: new Int16Array(pcm)[0]! }),
    audioEnd: (turnId) => calls.push(`end:${turnId}`),
    stopPlayback: (turnId) => calls.push(`stop:${turnId}`),
    changed: () => changes++,
  };
  const client = new VoiceClient(sink);
  const core = (m: Record<string, unknown>) => client.receive(JSON.stringify(m));
  const audio = (turnId: string, seq: number, first: number) => {
    core({ type: 'audio', turnId, seq, sampleRate: 16000, format: 's16le', samples: 2 });
    client.receive(Int16Array.from([first, 0]).buffer);
  };
  const json = () => sent.filter((d): d is string => typeof d === 'string').map((d) => JSON.parse(d) as Record<string, unknown>);
  const ready = () => {
    client.start();
    for (let i = 0; i < 3; i++) core({ type: 'sync', coreTime: 100 + i });
    core({ type: 'ready', conversationId: 'c1', chain: { asr: 'a', llm: 'l', tts: 't', voice: null, systemPrompt: '', silenceMs: 500, maxTokens: 160 }, clockOffsetMs: 0, rttMs: 1, coreTime: 0 });
  };
  return { client, sent, played, calls, json, core, audio, ready, changes: () => changes };
}

describe('VoiceClient', () => {
  it('starts with playback on, answers every clock probe with its own time, then is ready', () => {
    const h = harness();
    h.ready();
    const msgs = h.json();
    expect(msgs[0]).toMatchObject({ type: 'start', format: 's16le', sampleRate: 16000, playback: true });
    expect(msgs.slice(1)).toEqual([100, 101, 102].map((coreTime) => ({ type: 'sync', coreTime, clientTime: 1234.5 })));
    expect(h.client.phase).toBe('ready');
    expect(h.client.conversationId).toBe('c1');
  });

  it('resumes a conversation and asks for a voice when given', () => {
    const h = harness();
    h.client.start({ conversationId: 'c9', chain: { voice: 'kal' } });
    expect(h.json()[0]).toMatchObject({ conversationId: 'c9', chain: { voice: 'kal' } });
  });

  it('sends microphone frames only when ready and transmitting (push-to-talk up: nothing)', () => {
    const h = harness();
    const frame = new ArrayBuffer(640);
    h.client.transmitting = true;
    expect(h.client.sendFrame(frame)).toBe(false); // not ready yet
    h.ready();
    h.client.transmitting = false;
    for (let i = 0; i < 10; i++) expect(h.client.sendFrame(frame)).toBe(false);
    expect(h.sent.filter((d) => typeof d !== 'string')).toHaveLength(0);
    h.client.transmitting = true;
    expect(h.client.sendFrame(frame)).toBe(true);
    expect(h.client.framesSent).toBe(1);
    h.client.endInput();
    expect(h.json().at(-1)).toEqual({ type: 'end' });
  });

  it('pairs each audio header with the next binary message and plays chunks in seq order', () => {
    const h = harness();
    h.ready();
    h.audio('t1', 1, 11);
    expect(h.played).toEqual([]); // seq 0 not here yet
    h.audio('t1', 0, 10);
    h.audio('t1', 2, 12);
    expect(h.played.map((p) => p.first)).toEqual([10, 11, 12]);
    // A binary message without a header is ignored.
    h.client.receive(Int16Array.from([99]).buffer);
    expect(h.played).toHaveLength(3);
    h.core({ type: 'audio.end', turnId: 't1' });
    expect(h.calls).toEqual(['end:t1']);
  });

  it('audio.stop stops playback and drops the turn’s queued and later chunks', () => {
    const h = harness();
    h.ready();
    h.core({ type: 'transcript', turnId: 't1', text: 'hello' });
    h.audio('t1', 1, 11); // held, waiting for seq 0
    h.core({ type: 'audio.stop', turnId: 't1' });
    h.audio('t1', 0, 10);
    h.audio('t1', 2, 12);
    h.core({ type: 'audio.end', turnId: 't1' });
    expect(h.played).toEqual([]);
    expect(h.calls).toEqual(['stop:t1']);
    expect(h.client.audioStops).toBe(1);
    expect(h.client.turns[0]).toMatchObject({ id: 't1', audioStopped: true });
    // The next turn plays normally.
    h.audio('t2', 0, 20);
    expect(h.played.map((p) => p.turnId)).toEqual(['t2']);
  });

  it('keeps a record per turn: transcript, streamed reply, barge-in, the final record with its timeline', () => {
    const h = harness();
    h.ready();
    h.core({ type: 'state', state: 'transcribing', turnId: 't1', at: 1 });
    expect(h.client.coreState).toBe('transcribing');
    h.core({ type: 'transcript', turnId: 't1', text: 'tell me a story' });
    h.core({ type: 'reply', turnId: 't1', delta: 'Once ' });
    h.core({ type: 'reply', turnId: 't1', delta: 'upon' });
    expect(h.client.turns).toHaveLength(1);
    expect(h.client.turns[0]).toMatchObject({ user: 'tell me a story', assistant: 'Once upon', done: false });
    const before = h.client.turns[0];
    h.core({ type: 'barge-in', turnId: 't1', detectedAt: 1, stoppedAt: 5, stopMs: 4 });
    expect(h.client.turns[0]).not.toBe(before); // a new object, so React re-renders
    const timeline = { speechStart: 0, speechEnd: 1000, silenceWindowMs: 500, voiceToVoiceMs: 900 };
    h.core({ type: 'turn', turnId: 't1', transcript: 'tell me a story', reply: 'Once upon', interrupted: true, error: null, timeline: { ...noTimeline, ...timeline }, audioSeconds: 1, storedTurnId: null });
    expect(h.client.turns[0]).toMatchObject({ interrupted: true, stopMs: 4, done: true, timeline });
    expect(h.changes()).toBeGreaterThan(5);
  });

  it('counts discarded speculations (a faint mark, never a turn) until the next turn begins', () => {
    const h = harness();
    h.ready();
    h.core({ type: 'speculation.discarded', startedAt: 10, discardedAt: 200, audioMs: 900 });
    h.core({ type: 'speculation.discarded', startedAt: 400, discardedAt: 600, audioMs: 1500 });
    expect(h.client.speculationsDiscarded).toBe(2);
    expect(h.client.turns).toEqual([]);
    h.core({ type: 'state', state: 'transcribing', turnId: 't1', at: 700 });
    expect(h.client.speculationsDiscarded).toBe(0);
  });

  it('drops a turn that heard no words and got no reply; keeps a failed one', () => {
    const h = harness();
    h.ready();
    h.core({ type: 'state', state: 'transcribing', turnId: 't1', at: 1 });
    h.core({ type: 'turn', turnId: 't1', transcript: '', reply: '', interrupted: false, error: null, timeline: noTimeline, audioSeconds: 0, storedTurnId: null });
    expect(h.client.turns).toEqual([]);
    h.core({ type: 'turn', turnId: 't2', transcript: 'hi', reply: '', interrupted: false, error: 'LLM unavailable', timeline: noTimeline, audioSeconds: 0, storedTurnId: null });
    expect(h.client.turns).toMatchObject([{ id: 't2', error: 'LLM unavailable' }]);
  });

  it('cancel asks the core to cut the turn and stops the turn’s playback at once', () => {
    const h = harness();
    h.ready();
    h.core({ type: 'transcript', turnId: 't1', text: 'hi' });
    h.audio('t1', 0, 1);
    h.client.cancel();
    expect(h.json().at(-1)).toEqual({ type: 'cancel' });
    expect(h.calls).toEqual(['stop:t1']);
    h.audio('t1', 1, 2);
    expect(h.played).toHaveLength(1);
  });

  it('reports playback with the page clock and marks the turn played', () => {
    const h = harness();
    h.ready();
    h.core({ type: 'transcript', turnId: 't1', text: 'hi' });
    h.client.reportPlayback('t1', 'start', 50);
    h.client.reportPlayback('t1', 'end', 900);
    expect(h.json().slice(-2)).toEqual([
      { type: 'playback', turnId: 't1', event: 'start', clientTime: 50 },
      { type: 'playback', turnId: 't1', event: 'end', clientTime: 900 },
    ]);
    expect(h.client.turns[0]!.playbackEnded).toBe(true);
  });

  it('a core message that does not fit the contract is not acted on and its field is named; the next one is', () => {
    const h = harness();
    h.ready();
    h.core({ type: 'transcript', turnId: 't1', text: 42 });
    expect(h.client.turns).toEqual([]);
    expect(h.client.error).toMatch(/transcript.*text: Invalid input: expected string, received number/);
    h.core({ type: 'state', state: 'dreaming', turnId: null, at: 1 });
    expect(h.client.coreState).toBe('listening');
    expect(h.client.error).toMatch(/state: /);
    h.core({ type: 'transcript', turnId: 't1', text: 'hello' });
    expect(h.client.turns[0]).toMatchObject({ id: 't1', user: 'hello' });
  });

  it('skips an audio chunk whose size is not the announced one, and still plays the chunks after it', () => {
    const h = harness();
    h.ready();
    h.audio('t1', 0, 10);
    h.core({ type: 'audio', turnId: 't1', seq: 1, sampleRate: 16000, format: 's16le', samples: 5 });
    h.client.receive(Int16Array.from([11, 0]).buffer);
    expect(h.client.error).toMatch(/announced 5 samples .* sent 4 bytes/);
    h.audio('t1', 2, 12);
    expect(h.played.map((p) => p.first)).toEqual([10, 12]);
  });

  it('shows the core’s error messages and the close reason', () => {
    const h = harness();
    h.ready();
    h.core({ type: 'error', message: 'Unknown control message' });
    expect(h.client.error).toBe('Unknown control message');
    h.client.closed('The chain is not set up');
    expect(h.client.phase).toBe('closed');
    expect(h.client.error).toBe('The chain is not set up');
    h.client.transmitting = true;
    expect(h.client.sendFrame(new ArrayBuffer(2))).toBe(false);
  });
});
