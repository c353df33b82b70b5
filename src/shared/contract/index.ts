/**
 * The API contract: every call (request -> response) and event that the UI and the CLI use, each
 * with a zod schema. Adapters (Electron IPC, HTTP + WebSocket, the CLI's client) take their types
 * from these maps, so adding a call means adding it here and implementing it in the core.
 */
import { z } from 'zod';
import { ApiKeyCreated, ApiKeyCreateParams, ApiKeyInfo, ApiKeyRevokeParams, GatewayPageAccess, GatewayQueue, ModelQueueState, RemoteAddParams, RemoteEndpoint, RemoteRef, RequestRecord, RequestsParams } from './gateway.js';
import { defineCall, type CallSpec } from './define.js';
import { CoreInfo } from './core.js';
import { HardwareReport, HardwareSample, HardwareUnwatch, HardwareUnwatchParams, HardwareWatch, HardwareWatchParams, ModelFit, ModelFitParams } from './hardware.js';
import { Settings, SettingsPatch } from './settings.js';
import { ServerListenParams, ServerStatus } from './server.js';
import { ModelImportParams, ModelRef, ModelRemoveResult, ModelRenameParams, ModelSummary } from './models.js';
import { NodeAddParams, NodeListParams, NodeRef, NodeRemoveResult, NodeSetParams, NodeSummary } from './nodes.js';
import { OperationCancelParams, OperationCancelResult, OperationProgress } from './operations.js';
import {
  EngineList,
  ServiceCreateParams,
  ServiceLogEvent,
  ServiceLogs,
  ServiceLogsParams,
  ServicePlan,
  ServicePlanChain,
  ServicePlanChainParams,
  ServicePlanParams,
  ServiceRef,
  ServiceRemoveResult,
  ServiceScaleParams,
  ServiceScaleResult,
  ServiceStartParams,
  ServiceStopParams,
  ServiceSummary,
  ServiceUpdateParams,
} from './services.js';
import {
  DownloadCancelResult,
  DownloadRef,
  DownloadStartParams,
  DownloadSummary,
  HubFiles,
  HubFilesParams,
  HubModelHit,
  HubSearchParams,
  HubTokenParams,
  HubTokenStatus,
  StarterModel,
} from './downloads.js';
import {
  VoiceConfig,
  VoiceConfigPatch,
  VoiceConversation,
  VoiceConversationCreateParams,
  VoiceConversationExportParams,
  VoiceConversationExportResult,
  VoiceRecordingUsage,
  VoiceRecordingReadParams,
  VoiceRecordingData,
  VoiceConversationDeleteResult,
  VoiceConversationDetail,
  VoiceConversationRef,
  VoicePlan,
  VoicePlanParams,
  VoiceSetupParams,
  VoiceSetupResult,
} from './voice.js';

const Empty = z.object({}).strict();

