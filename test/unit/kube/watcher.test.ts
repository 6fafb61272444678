import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseWatchLine, step, watchTimeoutSeconds } from '../../../src/kube/watcher.ts';
import type { WatcherInput, WatcherState } from '../../../src/kube/watcher.ts';

const listing: WatcherState = { phase: 'listing' };
const watching = (resourceVersion: string): WatcherState => ({ phase: 'watching', resourceVersion });
const identity = (raw: unknown): unknown => raw;

describe('watcher step', () => {
  const rows: Array<{ title: string; state: WatcherState; input: WatcherInput<string>; next: WatcherState; emit?: unknown; backoff: boolean }> = [
    { title: 'a list is emitted whole and the watch starts from its version', state: listing,
      input: { kind: 'listed', objects: ['a', 'b'], resourceVersion: '10' }, next: watching('10'), emit: { type: 'restarted', objects: ['a', 'b'] }, backoff: false },
    { title: 'a failed list is retried after a backoff', state: listing,
      input: { kind: 'failed', error: new Error('refused') }, next: listing, backoff: true },
    { title: 'an added object is applied and its version remembered', state: watching('10'),
      input: { kind: 'event', type: 'ADDED', object: 'c', resourceVersion: '11' }, next: watching('11'), emit: { type: 'applied', object: 'c' }, backoff: false },
    { title: 'a modified object is applied', state: watching('11'),
      input: { kind: 'event', type: 'MODIFIED', object: 'c', resourceVersion: '12' }, next: watching('12'), emit: { type: 'applied', object: 'c' }, backoff: false },
    { title: 'a deleted object is deleted', state: watching('12'),
      input: { kind: 'event', type: 'DELETED', object: 'c', resourceVersion: '13' }, next: watching('13'), emit: { type: 'deleted', object: 'c' }, backoff: false },
    { title: 'a bookmark only moves the version', state: watching('13'),
      input: { kind: 'bookmark', resourceVersion: '20' }, next: watching('20'), backoff: false },
    { title: 'a watch that ended is resumed from the last version at once', state: watching('20'),
      input: { kind: 'watchEnded' }, next: watching('20'), backoff: false },
    { title: '410 Gone lists again at once', state: watching('20'),
      input: { kind: 'gone' }, next: listing, backoff: false },
    { title: 'a refused watch (apiserver down) is resumed from the same version after a backoff', state: watching('20'),
      input: { kind: 'failed', error: new Error('ECONNREFUSED') }, next: watching('20'), backoff: true },
  ];
  for (const row of rows) {
    test(row.title, () => {
      const result = step(row.state, row.input);
      assert.deepEqual(result.next, row.next);
      assert.deepEqual(result.emit, row.emit);
      assert.equal(result.backoff, row.backoff);
    });
  }
});

describe('parseWatchLine', () => {
  test('an ADDED event carries the shrunk object and its resourceVersion', () => {
    const input = parseWatchLine('{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"7"}}}', (raw) => raw.metadata?.name);
    assert.deepEqual(input, { kind: 'event', type: 'ADDED', object: 'a', resourceVersion: '7' });
  });

  test('an ERROR event with code 410 means Gone', () => {
    assert.deepEqual(parseWatchLine('{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired"}}', identity), { kind: 'gone' });
  });

  test('another ERROR event is a failure that names the error', () => {
    const input = parseWatchLine('{"type":"ERROR","object":{"kind":"Status","code":500,"message":"etcd is down"}}', identity);
    assert.ok(input?.kind === 'failed');
    assert.match(input.error.message, /500 etcd is down/);
  });

  test('a BOOKMARK carries only a version', () => {
    assert.deepEqual(parseWatchLine('{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"99"}}}', identity), { kind: 'bookmark', resourceVersion: '99' });
  });

  test('a line that is not JSON is a failure, not a crash', () => {
    assert.equal(parseWatchLine('{"type":', identity)?.kind, 'failed');
  });
});

describe('watchTimeoutSeconds', () => {
  test('spreads watch requests over 5 to 10 minutes, as client-go does', () => {
    assert.equal(watchTimeoutSeconds(() => 0), 300);
    assert.equal(watchTimeoutSeconds(() => 0.5), 450);
    assert.equal(watchTimeoutSeconds(() => 0.999_999), 599);
  });
});
