/**
 * The voice feature: the voice.* calls (chain settings, conversations) and the `/api/voice`
 * WebSocket upgrade that runs live sessions (the HTTP host mounts it after its Host/Origin/token
 * checks, as it mounts every feature's upgrades).
 */
import path from 'node:path';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { CoreApi, VoiceChain } from '../../shared/contract/index.js';
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

export type VoiceApi = Pick<
  CoreApi,
  | 'voice.config.get'
  | 'voice.config.set'
  | 'voice.conversations.list'
  | 'voice.conversations.get'
  | 'voice.conversations.create'
  | 'voice.conversations.delete'
  | 'voice.plan'
  | 'voice.setup'
>;

export interface VoiceFeatureOptions {
  db: Db;
  appRoot: string;
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
    'voice.conversations.get': async ({ id }) => {
      const c = repo.get(id);
      if (!c) throw notFound(id);
      return { ...c, turns: repo.turns(id) };
    },
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
    'voice.conversations.delete': async ({ id }) => ({ deleted: repo.delete(id) }),
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
            save: id && persist ? (t) => repo.addTurn(id, t).id : undefined,
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
    close() {
      for (const ws of [...sockets, ...realtimeSockets]) ws.terminate();
      realtimeWss.close();
      wss.close();
    },
  };
}