export const calls = {
  'core.info': defineCall(Empty, CoreInfo, 'Where the core runs and which data directory it owns'),
  'settings.get': defineCall(Empty, Settings, 'All settings, with defaults filled in'),
  'settings.update': defineCall(SettingsPatch, Settings, 'Change some settings; returns all of them'),

  'models.list': defineCall(Empty, z.array(ModelSummary), 'Every imported model'),
  'models.get': defineCall(ModelRef, ModelSummary, 'One model by name'),
  'models.import': defineCall(ModelImportParams, ModelSummary, 'Import a model file or folder (link in place, or copy into the data directory)'),
  'models.rename': defineCall(ModelRenameParams, ModelSummary, 'Rename a model'),
  'models.remove': defineCall(ModelRef, ModelRemoveResult, 'Remove a model from the library (deletes files only for copies)'),

  'operations.cancel': defineCall(OperationCancelParams, OperationCancelResult, 'Cancel a running long operation'),

  'services.list': defineCall(Empty, z.array(ServiceSummary), 'Every service with its live state'),
  'services.get': defineCall(ServiceRef, ServiceSummary, 'One service by name'),
  'services.create': defineCall(ServiceCreateParams, ServiceSummary, 'Create a service: a model on an engine, device and port (does not start it)'),
  'services.start': defineCall(ServiceStartParams, ServiceSummary, 'Start a service; with wait, resolve once it is running or has failed'),
  'services.stop': defineCall(ServiceStopParams, ServiceSummary, 'Stop a service (SIGTERM, then SIGKILL after the grace period; force: SIGKILL now)'),
  'services.restart': defineCall(ServiceStartParams, ServiceSummary, 'Stop and start a service'),
  'services.remove': defineCall(ServiceRef, ServiceRemoveResult, 'Stop and delete a service'),
  'services.scale': defineCall(ServiceScaleParams, ServiceScaleResult, 'Run N services for a model: the service and N - 1 replicas (added ones start when it runs; removed ones go highest-numbered first)'),
  'services.logs': defineCall(ServiceLogsParams, ServiceLogs, 'The last lines of a service log'),
  'services.update': defineCall(ServiceUpdateParams, ServiceSummary, "Change a service's idle TTL or pinning (only the fields given)"),
  'services.plan': defineCall(ServicePlanParams, ServicePlan, 'Where a service would be placed now and what would stop first, without starting anything'),
  'services.planChain': defineCall(ServicePlanChainParams, ServicePlanChain, 'Where several services (that need not exist yet) would be placed, one after another, without starting anything'),
  'engines.list': defineCall(Empty, EngineList, 'The engine catalog, with whether each engine can run here'),

  // Nodes: Docker engines services may run on (the local one and other machines').
  'nodes.list': defineCall(NodeListParams, z.array(NodeSummary), 'Every node (the local engine first) with reachability, Docker version, CPU/RAM, GPUs and the NVIDIA runtime'),
  'nodes.add': defineCall(NodeAddParams, NodeSummary, "Add another machine's Docker engine as a node (its TLS files and connection are checked first; nothing is saved on a refusal)"),
  'nodes.set': defineCall(NodeSetParams, NodeSummary, "Change a node's settings (`local` too): its cluster address and interface for services across nodes (only the fields given)"),
  'nodes.remove': defineCall(NodeRef, NodeRemoveResult, 'Forget a node and its credentials (refused while services are on it)'),

  // Downloads: Hugging Face Hub search/listing and resumable, verified downloads.
  'hub.search': defineCall(HubSearchParams, z.array(HubModelHit), 'Search models on the Hugging Face Hub (HF_ENDPOINT)'),
  'hub.files': defineCall(HubFilesParams, HubFiles, "A Hub repository's files with sizes, GGUF quantizations grouped"),
  'hub.starters': defineCall(Empty, z.array(StarterModel), 'Recommended starter models for the voice chain'),
  'hub.tokenStatus': defineCall(Empty, HubTokenStatus, 'Whether a Hugging Face token is set, and where it is kept'),
  'hub.setToken': defineCall(HubTokenParams, HubTokenStatus, 'Store (or with null, forget) the Hugging Face token for gated repositories'),
  'downloads.start': defineCall(DownloadStartParams, DownloadSummary, 'Download files of a Hub repository (resumes an unfinished download of the same files)'),
  'downloads.list': defineCall(Empty, z.array(DownloadSummary), 'Every download that is not cancelled'),
  'downloads.pause': defineCall(DownloadRef, DownloadSummary, 'Pause a download (partial files are kept)'),
  'downloads.resume': defineCall(DownloadRef, DownloadSummary, 'Resume a paused or failed download where it stopped'),
  'downloads.cancel': defineCall(DownloadRef, DownloadCancelResult, 'Cancel a download and delete its partial files'),

  // Gateway: API keys, remote endpoints, recent requests.
  'keys.list': defineCall(Empty, z.array(ApiKeyInfo), 'API keys (names and prefixes; the keys themselves are never shown again)'),
  'keys.create': defineCall(ApiKeyCreateParams, ApiKeyCreated, 'Create an API key for /v1 and /api; the key is shown only in this answer'),
  'keys.revoke': defineCall(ApiKeyRevokeParams, ApiKeyInfo, 'Revoke an API key (by id or name)'),
  'server.status': defineCall(Empty, ServerStatus, 'Where the core listens: the address, the URLs other machines use, the HTTPS certificate'),
  'server.listen': defineCall(ServerListenParams, ServerStatus, 'Bind the listener to another address (saved for the next start) without restarting the services'),
  'remotes.list': defineCall(Empty, z.array(RemoteEndpoint), 'Remote OpenAI-compatible endpoints routed by the gateway'),
  'remotes.add': defineCall(RemoteAddParams, RemoteEndpoint, 'Register a remote OpenAI-compatible endpoint and the models it serves'),
  'remotes.remove': defineCall(RemoteRef, RemoteEndpoint, 'Forget a remote endpoint (and its key)'),
  'gateway.requests': defineCall(RequestsParams, z.array(RequestRecord), 'The most recent gateway requests with their timings'),
  'gateway.queue': defineCall(Empty, GatewayQueue, 'Requests waiting per model, with their position and ETA, and the service times behind the ETAs'),
  'gateway.pageAccess': defineCall(Empty, GatewayPageAccess, "The desktop page's credential for /v1 (only /v1: /api refuses it), valid while this core runs"),

  // Hardware: detection, telemetry behind a renewable watch lease, fit estimates.
  'hardware.report': defineCall(Empty, HardwareReport, 'GPUs (with each probe), CPU, RAM, OS, disk at the data directory, and Docker'),
  'hardware.watch': defineCall(HardwareWatchParams, HardwareWatch, 'Open or renew a telemetry lease: hardware.sample arrives at 1 Hz while any lease lives'),
  'hardware.unwatch': defineCall(HardwareUnwatchParams, HardwareUnwatch, 'Close a telemetry lease (sampling stops when none is left)'),
  'models.fit': defineCall(ModelFitParams, ModelFit, 'Will this model fit: where it runs, why, what to change, and the numbers'),

  // Voice: the default ASR → LLM → TTS chain and conversations; live audio is /api/voice.
  'voice.config.get': defineCall(Empty, VoiceConfig, 'The voice chain: ASR, LLM and TTS models, voice, system prompt, silence window'),
  'voice.config.set': defineCall(VoiceConfigPatch, VoiceConfig, 'Change the voice chain; returns all of it'),
  'voice.conversations.list': defineCall(Empty, z.array(VoiceConversation), 'Voice conversations, newest first'),
  'voice.conversations.get': defineCall(VoiceConversationRef, VoiceConversationDetail, 'One voice conversation with its turns'),
  'voice.conversations.create': defineCall(VoiceConversationCreateParams, VoiceConversation, 'Start a voice conversation (models default to the voice chain)'),
  'voice.conversations.delete': defineCall(VoiceConversationRef, VoiceConversationDeleteResult, 'Delete a voice conversation, its turns and its recorded audio'),
  'voice.conversations.export': defineCall(VoiceConversationExportParams, VoiceConversationExportResult, "Write a conversation into a folder on the core's machine: recorded audio (FLAC), transcript.txt and conversation.json with every turn's timeline"),
  'voice.recordings.read': defineCall(VoiceRecordingReadParams, VoiceRecordingData, 'One recorded side of a turn as base64 FLAC (for the desktop page; browsers use GET /api/voice/recordings/...)'),
  'voice.recordings.usage': defineCall(Empty, VoiceRecordingUsage, 'Space the recorded voice turns take, against the voiceRecordingCapMiB setting'),
  'voice.plan': defineCall(VoicePlanParams, VoicePlan, 'Plan the voice chain: each link, its device and memory, the total against what is free, and what else holds the GPU'),
  'voice.setup': defineCall(VoiceSetupParams, VoiceSetupResult, 'Set up the voice chain: import, create and start its services as planned (refused when it does not fit, unless forced)'),
} satisfies Record<string, CallSpec<z.ZodType, z.ZodType>>;

