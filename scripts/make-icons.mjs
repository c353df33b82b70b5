#!/usr/bin/env node
// Draws the app and tray icons (a ring with a dot: a microphone's capsule seen head-on) as PNG
// files in resources/, with no image tooling needed. Run once; the PNGs are committed.
import { deflateSync } from 'node:zlib';
import { writeFileSync } from 'node:fs';

function crc32(buf) {
  let c, crc = 0xffffffff;
  for (let n = 0; n < buf.length; n++) {
    c = (crc ^ buf[n]) & 0xff;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crc = (crc >>> 8) ^ c;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type), data]);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
function png(size, pixel) {
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0;
    for (let x = 0; x < size; x++) raw.set(pixel(x, y, size), y * (size * 4 + 1) + 1 + x * 4);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0); ihdr.writeUInt32BE(size, 4); ihdr[8] = 8; ihdr[9] = 6;
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}
const icon = (bg) => (x, y, s) => {
  const cx = s / 2 - 0.5, r = Math.hypot(x - cx, y - cx) / (s / 2);
  if (r > 0.96) return [0, 0, 0, 0];
  if (r > 0.62 && r < 0.78) return [255, 255, 255, 255];
  if (r < 0.3) return [255, 255, 255, 255];
  return bg ? [48, 86, 211, 255] : [0, 0, 0, 0];
};
writeFileSync(new URL('../resources/icon.png', import.meta.url), png(256, icon(true)));
writeFileSync(new URL('../resources/tray.png', import.meta.url), png(32, icon(true)));
console.log('wrote resources/icon.png and resources/tray.png');
