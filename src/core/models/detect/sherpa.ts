/**
 * Recognises sherpa-onnx model folders by their file layout (the names sherpa-onnx's release
 * archives use), reporting which files each family needs, which were found and which are missing.
 * Works on names alone so a half-downloaded folder is still identified and the gap named.
 */
import type { ModelKind, SherpaFamily } from './types.js';

export interface SherpaMatch {
  family: SherpaFamily;
  kind: ModelKind;
  reason: string;
  /** Role → relative file. */
  found: Record<string, string>;
  missing: string[];
  /** The file whose ONNX metadata is worth reading (the main model), if found. */
  mainModel: string | undefined;
}

export interface FolderListing {
  /** Folder's own name (hints such as "sherpa-onnx-sense-voice-..."). */
  name: string;
  /** Relative file paths, POSIX separators. */
  files: string[];
  /** Relative folder paths. */
  dirs: string[];
}

/** Returns metadata_props of a file, or {} when unreadable (placeholders are fine). */
export type PropsReader = (rel: string | undefined) => Promise<Record<string, string>>;

const ASR: ModelKind = 'asr';
const TTS: ModelKind = 'tts';

/**
 * Matches a folder listing against the sherpa-onnx families. `readProps` is consulted only when
 * names alone cannot tell SenseVoice from Paraformer (both ship model.onnx + tokens.txt).
 */
