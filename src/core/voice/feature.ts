/**
 * The voice feature: the voice.* calls (chain settings, conversations) and the `/api/voice`
 * WebSocket upgrade that runs live sessions (the HTTP host mounts it after its Host/Origin/token
 * checks, as it mounts every feature's upgrades).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { CoreApi, Settings, VoiceChain } from '../../shared/contract/index.js';
import { voiceRecordingFile } from '../../shared/contract/voice.js';
import { AimaError } from '../../shared/errors.js';
import type { Db } from '../store/database.js';
import { VoiceRepo } from '../store/repositories/voice-repo.js';
import type { ChatMessage, GatewayTarget } from './gateway-client.js';
import { serveVoiceSocket } from './socket.js';
import { serveRealtimeSocket } from './realtime/socket.js';
import { admitRealtime, chooseSubprotocol, refusalResponse, wantsBeta } from './realtime/admission.js';
import { REALTIME_MAX_EVENT_BYTES } from '../../shared/contract/realtime.js';
import type { Feature } from '../feature.js';
import { createVoiceSetup, type VoiceSetupDeps } from './setup/voice-setup.js';
import { RecordingStore } from './recording/store.js';
import { recordingsOverCap } from './recording/cap.js';
import { conversationExportFiles } from './recording/export.js';
import { recordingRoutes } from './recording/routes.js';
import type { TurnAudio } from './recording/turn-audio.js';
import type { SpeculationOptions } from './session.js';

export type VoiceApi = Pick<
  CoreApi,
  | 'voice.config.get'
  | 'voice.config.set'
  | 'voice.conversations.list'
  | 'voice.conversations.get'
  | 'voice.conversations.create'
  | 'voice.conversations.delete'
  | 'voice.conversations.export'
  | 'voice.recordings.usage'
  | 'voice.recordings.read'
  | 'voice.plan'
  | 'voice.setup'
>;

export interface VoiceFeatureOptions {
  db: Db;
  appRoot: string;
  /** Where recorded turns go (<data dir>/recordings). */
  recordingsDir: string;
  /** The settings that turn recording on and cap its size. */
  settings: () => Pick<Settings, 'voiceRecording' | 'voiceRecordingCapMiB' | 'voiceSpeculation' | 'voiceEarlyMarkMs' | 'voiceWindowMinMs' | 'voiceWindowMaxMs'>;
  gateway: GatewayTarget;
  /** Told which models each live session holds (the scheduler never stops their services). */
  usage?: { hold(owner: object, models: string[]): void; release(owner: object): void };
  /** What voice.plan and voice.setup read and call (the voice config is the feature's own). */
  setup: Omit<VoiceSetupDeps, 'config'>;
  /** `/v1/realtime`: /v1's auth and CORS rules, and the session limits (settings). */
  realtime?: {
    authorize(req: IncomingMessage): boolean;
    originAllowed(origin: string | undefined): boolean;
    limits(): { maxSessions: number; idleMs: number };
  };
}

/** Handles an HTTP upgrade already checked for Host, Origin and the token; false: not ours. */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer, url: URL) => boolean;

export interface VoiceFeature extends Feature {
  readonly calls: VoiceApi;
  close(): void;
}

/** The speculation settings as a session takes them (read when a session opens). */
function speculationOf(s: Pick<Settings, 'voiceSpeculation' | 'voiceEarlyMarkMs' | 'voiceWindowMinMs' | 'voiceWindowMaxMs'>): SpeculationOptions | false {
  return s.voiceSpeculation ? { earlyMarkMs: s.voiceEarlyMarkMs, minWindowMs: s.voiceWindowMinMs, maxWindowMs: s.voiceWindowMaxMs } : false;
}

const notFound = (id: string) => new AimaError('not-found', `No voice conversation with id "${id}".`, 'List them with `voice.conversations.list`.');

