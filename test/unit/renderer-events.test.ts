import { describe, expect, it } from 'vitest';
import { createRendererEvents, MAX_WAITING, type RendererTarget } from '../../src/main/renderer-events.js';
import type { EventName, EventPayload } from '../../src/shared/contract/index.js';
import { defaultSettings } from '../../src/shared/contract/index.js';
import { IPC_EVENT } from '../../src/shared/ipc-channels.js';

/** A webContents that records what main sends it. */
function fakeWindow(id: number) {
  const got: { name: string; payload: unknown }[] = [];
  let destroyed = false;
  const target: RendererTarget = {
    id,
    isDestroyed: () => destroyed,
    send: (channel, name, payload) => {
      expect(channel).toBe(IPC_EVENT);
      got.push({ name: name as string, payload });
    },
  };
  return { target, got, destroy: () => (destroyed = true) };
}

const sample = (at: number) => ({ type: 'sample', at }) as unknown as EventPayload<'hardware.sample'>;
const download = (id: string, bytesDone: number) => ({ id, bytesDone }) as unknown as EventPayload<'download.progress'>;
const log = (line: string) => ({ name: 'llm', line }) as unknown as EventPayload<'services.log'>;
const names = (got: { name: string }[]) => got.map((e) => e.name);

describe('renderer events', () => {
  it('holds an event sent before the renderer is ready and delivers it once it is', () => {
    const events = createRendererEvents();
    const w = fakeWindow(1);
    events.add(w.target);
    events.publish('settings.changed', defaultSettings);
    expect(w.got).toEqual([]);
    events.ready(1);
    expect(w.got).toEqual([{ name: 'settings.changed', payload: defaultSettings }]);
    events.publish('services.log', log('after'));
    expect(w.got.at(-1)).toEqual({ name: 'services.log', payload: log('after') });
    // A second ready (a repeated IPC_READY) sends nothing twice.
    events.ready(1);
    expect(w.got).toHaveLength(2);
  });

  it('keeps only the latest telemetry sample, and the latest progress per download, in the order they last changed', () => {
    const events = createRendererEvents();
    const w = fakeWindow(1);
    events.add(w.target);
    for (let at = 1; at <= 100; at++) events.publish('hardware.sample', sample(at));
    events.publish('download.progress', download('a', 1));
    events.publish('download.progress', download('b', 1));
    events.publish('services.log', log('one'));
    events.publish('download.progress', download('a', 2));
    events.publish('services.log', log('two'));
    events.ready(1);
    expect(w.got).toEqual([
      { name: 'hardware.sample', payload: sample(100) },
      { name: 'download.progress', payload: download('b', 1) },
      { name: 'services.log', payload: log('one') },
      { name: 'download.progress', payload: download('a', 2) },
      { name: 'services.log', payload: log('two') },
    ]);
  });

  it('holds at most MAX_WAITING events of the each-one-matters kind, dropping the oldest, without dropping state events', () => {
    const events = createRendererEvents();
    const w = fakeWindow(1);
    events.add(w.target);
    events.publish('services.changed', []);
    for (let i = 0; i < MAX_WAITING + 250; i++) events.publish('services.log', log(`line ${i}`));
    events.ready(1);
    expect(w.got).toHaveLength(MAX_WAITING + 1);
    expect(w.got[0]).toEqual({ name: 'services.changed', payload: [] });
    const lines = w.got.slice(1).map((e) => (e.payload as { line: string }).line);
    expect(lines[0]).toBe('line 250');
    expect(lines.at(-1)).toBe(`line ${MAX_WAITING + 249}`);
  });

  it('keeps each window’s queue apart, and forgets a window that is gone', () => {
    const events = createRendererEvents({ maxWaiting: 2 });
    const a = fakeWindow(1);
    const b = fakeWindow(2);
    events.add(a.target);
    events.add(b.target);
    events.ready(1);
    events.publish('gateway.request', { id: 'r1' } as unknown as EventPayload<'gateway.request'>);
    expect(names(a.got)).toEqual(['gateway.request']);
    expect(b.got).toEqual([]);
    events.remove(2);
    events.ready(2);
    expect(b.got).toEqual([]);
    // A destroyed webContents is not sent to (Electron would throw).
    a.destroy();
    events.publish('models.changed', []);
    expect(names(a.got)).toEqual(['gateway.request']);
  });

  it('has a rule for every event of the contract', async () => {
    const { events: contractEvents } = await import('../../src/shared/contract/index.js');
    const events = createRendererEvents();
    const w = fakeWindow(1);
    events.add(w.target);
    for (const name of Object.keys(contractEvents) as EventName[]) events.publish(name, { id: 'x' } as never);
    events.ready(1);
    expect(names(w.got).sort()).toEqual(Object.keys(contractEvents).sort());
  });
});
