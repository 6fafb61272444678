/** TCP framing: whole messages out of a stream whatever its chunks, each byte copied a bounded number of times. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FrameReader, frame } from '../../../src/dns/tcp-framing.ts';

const messages = [Buffer.from('first query'), Buffer.alloc(300, 7), Buffer.from('x'), Buffer.alloc(65_535, 1)];
const stream = Buffer.concat(messages.map((m) => frame(m)));

function readAll(chunks: readonly Buffer[]): Buffer[] {
  const reader = new FrameReader();
  const out: Buffer[] = [];
  for (const chunk of chunks) {
    reader.push(chunk);
    for (let m = reader.next(); m; m = reader.next()) out.push(m);
  }
  assert.equal(reader.buffered, 0);
  return out;
}

function chunked(size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < stream.length; at += size) chunks.push(stream.subarray(at, at + size));
  return chunks;
}

describe('the frame reader', () => {
  for (const [title, chunks] of [
    ['one chunk with everything', [stream]],
    ['a byte at a time', chunked(1)],
    ['chunks of 3 bytes', chunked(3)],
    ['chunks of 64 KiB', chunked(65_536)],
    ['chunks of 1000 bytes', chunked(1000)],
  ] as const) {
    test(`hands out every message whole from ${title}`, () => {
      assert.deepEqual(readAll(chunks), messages);
    });
  }

  test('waits for the rest of a message, and gives an empty buffer for a zero-length frame', () => {
    const reader = new FrameReader();
    reader.push(Buffer.from([0, 5, 1, 2]));
    assert.equal(reader.next(), undefined);
    assert.equal(reader.buffered, 4);
    reader.push(Buffer.from([3, 4, 5, 0, 0]));
    assert.deepEqual(reader.next(), Buffer.from([1, 2, 3, 4, 5]));
    assert.deepEqual(reader.next(), Buffer.alloc(0));
    assert.equal(reader.next(), undefined);
  });

  test('hands out copies: a message does not keep its chunk alive', () => {
    const chunk = frame(Buffer.from('abc'));
    const reader = new FrameReader();
    reader.push(chunk);
    const message = reader.next();
    assert.ok(message);
    chunk.fill(0);
    assert.equal(message.toString(), 'abc');
  });

  test('is linear: a 64 KiB message sent a byte at a time is read in a few milliseconds, not seconds', () => {
    const big = frame(Buffer.alloc(65_535, 2));
    const reader = new FrameReader();
    const began = performance.now();
    for (let i = 0; i < big.length; i++) {
      reader.push(big.subarray(i, i + 1));
      reader.next();
    }
    // Buffer.concat on every chunk copies 2 GiB here and takes seconds; this takes milliseconds
    // (the bound leaves room for a loaded machine).
    assert.ok(performance.now() - began < 1500, `${(performance.now() - began).toFixed(0)} ms`);
  });
});
