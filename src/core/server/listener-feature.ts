/**
 * The listener's calls: `server.status` (where the core listens, the URLs other machines use, the
 * HTTPS certificate) and `server.listen` (bind another address without restarting the services).
 * The host that runs the HTTP server attaches itself here; a core opened without one (tests,
 * tools) answers that no listener is attached.
 */
import type { CoreApi, ServerListenParams, ServerStatus } from '../../shared/contract/index.js';
import { AimaError } from '../../shared/errors.js';
import type { Feature } from '../feature.js';

/** What the host does for these calls. */
export interface ListenerControl {
  status(): ServerStatus;
  listen(params: ServerListenParams): Promise<ServerStatus>;
}

export interface ListenerFeature extends Feature {
  readonly calls: Pick<CoreApi, 'server.status' | 'server.listen'>;
  attach(control: ListenerControl | null): void;
}

export function createListenerFeature(): ListenerFeature {
  let control: ListenerControl | null = null;
  const need = (): ListenerControl => {
    if (!control) throw new AimaError('unavailable', 'This core runs without an HTTP listener.', 'Start it with `aima serve` or the desktop app.');
    return control;
  };
  return {
    attach(c) {
      control = c;
    },
    calls: {
      'server.status': async () => need().status(),
      'server.listen': async (params) => need().listen(params),
    },
    close() {
      control = null;
    },
  };
}
