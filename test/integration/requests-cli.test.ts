/**
 * `aima requests` while a request waits (real `aima serve`, a real engine process with one slot
 * held by another client): the waiting request with its position and ETA, in text and JSON, and
 * the waited time as a response header once it is served.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { aimaBin, runAima, startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { waitFor } from '../support/services.js';
import { writeFakeEngine } from '../support/services.js';

let serve: ServeHandle;
let home: string;
const aima = (...args: string[]) => runAima(args, { AIMA_HOME: home });

beforeAll(async () => {
  home = tempHome();
  // Each streamed answer takes about 2 s (200 chunks, 10 ms apart).
  writeFakeEngine(home, 'slow', ['--tokens', '200', '--token-ms', '10']);
  serve = await startServe({ AIMA_HOME: home });
  for (const args of [
    ['service', 'create', 'slowchat', '--engine', 'slow'],
    ['service', 'start', 'slowchat', '--wait'],
  ]) {
    const r = await aima(...args);
    if (r.code !== 0) throw new Error(r.stderr);
  }
}, 60_000);
afterAll(async () => {
  await serve?.stop();
});

const chat = (id: string) =>
  fetch(`${serve.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${serve.token}`, 'x-request-id': id },
    body: JSON.stringify({ model: 'slowchat', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  });

describe('aima requests', () => {
  it('lists a waiting request with its position and ETA; the served request carries the wait in its headers', async () => {
    const first = await chat('first');
    expect(first.headers.get('x-aima-queue-position')).toBe('0');
    const firstDone = first.text();
    const second = chat('second-one');
    await new Promise((r) => setTimeout(r, 300));

    const text = await aima('requests');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/waiting {2}slowchat +\/v1\/chat\/completions +position 1 of 1, about 5 s \(waited \d+\.\d s; 1 in flight on 1 replica\) {2}id second-one/);
    const json = await aima('requests', '--json');
    const parsed = JSON.parse(json.stdout) as { waiting: { model: string; waiting: { clientId: string; position: number; etaMs: number }[] }[] };
    expect(parsed.waiting).toHaveLength(1);
    expect(parsed.waiting[0]).toMatchObject({ model: 'slowchat', waiting: [{ clientId: 'second-one', position: 1, etaMs: 5000 }] });

    await firstDone;
    const res = await second;
    expect(res.status).toBe(200);
    await res.text();
    expect(res.headers.get('x-aima-queue-position')).toBe('1');
    // It waited for the rest of the first stream: most of its ~2 s.
    const waited = Number(res.headers.get('x-aima-queue-wait-ms'));
    expect(waited).toBeGreaterThan(800);
    expect(waited).toBeLessThan(20_000);

    const after = await aima('requests');
    expect(after.stdout).not.toMatch(/waiting/);
    expect(after.stdout).toMatch(/200 +\/v1\/chat\/completions +slowchat .* queued \d+ ms/);
  });

  it('-f prints the queue as it changes and each finished request, until Ctrl+C', async () => {
    const follow = spawn(process.execPath, [aimaBin, 'requests', '-f'], { env: { ...process.env, AIMA_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    follow.stdout.on('data', (d) => (out += d));
    follow.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => follow.once('exit', (code) => r(code)));
    try {
      await waitFor(() => err.includes('Following waiting and finished requests'), 'the follow to subscribe', 15_000);
      const first = await chat('f-first');
      const firstDone = first.text();
      const second = chat('f-second');
      await waitFor(() => /waiting {2}slowchat .*position 1 of 1.*id f-second/.test(out), 'the waiting line', 10_000);
      await firstDone;
      await (await second).text();
      await waitFor(() => /queue {2}slowchat: nobody waiting/.test(out) && (out.match(/200 +\/v1\/chat\/completions/g) ?? []).length >= 2, 'the queue emptied and both requests printed', 10_000);
    } finally {
      follow.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  });
});
