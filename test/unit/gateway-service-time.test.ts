/** The service-time average and the queue ETA: pure arithmetic, checked against hand-computed values. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_SERVICE_MS, EMA_ALPHA, EMA_MIN_SAMPLES, emaNext, queueEtaMs, serviceEstimateMs, ServiceTimes, type EmaState } from '../../src/core/gateway/service-time.js';

describe('emaNext', () => {
  it('the first sample seeds the average; each next one weighs alpha = 0.3', () => {
    expect(EMA_ALPHA).toBe(0.3);
    let s: EmaState | undefined;
    s = emaNext(s, 100);
    expect(s).toEqual({ samples: 1, ema: 100 });
    s = emaNext(s, 400);
    expect(s.ema).toBeCloseTo(190, 9); // 0.3 * 400 + 0.7 * 100
    s = emaNext(s, 400);
    expect(s.ema).toBeCloseTo(253, 9); // 0.3 * 400 + 0.7 * 190
    expect(s.samples).toBe(3);
  });

  it('after a step it approaches the new level as 1 - 0.7^n, unlike the last sample', () => {
    let s: EmaState | undefined;
    for (let i = 0; i < 5; i++) s = emaNext(s, 100);
    for (let n = 1; n <= 5; n++) {
      s = emaNext(s, 400);
      expect(s.ema).toBeCloseTo(400 - 300 * 0.7 ** n, 6);
    }
  });
});

describe('serviceEstimateMs', () => {
  it('uses the endpoint default until 3 samples exist, the average after', () => {
    expect(EMA_MIN_SAMPLES).toBe(3);
    expect(serviceEstimateMs(undefined, '/v1/chat/completions')).toBe(DEFAULT_SERVICE_MS['/v1/chat/completions']);
    expect(serviceEstimateMs({ samples: 2, ema: 10 }, '/v1/embeddings')).toBe(DEFAULT_SERVICE_MS['/v1/embeddings']);
    expect(serviceEstimateMs({ samples: 3, ema: 10 }, '/v1/embeddings')).toBe(10);
    expect(serviceEstimateMs(undefined, '/v1/unknown')).toBe(2000);
  });
});

describe('queueEtaMs', () => {
  it.each<[number, number, number, number | null]>([
    [1, 1, 500, 500],
    [2, 1, 500, 1000],
    [1, 2, 500, 500],
    [2, 2, 500, 500],
    [3, 2, 500, 1000],
    [5, 4, 300, 600],
    [1, 0, 500, null],
  ])('position %i over %i slots at %i ms -> %s', (position, slots, ms, eta) => {
    expect(queueEtaMs(position, slots, ms)).toBe(eta);
  });
});

describe('ServiceTimes', () => {
  it('keeps one average per model and endpoint', () => {
    const t = new ServiceTimes();
    for (const ms of [100, 100, 100]) t.record('a', '/v1/chat/completions', ms);
    t.record('a', '/v1/embeddings', 5);
    t.record('b', '/v1/chat/completions', 900);
    expect(t.estimateMs('a', '/v1/chat/completions')).toBe(100);
    expect(t.estimateMs('a', '/v1/embeddings')).toBe(DEFAULT_SERVICE_MS['/v1/embeddings']);
    expect(t.estimateMs('b', '/v1/chat/completions')).toBe(DEFAULT_SERVICE_MS['/v1/chat/completions']);
    expect(t.list()).toContainEqual({ model: 'a', endpoint: '/v1/chat/completions', samples: 3, emaMs: 100, estimateMs: 100 });
  });
});
