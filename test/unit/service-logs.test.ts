import { describe, expect, it } from 'vitest';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LogFollower, rotateIfNeeded, tailLines } from '../../src/core/runtimes/native/log-file.js';

const tmpLog = () => path.join(mkdtempSync(path.join(os.tmpdir(), 'aima-log-')), 'svc.log');

describe('service log files', () => {
  it('rotates by copy-and-truncate past the limit, keeping 3 old files', () => {
    const file = tmpLog();
    for (let i = 1; i <= 5; i++) {
      writeFileSync(file, `generation ${i}\n`.repeat(100));
      expect(rotateIfNeeded(file, 1000, 3)).toBe(true);
      expect(statSync(file).size).toBe(0);
    }
    expect(readFileSync(`${file}.1`, 'utf8')).toMatch(/^generation 5/);
    expect(readFileSync(`${file}.3`, 'utf8')).toMatch(/^generation 3/);
    expect(existsSync(`${file}.4`)).toBe(false);
    writeFileSync(file, 'small\n');
    expect(rotateIfNeeded(file, 1000, 3)).toBe(false);
  });

  it('the follower hands over complete lines and the unfinished one, survives truncation, and rotates', () => {
    const file = tmpLog();
    writeFileSync(file, 'old line\n');
    const got: string[][] = [];
    const partials: string[] = [];
    const f = new LogFollower(file, (lines, partial) => {
      got.push(lines);
      partials.push(partial);
    }, { maxBytes: 200, keep: 2 });
    appendFileSync(file, 'one\ntwo\nloading 10%\rloading 20%');
    f.poll();
    expect(got.at(-1)).toEqual(['one', 'two']);
    expect(partials.at(-1)).toBe('loading 20%');
    appendFileSync(file, '\n' + 'x'.repeat(250) + '\n');
    f.poll();
    expect(got.at(-1)).toEqual(['loading 20%', 'x'.repeat(250)]);
    expect(statSync(file).size).toBe(0); // rotated after reading
    appendFileSync(file, 'after rotation\n');
    f.poll();
    expect(got.at(-1)).toEqual(['after rotation']);
    f.close();
    expect(tailLines(file, 2)).toEqual(['x'.repeat(250), 'after rotation']);
  });
});