export const events = {
  'settings.changed': Settings,
  'models.changed': z.array(ModelSummary),
  'operation.progress': OperationProgress,
  'services.changed': z.array(ServiceSummary),
  'services.log': ServiceLogEvent,
  /** A node was added or removed, or its reachability changed. */
  'nodes.changed': z.array(NodeSummary),
  /** One download changed (progress ~4 times a second, or a state change). */
  'download.progress': DownloadSummary,
  /** GPU telemetry at 1 Hz while a hardware.watch lease lives. */
  'hardware.sample': HardwareSample,
  /** One finished gateway request, for the live Requests view. */
  'gateway.request': RequestRecord,
  /** A model's waiting requests changed: positions and ETAs, live. */
  'gateway.queue': ModelQueueState,
} satisfies Record<string, z.ZodType>;

export type Calls = typeof calls;
export type CallName = keyof Calls;
export type CallParams<K extends CallName> = z.input<Calls[K]['params']>;
export type CallResult<K extends CallName> = z.output<Calls[K]['result']>;

export type Events = typeof events;
export type EventName = keyof Events;
/** Every event name, in declaration order: what an adapter that forwards all events subscribes to. */
export const eventNames = Object.keys(events) as EventName[];
export type EventPayload<K extends EventName> = z.output<Events[K]>;

/** The core's API as an object of async functions: implemented in-process and by every client. */
export type CoreApi = { [K in CallName]: (params: CallParams<K>) => Promise<CallResult<K>> };

/** A generic way in: what the IPC bridge, the HTTP client and the router all speak. */
export interface ApiTransport {
  invoke<K extends CallName>(name: K, params: CallParams<K>): Promise<CallResult<K>>;
  on<K extends EventName>(name: K, listener: (payload: EventPayload<K>) => void): () => void;
}

export function isCallName(name: string): name is CallName {
  return Object.hasOwn(calls, name);
}
export function isEventName(name: string): name is EventName {
  return Object.hasOwn(events, name);
}

export * from './core.js';
export * from './settings.js';
export * from './server.js';
export * from './gateway.js';
export * from './models.js';
export * from './operations.js';
export * from './services.js';
export * from './nodes.js';
export * from './downloads.js';
export * from './hardware.js';
export * from './voice.js';
export * from './voice-socket.js';