export async function matchSherpa(listing: FolderListing, readProps: PropsReader): Promise<SherpaMatch | undefined> {
  const top = listing.files.filter((f) => !f.includes('/'));
  const onnx = top.filter((f) => f.toLowerCase().endsWith('.onnx'));
  if (onnx.length === 0) return undefined;
  const lower = (f: string) => f.toLowerCase();
  const has = (name: string) => top.some((f) => lower(f) === name);
  const hasDir = (name: string) => listing.dirs.includes(name);
  const folder = listing.name.toLowerCase();
  const tokens = top.find((f) => lower(f) === 'tokens.txt') ?? top.find((f) => lower(f).endsWith('tokens.txt'));
  const espeak = hasDir('espeak-ng-data') ? 'espeak-ng-data/' : undefined;
  const lexicon = top.find((f) => lower(f) === 'lexicon.txt' || /^lexicon-.*\.txt$/.test(lower(f)));
  const named = (re: RegExp) => pick(onnx.filter((f) => re.test(lower(f))));
  // Folder-name hints ("whisper", "vits") only count in a folder that looks like sherpa-onnx at all:
  // shared/models/whisper-tiny-en-olive holds one self-contained ONNX file, not a sherpa model.
  const sherpaLike = tokens !== undefined || espeak !== undefined || has('voices.bin') ||
    onnx.some((f) => /^model(\.int8)?\.onnx$|encoder|decoder|joiner|^model-steps-/.test(lower(f)));
  if (!sherpaLike) return undefined;

  const build = (family: SherpaFamily, kind: ModelKind, reason: string, roles: Record<string, string | undefined>, expect: Record<string, string>): SherpaMatch => {
    const found: Record<string, string> = {};
    const missing: string[] = [];
    for (const [role, file] of Object.entries(roles)) {
      if (file !== undefined) found[role] = file;
      else if (expect[role] !== undefined) missing.push(expect[role]);
    }
    return { family, kind, reason, found, missing, mainModel: found.model ?? found.encoder ?? found.acousticModel };
  };
  const tokensExpect = 'tokens.txt';
  const dataExpect = 'espeak-ng-data/ (or lexicon.txt)';

  if (has('voices.bin') || /kokoro/.test(folder)) {
    const model = named(/kokoro|model/) ?? pick(onnx);
    return build('kokoro', TTS, 'voices.bin next to an ONNX model is the Kokoro layout.', {
      model: model?.fp32 ?? model?.int8, modelInt8: model?.fp32 ? model.int8 : undefined,
      voices: top.find((f) => lower(f) === 'voices.bin'), tokens, data: espeak ?? lexicon,
    }, { model: 'model.onnx', voices: 'voices.bin', tokens: tokensExpect, data: 'espeak-ng-data/' });
  }
  const vocoder = named(/vocos|hifigan|vocoder/);
  const acoustic = named(/^model-steps-|matcha/);
  if (acoustic || /matcha/.test(folder)) {
    const model = acoustic ?? pick(onnx.filter((f) => f !== vocoder?.fp32 && f !== vocoder?.int8));
    return build('matcha', TTS, 'model-steps-*.onnx (or a "matcha" folder) is the Matcha-TTS layout.', {
      acousticModel: model?.fp32 ?? model?.int8, vocoder: vocoder?.fp32 ?? vocoder?.int8, tokens, data: espeak ?? lexicon,
    }, { acousticModel: 'model-steps-3.onnx', vocoder: 'a vocoder such as vocos-22khz-univ.onnx (downloaded separately)', tokens: tokensExpect, data: dataExpect });
  }
  if (espeak || /vits|piper/.test(folder) || top.some((f) => lower(f).endsWith('.onnx.json'))) {
    const model = pick(onnx);
    return build('vits', TTS, 'an ONNX voice with espeak-ng-data (or a vits/piper folder) is the VITS/Piper layout.', {
      model: model?.fp32 ?? model?.int8, tokens, data: espeak ?? lexicon,
    }, { model: 'model.onnx', tokens: tokensExpect, data: dataExpect });
  }
  const encoder = named(/encoder/);
  const decoder = named(/decoder/);
  const joiner = named(/joiner/);
  if (joiner || (encoder && decoder && /zipformer|transducer|conformer|lstm/.test(folder))) {
    return build('transducer', ASR, 'encoder, decoder and joiner ONNX files are the transducer (Zipformer) layout.', {
      encoder: encoder?.fp32 ?? encoder?.int8, decoder: decoder?.fp32 ?? decoder?.int8, joiner: joiner?.fp32 ?? joiner?.int8, tokens,
    }, { encoder: 'encoder.onnx', decoder: 'decoder.onnx', joiner: 'joiner.onnx', tokens: tokensExpect });
  }
  if (encoder || decoder || /whisper/.test(folder)) {
    return build('whisper', ASR, 'separate encoder and decoder ONNX files are the sherpa-onnx Whisper layout.', {
      encoder: encoder?.fp32 ?? encoder?.int8, encoderInt8: encoder?.fp32 ? encoder.int8 : undefined,
      decoder: decoder?.fp32 ?? decoder?.int8, decoderInt8: decoder?.fp32 ? decoder.int8 : undefined, tokens,
    }, { encoder: '<name>-encoder.onnx', decoder: '<name>-decoder.onnx', tokens: '<name>-tokens.txt' });
  }

  const model = named(/^model\b/) ?? (onnx.length === 1 ? pick(onnx) : undefined);
  if (!model) return undefined;
  const modelRoles = { model: model.fp32 ?? model.int8, modelInt8: model.fp32 ? model.int8 : undefined, tokens };
  const modelExpect = { model: 'model.onnx', tokens: tokensExpect };
  if (/sense[-_ ]?voice/.test(folder)) return build('sense-voice', ASR, 'the folder is named for SenseVoice.', modelRoles, modelExpect);
  if (/paraformer/.test(folder)) return build('paraformer', ASR, 'the folder is named for Paraformer.', modelRoles, modelExpect);
  // Same file names for both: only the export's metadata tells them apart.
  const props = await readProps(modelRoles.model);
  const type = (props['model_type'] ?? '').toLowerCase();
  if (type.includes('sense_voice') || 'with_itn' in props) return build('sense-voice', ASR, 'the model\'s ONNX metadata is that of a SenseVoice export.', modelRoles, modelExpect);
  if (type.includes('paraformer') || 'lfr_window_size' in props) return build('paraformer', ASR, 'the model\'s ONNX metadata is that of a Paraformer export.', modelRoles, modelExpect);
  return undefined;
}

/** Splits candidates into the full-precision and the int8 file (sherpa ships both). */
function pick(files: string[]): { fp32: string | undefined; int8: string | undefined } | undefined {
  if (files.length === 0) return undefined;
  const int8 = files.find((f) => /\.int8\.onnx$/i.test(f));
  const fp32 = files.find((f) => !/\.int8\.onnx$/i.test(f));
  return { fp32, int8 };
}
