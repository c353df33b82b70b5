/**
 * How long a request takes once it holds a slot, per model and endpoint, as an exponential moving
 * average of recent service times; and from it, how long a waiting request will wait. Pure: the
 * gateway records samples and asks for estimates.
 */

/** Weight of the newest sample: 0.3 follows a change within a few requests without chasing every outlier. */
export const EMA_ALPHA = 0.3;
/** The average is trusted once this many samples exist; before that the endpoint's default answers. */
export const EMA_MIN_SAMPLES = 3;

/**
 * Service time assumed before a model has samples of its own (ms). Chat and completions are the
 * long ones (a few hundred tokens on a small model); embeddings and the voice list are quick;
 * transcription and speech take about as long as a short utterance.
 */
export const DEFAULT_SERVICE_MS: Readonly<Record<string, number>> = {
  '/v1/chat/completions': 5000,
  '/v1/completions': 5000,
  '/v1/responses': 5000,
  '/v1/messages': 5000,
  '/v1/embeddings': 250,
  '/v1/audio/transcriptions': 2000,
  '/v1/audio/translations': 2000,
  '/v1/audio/speech': 2000,
  '/v1/audio/voices': 50,
};
/** For an endpoint missing from {@link DEFAULT_SERVICE_MS}. */
export const FALLBACK_SERVICE_MS = 2000;

export interface EmaState {
  samples: number;
  /** The average so far (the first sample seeds it). */
  ema: number;
}

/** The average after one more sample: ema' = alpha * sample + (1 - alpha) * ema. */
export function emaNext(state: EmaState | undefined, sampleMs: number, alpha = EMA_ALPHA): EmaState {
  if (!state || state.samples === 0) return { samples: 1, ema: sampleMs };
  return { samples: state.samples + 1, ema: alpha * sampleMs + (1 - alpha) * state.ema };
}

/** The service time to plan with: the average once it has {@link EMA_MIN_SAMPLES} samples, else the endpoint's default. */
export function serviceEstimateMs(state: EmaState | undefined, endpoint: string): number {
  if (state && state.samples >= EMA_MIN_SAMPLES) return state.ema;
  return DEFAULT_SERVICE_MS[endpoint] ?? FALLBACK_SERVICE_MS;
}

/**
 * Expected wait of the request at 1-based `position` in a queue served by `slots` parallel slots
 * (the sum over the model's running replicas): the requests ahead leave in rounds of `slots`, each
 * round one service time long, so the wait is ceil(position / slots) rounds. With no slot running
 * there is no basis for an estimate: null.
 */
export function queueEtaMs(position: number, slots: number, serviceMs: number): number | null {
  if (slots <= 0 || position <= 0) return null;
  return Math.ceil(position / slots) * serviceMs;
}

/** Service-time averages keyed by model and endpoint. */
export class ServiceTimes {
  private readonly states = new Map<string, EmaState>();

  record(model: string, endpoint: string, ms: number): void {
    const key = `${model}\0${endpoint}`;
    this.states.set(key, emaNext(this.states.get(key), ms));
    if (this.states.size > 10_000) this.states.delete(this.states.keys().next().value!); // bounded
  }

  estimateMs(model: string, endpoint: string): number {
    return serviceEstimateMs(this.states.get(`${model}\0${endpoint}`), endpoint);
  }

  /** Every average, for the API and metrics. */
  list(): { model: string; endpoint: string; samples: number; emaMs: number; estimateMs: number }[] {
    return [...this.states].map(([key, s]) => {
      const [model, endpoint] = key.split('\0') as [string, string];
      return { model, endpoint, samples: s.samples, emaMs: Math.round(s.ema), estimateMs: Math.round(serviceEstimateMs(s, endpoint)) };
    });
  }
}
