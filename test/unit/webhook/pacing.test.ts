/**
 * The handshake pacer with a hand-driven clock: new connections start at once while few
 * are open or the open ones are not finishing requests, wait while the open ones cycle, and
 * never wait longer than the policy's bound.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { describe, test } from 'node:test';
import { HandshakePacer } from '../../../src/webhook/pacing.ts';

const policy = { minOpen: 2, cyclingMs: 10, maxDelayMs: 100 };
/** Just what the pacer touches of a socket. */
function socket(name: string): Socket {
  const fake = { name, destroyed: false, destroy: () => { fake.destroyed = true; } };
  return fake as unknown as Socket;
}
const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));

describe('the handshake pacer', () => {
  test('starts at once below minOpen, holds while the open connections cycle, and releases at maxDelayMs', async () => {
    let now = 0;
    const started: string[] = [];
    const pacer = new HandshakePacer(policy, (s) => { started.push((s as unknown as { name: string }).name); }, () => now);
    pacer.offer(socket('a'));
    pacer.offer(socket('b'));
    assert.deepEqual(started, ['a', 'b'], 'fewer than minOpen open: no waiting');
    pacer.opened();
    pacer.opened();

    pacer.answered();
    pacer.offer(socket('c'));
    assert.deepEqual(started, ['a', 'b'], 'two open and one just answered: c waits');
    assert.equal(pacer.pending, 1);

    now = 50;
    pacer.answered();
    await tick();
    assert.deepEqual(started, ['a', 'b'], 'still cycling, 50 ms < 100 ms');
    now = 100;
    pacer.answered();
    await tick();
    assert.deepEqual(started, ['a', 'b', 'c'], 'waited its longest');
    pacer.drop();
  });

  test('starts a waiting connection once the open ones stop answering, or one of them closes below minOpen', async () => {
    let now = 0;
    const started: string[] = [];
    const pacer = new HandshakePacer(policy, (s) => { started.push((s as unknown as { name: string }).name); }, () => now);
    const closeA = pacer.opened();
    pacer.opened();
    pacer.answered();
    pacer.offer(socket('c'));
    pacer.offer(socket('d'));
    assert.equal(pacer.pending, 2);
    closeA();
    assert.deepEqual(started, ['c', 'd'], 'one open left, below minOpen');

    pacer.opened();
    pacer.opened();
    pacer.answered();
    pacer.offer(socket('e'));
    now = 11;
    await tick();
    assert.deepEqual(started, ['c', 'd', 'e'], 'no answer for 11 ms: not a burst, e starts');
  });

  test('skips connections closed while waiting, and drop() closes the rest', () => {
    const started: string[] = [];
    const pacer = new HandshakePacer(policy, (s) => { started.push((s as unknown as { name: string }).name); }, () => 0);
    pacer.opened();
    pacer.opened();
    pacer.answered();
    const gone = socket('gone');
    const left = socket('left');
    pacer.offer(gone);
    pacer.offer(left);
    gone.destroy();
    pacer.drop();
    assert.equal(left.destroyed, true);
    assert.deepEqual(started, []);
    assert.equal(pacer.pending, 0);
  });
});
