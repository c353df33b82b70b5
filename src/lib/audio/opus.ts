/**
 * Opus in WebM (Chromium's MediaRecorder default, `audio/webm;codecs=opus`) and in Ogg (Firefox,
 * `audio/ogg;codecs=opus`) decoded in-process: ts-ebml demuxes Matroska (it copes with the
 * unknown-size Segment and Cluster elements a live recorder writes), opus-decoder and
 * ogg-opus-decoder (libopus compiled to WebAssembly) decode. No system ffmpeg.
 */
import tsEbml from 'ts-ebml';
import { OpusDecoder } from 'opus-decoder';
import { OggOpusDecoder } from 'ogg-opus-decoder';
import { AudioFormatError, type PcmAudio } from './wav.js';

const { Decoder: EbmlDecoder, tools: ebmlTools } = tsEbml;

/** True for an EBML (Matroska/WebM) stream. */
export function isWebm(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3;
}

/** True for an Ogg stream. */
export function isOgg(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x4f && b[1] === 0x67 && b[2] === 0x67 && b[3] === 0x53;
}

interface Track {
  number: number;
  codec: string;
  codecPrivate?: Uint8Array;
}

interface OpusHead {
  channels: number;
  preSkip: number;
  streamCount?: number;
  coupledStreamCount?: number;
  channelMappingTable?: number[];
}

function parseOpusHead(p: Uint8Array | undefined): OpusHead {
  if (!p || p.length < 19 || Buffer.from(p.subarray(0, 8)).toString('latin1') !== 'OpusHead') {
    throw new AudioFormatError('WebM Opus track has no valid OpusHead codec private data');
  }
  const channels = p[9];
  const preSkip = p[10] | (p[11] << 8);
  const family = p[18];
  if (family === 0 || p.length < 21 + channels) return { channels, preSkip };
  return { channels, preSkip, streamCount: p[19], coupledStreamCount: p[20], channelMappingTable: Array.from(p.subarray(21, 21 + channels)) };
}

/** A WebM file's first Opus track: its OpusHead (codec private data) and its packets in order. */
export interface WebmOpusTrack {
  opusHead: Uint8Array;
  packets: Uint8Array[];
}

/** Demuxes the first Opus audio track of a WebM (Matroska) file. */
export function demuxWebmOpus(bytes: Uint8Array): WebmOpusTrack {
  let elements: ReturnType<InstanceType<typeof EbmlDecoder>['decode']>;
  try {
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    elements = new EbmlDecoder().decode(ab);
  } catch (err) {
    throw new AudioFormatError(`WebM container could not be parsed: ${(err as Error).message}`);
  }
  const tracks: Track[] = [];
  let current: Partial<Track> | undefined;
  const blocks: Buffer[] = [];
  for (const el of elements) {
    if (el.name === 'TrackEntry' && el.type === 'm') {
      if (!el.isEnd) current = {};
      else if (current) {
        tracks.push({ number: current.number ?? 0, codec: current.codec ?? '', codecPrivate: current.codecPrivate });
        current = undefined;
      }
    } else if (current && el.name === 'TrackNumber' && el.type === 'u') current.number = el.value;
    else if (current && el.name === 'CodecID' && el.type === 's') current.codec = el.value;
    else if (current && el.name === 'CodecPrivate' && el.type === 'b') current.codecPrivate = new Uint8Array(el.data);
    else if ((el.name === 'SimpleBlock' || el.name === 'Block') && el.type === 'b') blocks.push(el.data);
  }
  const opus = tracks.find((t) => t.codec === 'A_OPUS');
  if (!opus) {
    const codecs = tracks.map((t) => t.codec).join(', ') || 'none';
    throw new AudioFormatError(`WebM file has no Opus audio track (tracks: ${codecs}); record with audio/webm;codecs=opus`);
  }
  if (!opus.codecPrivate) throw new AudioFormatError('WebM Opus track has no OpusHead codec private data');
  const packets: Uint8Array[] = [];
  for (const data of blocks) {
    const block = ebmlTools.ebmlBlock(data);
    if (block.trackNumber !== opus.number) continue;
    for (const f of block.frames) packets.push(new Uint8Array(f));
  }
  if (packets.length === 0) throw new AudioFormatError('WebM Opus track holds no audio frames');
  return { opusHead: opus.codecPrivate, packets };
}

/** Decodes a WebM file's first Opus audio track to float channels at 48 kHz. */
export async function decodeWebmOpus(bytes: Uint8Array): Promise<PcmAudio> {
  const { opusHead, packets: frames } = demuxWebmOpus(bytes);
  const head = parseOpusHead(opusHead);
  const decoder = new OpusDecoder({ ...head });
  await decoder.ready;
  try {
    const out = decoder.decodeFrames(frames);
    if (out.samplesDecoded === 0) {
      throw new AudioFormatError(`Opus frames could not be decoded${out.errors[0] ? `: ${out.errors[0].message}` : ''}`);
    }
    return { sampleRate: out.sampleRate, channels: out.channelData.map((c) => c.subarray(0, out.samplesDecoded)) };
  } finally {
    decoder.free();
  }
}

/** Decodes an Ogg Opus file to float channels at 48 kHz. */
export async function decodeOggOpus(bytes: Uint8Array): Promise<PcmAudio> {
  const decoder = new OggOpusDecoder();
  await decoder.ready;
  try {
    let out: Awaited<ReturnType<typeof decoder.decodeFile>>;
    try {
      out = await decoder.decodeFile(bytes);
    } catch (err) {
      // codec-parser names what it found ("does not support this codec vorbis").
      throw new AudioFormatError(`Ogg file could not be decoded as Opus: ${(err as Error).message}`);
    }
    if (out.samplesDecoded === 0) {
      throw new AudioFormatError(
        `Ogg file holds no decodable Opus audio${out.errors[0] ? ` (${out.errors[0].message})` : ' (only Opus is supported in Ogg, not Vorbis or FLAC)'}`,
      );
    }
    return { sampleRate: out.sampleRate, channels: out.channelData.map((c) => c.subarray(0, out.samplesDecoded)) };
  } finally {
    decoder.free();
  }
}
