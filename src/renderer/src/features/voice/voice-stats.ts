/**
 * The counters a live voice session keeps (numbers only; nothing is sent anywhere). A page opened
 * with `?voice-stats` exposes them as `window.__aimaVoiceStats`: the e2e tests read them to prove
 * the microphone is heard, push-to-talk sends nothing while up, and playback starts, ends and
 * stops. DOM-free, so the tests import the type too.
 */
export interface VoiceStats {
  framesCaptured: number;
  framesSent: number;
  /** Loudest 20 ms frame heard since the session started (RMS, 0..1): proves the mic is not silent. */
  captureRms: number;
  playbackStarts: number;
  playbackEnds: number;
  /** audio.stop messages acted on, and chunks cut by them. */
  audioStops: number;
  chunksStopped: number;
  chunksPlayed: number;
}