export function createVoiceFeature(opts: VoiceFeatureOptions): VoiceFeature {
  const repo = new VoiceRepo(opts.db);
  const setup = createVoiceSetup({ ...opts.setup, config: { get: () => repo.config(), set: (patch) => repo.setConfig(patch) } });
  const vadModelPath = path.join(opts.appRoot, 'resources', 'voice', 'silero_vad.onnx');
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4 * 1024 * 1024 });
  const sockets = new Set<WebSocket>();
  // Realtime clients offer subprotocols (`realtime`, the browser's key): the answer names one.
  const realtimeWss = new WebSocketServer({ noServer: true, maxPayload: REALTIME_MAX_EVENT_BYTES * 4, handleProtocols: (offered) => chooseSubprotocol(offered) });
  const realtimeSockets = new Set<WebSocket>();
  const recordings = new RecordingStore(opts.recordingsDir);
  const MiB = 1024 * 1024;

  const detail = (id: string) => {
    const c = repo.get(id);
    return c ? { ...c, turns: repo.turns(id) } : null;
  };

  /** Removes the oldest recordings until the rest fits the cap (the turn just written stays). */
  const enforceCap = (keep: string | null) => {
    const capBytes = opts.settings().voiceRecordingCapMiB * MiB;
    // The sum is one aggregate query; the list of every recorded turn is read only when over the cap.
    if (repo.recordingUsage().bytes <= capBytes) return;
    for (const t of recordingsOverCap(repo.recordedTurns(), capBytes, keep)) {
      recordings.removeTurn(t.conversationId, t.turnId);
      repo.setRecording(t.turnId, null);
    }
  };

  // A lowered cap applies at once, not only at the next recorded turn.
  const offSettings = opts.setup.events.on('settings.changed', () => {
    try {
      enforceCap(null);
    } catch (err) {
      console.error(`aima: voice: applying the recordings' size cap failed: ${(err as Error).message}`);
    }
  });

  /** Stores a finished turn, and its audio when recording is on. */
  const saveTurn = (conversationId: string, t: Parameters<VoiceRepo['addTurn']>[1], audio: TurnAudio | null): string => {
    const turn = repo.addTurn(conversationId, t);
    if (audio && opts.settings().voiceRecording) {
      try {
        repo.setRecording(turn.id, recordings.write(conversationId, turn.id, audio));
        enforceCap(turn.id);
      } catch (err) {
        // The turn itself is stored; only its audio is lost (e.g. a full disk).
        recordings.removeTurn(conversationId, turn.id);
        repo.setRecording(turn.id, null);
        console.error(`aima: voice: the audio of turn ${turn.id} could not be recorded: ${(err as Error).message}`);
      }
    }
    return turn.id;
  };

  const chainOf = (c: { asr: string | null; llm: string | null; tts: string | null; voice: string | null; systemPrompt: string }, overrides: Partial<VoiceChain> = {}): VoiceChain => {
    const cfg = repo.config();
    const chain = {
      asr: overrides.asr ?? c.asr ?? cfg.asr,
      llm: overrides.llm ?? c.llm ?? cfg.llm,
      tts: overrides.tts ?? c.tts ?? cfg.tts,
      voice: overrides.voice !== undefined ? overrides.voice : (c.voice ?? cfg.voice),
      systemPrompt: overrides.systemPrompt ?? (c.systemPrompt || cfg.systemPrompt),
      silenceMs: overrides.silenceMs ?? cfg.silenceMs,
      maxTokens: overrides.maxTokens ?? cfg.maxTokens,
    };
    for (const k of ['asr', 'llm', 'tts'] as const) {
      if (!chain[k]) throw new AimaError('bad-request', `No ${k.toUpperCase()} model is set for voice.`, 'Set up the chain on the Voice page, or with `aima voice setup` (voice.setup).');
    }
    return chain as VoiceChain;
  };

  const api: VoiceApi = {
    'voice.config.get': async () => repo.config(),
    'voice.config.set': async (patch) => repo.setConfig(patch),
    'voice.conversations.list': async () => repo.list(),
    'voice.conversations.get': async ({ id }) => detail(id) ?? Promise.reject(notFound(id)),
    'voice.conversations.create': async (p) => {
      const cfg = repo.config();
      return repo.create({
        title: p.title ?? '',
        systemPrompt: p.systemPrompt ?? cfg.systemPrompt,
        asr: p.asr ?? cfg.asr,
        llm: p.llm ?? cfg.llm,
        tts: p.tts ?? cfg.tts,
        voice: p.voice ?? cfg.voice,
      });
    },
    'voice.conversations.delete': async ({ id }) => {
      const deleted = repo.delete(id);
      if (deleted) recordings.removeConversation(id);
      return { deleted };
    },
    'voice.conversations.export': async ({ id, dir }) => {
      const c = detail(id);
      if (!c) throw notFound(id);
      if (!path.isAbsolute(dir)) throw new AimaError('bad-request', `The export folder must be an absolute path (got "${dir}").`, 'Give the full path, e.g. /home/me/voice-export.');
      const files = conversationExportFiles(c, recordings);
      try {
        for (const f of files) {
          mkdirSync(path.dirname(path.join(dir, f.name)), { recursive: true });
          writeFileSync(path.join(dir, f.name), f.data);
        }
      } catch (err) {
        throw new AimaError('bad-request', `Could not write the export into ${dir}: ${(err as Error).message}`, 'Choose a folder you can write to.');
      }
      return { dir, files: files.map((f) => f.name) };
    },
    'voice.recordings.read': async ({ conversationId, turnId, side }) => {
      const file = recordings.resolve(conversationId, voiceRecordingFile(turnId, side));
      const data = file ? await readFile(file).catch(() => null) : null;
      if (!data) throw new AimaError('not-found', `No ${side} recording of turn ${turnId} in conversation ${conversationId}.`, 'Recording was off for that turn, or the size cap removed it (see voice.recordings.usage).');
      return { mime: 'audio/flac' as const, base64: data.toString('base64') };
    },
    'voice.recordings.usage': async () => {
      const s = opts.settings();
      return { enabled: s.voiceRecording, ...repo.recordingUsage(), capBytes: Math.round(s.voiceRecordingCapMiB * MiB), dir: opts.recordingsDir };
    },
    'voice.plan': (p) => setup.plan(p),
    'voice.setup': (p) => setup.setup(p),
  };

  const upgrade: UpgradeHandler = (req, socket, head, url) => {
    if (url.pathname !== '/api/voice') return false;
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => {
        sockets.delete(ws);
        opts.usage?.release(ws);
      });
      serveVoiceSocket(ws, {
        vadModelPath,
        gateway: opts.gateway,
        speculation: speculationOf(opts.settings()),
        open(start) {
          const persist = start.persist ?? true;
          let conversation = start.conversationId ? repo.get(start.conversationId) : null;
          if (start.conversationId && !conversation) throw notFound(start.conversationId);
          const base = conversation ?? { ...repo.config(), asr: null, llm: null, tts: null, voice: null, systemPrompt: '' };
          const chain = chainOf(base, start.chain);
          opts.usage?.hold(ws, [chain.asr, chain.llm, chain.tts]);
          const history: ChatMessage[] = [];
          if (conversation) {
            for (const t of repo.turns(conversation.id)) {
              history.push({ role: 'user', content: t.user });
              if (t.assistant) history.push({ role: 'assistant', content: t.assistant });
            }
          }
          if (!conversation && persist) {
            conversation = repo.create({ title: '', systemPrompt: chain.systemPrompt, asr: chain.asr, llm: chain.llm, tts: chain.tts, voice: chain.voice });
          }
          const id = conversation?.id ?? null;
          return {
            conversationId: id,
            chain,
            history,
            save: id && persist ? (t, audio) => saveTurn(id, t, audio) : undefined,
            record: opts.settings().voiceRecording,
          };
        },
      });
    });
    return true;
  };

  /** `/v1/realtime?model=NAME`: admitted (Origin, auth, the session cap, the chain) before the handshake. */
  const realtimeUpgrade: UpgradeHandler = (req, socket, head, url) => {
    if (url.pathname !== '/v1/realtime' || !opts.realtime) return false;
    const access = opts.realtime;
    const limits = access.limits();
    const model = url.searchParams.get('model');
    let chain: VoiceChain | null = null;
    let chainProblem: string | null = null;
    try {
      if (model) chain = chainOf({ ...repo.config(), asr: null, llm: null, tts: null, voice: null, systemPrompt: '' }, model === 'default' ? {} : { llm: model });
    } catch (err) {
      chainProblem = `${(err as AimaError).message} ${(err as AimaError).fix ?? ''}`.trim();
    }
    const verdict = admitRealtime({
      originAllowed: access.originAllowed(req.headers.origin),
      origin: req.headers.origin,
      authorized: access.authorize(req),
      model,
      sessions: realtimeSockets.size,
      maxSessions: limits.maxSessions,
      chainProblem,
    });
    if (!verdict.ok) {
      socket.end(refusalResponse(verdict));
      return true;
    }
    const beta = wantsBeta(req.headers['openai-beta'], req.headers['sec-websocket-protocol']);
    realtimeWss.handleUpgrade(req, socket, head, (ws) => {
      realtimeSockets.add(ws);
      opts.usage?.hold(ws, [chain!.asr, chain!.llm, chain!.tts]);
      ws.on('close', () => {
        realtimeSockets.delete(ws);
        opts.usage?.release(ws);
      });
      let conversationId: string | null = null;
      serveRealtimeSocket(ws, {
        vadModelPath,
        gateway: opts.gateway,
        speculation: speculationOf(opts.settings()),
        chain: chain!,
        model: model!,
        beta,
        idleMs: limits.idleMs,
        // The Voice page lists Realtime sessions as conversations of their own, created at their first turn.
        save: (t) => {
          conversationId ??= repo.create({ title: `Realtime · ${model}`, systemPrompt: chain!.systemPrompt, asr: chain!.asr, llm: chain!.llm, tts: chain!.tts, voice: chain!.voice }).id;
          repo.addTurn(conversationId, t);
        },
      });
    });
    return true;
  };

  return {
    calls: api,
    upgrades: [upgrade, realtimeUpgrade],
    // Files no stored turn owns (a core stopped half way through a delete or a write) go at start.
    async startup() {
      try {
        recordings.sweep(repo.recordingFiles());
      } catch (err) {
        console.error(`aima: voice: sweeping the recordings folder failed: ${(err as Error).message}`);
      }
    },
    apiRoutes: recordingRoutes({ store: recordings, conversation: detail }),
    close() {
      offSettings();
      for (const ws of [...sockets, ...realtimeSockets]) ws.terminate();
      realtimeWss.close();
      wss.close();
    },
  };
}
