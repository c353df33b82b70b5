/**
 * What the gateway routes to: every model reachable through `/v1`, whether served by a local
 * service (embedded worker, native process, container) or a remote OpenAI-compatible endpoint the
 * user registered. The services layer and the remotes store each provide entries.
 */

export type RouteState = 'running' | 'starting' | 'loading' | 'stopped' | 'failed' | 'crashed' | 'backoff' | 'stopping' | 'degraded';

export interface RoutableModel {
  /** The `model` id clients send. */
  id: string;
  aliases: string[];
  kind: 'llm' | 'asr' | 'tts' | 'embedding' | 'vad';
  owner: { type: 'service'; service: string } | { type: 'remote'; remote: string };
  state: RouteState;
  /** Why it is not running, when it is not. */
  reason?: string;
  /** Base URL that `/v1/...` paths are appended to (no trailing slash), e.g. http://127.0.0.1:5001. */
  baseUrl: string | null;
  /** Model id to send upstream (remotes may name models differently). */
  upstreamModel: string;
  apiKey?: string;
  /** PEM of the CA to trust for an https upstream instead of the system's (an engine on another node, signed by the install CA). */
  upstreamCa?: string;
  /** Parallel requests the upstream takes; the gateway queues the rest. */
  concurrency: number;
  /**
   * Every service that serves this model, this entry's own included, in any state: the gateway
   * sends each request to the running one with the fewest requests in flight. Absent for a
   * model with one upstream (a remote's model).
   */
  replicas?: RoutableModel[];
}

export interface ModelDirectory {
  list(): RoutableModel[];
  /** By id or alias. */
  resolve(model: string): RoutableModel | null;
  /** Starts the owning service and resolves when it is running (start on demand). */
  start?(model: RoutableModel, signal: AbortSignal): Promise<RoutableModel>;
}
