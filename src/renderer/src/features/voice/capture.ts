/**
 * The microphone: getUserMedia (echo cancellation and noise suppression on, as docs/voice.md
 * assumes) into the capture AudioWorklet, which resamples to 16 kHz and posts 20 ms s16le frames.
 * Errors come back as messages that say what to do.
 */
import workletUrl from './capture.worklet.ts?worker&url';
import { insecureContextMessage, microphoneErrorMessage } from './mic-errors.js';
import type { CaptureFrame } from './pcm.js';

export interface Microphone {
  /** The device rate the worklet resamples from. */
  deviceRate: number;
  label: string;
  stop(): void;
}

/** Opens `deviceId` (the default microphone when empty) on `ctx` and calls `onFrame` per frame. */
export async function openMicrophone(ctx: AudioContext, deviceId: string, onFrame: (f: CaptureFrame) => void): Promise<Microphone> {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new Error(insecureContextMessage(window.location));
  }
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { deviceId: deviceId ? { exact: deviceId } : undefined, echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
    });
  } catch (err) {
    throw new Error(microphoneErrorMessage(err));
  }
  try {
    await ctx.audioWorklet.addModule(workletUrl);
  } catch (err) {
    stream.getTracks().forEach((t) => t.stop());
    throw new Error(`The audio capture module did not load (${(err as Error).message}). Reload the page; if it persists, rebuild AIMA with \`npm run build\`.`);
  }
  const source = ctx.createMediaStreamSource(stream);
  const node = new AudioWorkletNode(ctx, 'aima-capture', { numberOfInputs: 1, numberOfOutputs: 1, channelCount: 1, channelCountMode: 'explicit' });
  // The worklet only runs while the graph pulls it: route it to the output through a muted gain.
  const mute = ctx.createGain();
  mute.gain.value = 0;
  node.port.onmessage = (e: MessageEvent<CaptureFrame>) => onFrame(e.data);
  source.connect(node).connect(mute).connect(ctx.destination);
  const track = stream.getAudioTracks()[0];
  return {
    deviceRate: ctx.sampleRate,
    label: track?.label ?? 'microphone',
    stop() {
      node.port.onmessage = null;
      source.disconnect();
      node.disconnect();
      mute.disconnect();
      stream.getTracks().forEach((t) => t.stop());
    },
  };
}

/** The microphones this browser lists (labels appear once permission was given). */
export async function listMicrophones(): Promise<{ id: string; label: string }[]> {
  if (!navigator.mediaDevices?.enumerateDevices) return [];
  const devices = await navigator.mediaDevices.enumerateDevices();
  return devices.filter((d) => d.kind === 'audioinput').map((d, i) => ({ id: d.deviceId, label: d.label || `Microphone ${i + 1}` }));
}
