/** Drops are counted every time and logged at a limited rate, with a count of what was left out. Time is virtual. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Drops, LimitedLog, RateLimiter } from '../../../../src/resolver/metrics/drops.ts';
import { QueryStats } from '../../../../src/resolver/metrics/query-stats.ts';

class Lines {
  readonly lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> = [];
  warn(fields: object, message: string): void {
    this.lines.push({ level: 'warn', fields: fields as Record<string, unknown>, message });
  }

  error(fields: object, message: string): void {
    this.lines.push({ level: 'error', fields: fields as Record<string, unknown>, message });
  }
}

describe('the rate limiter', () => {
  test('allows its burst at once, then one per 1/perSecond seconds', () => {
    let now = 0;
    const limiter = new RateLimiter({ burst: 3, perSecond: 0.5 }, () => now);
    assert.deepEqual([limiter.take(), limiter.take(), limiter.take(), limiter.take()], [true, true, true, false]);
    now = 1999;
    assert.equal(limiter.take(), false);
    now = 2000;
    assert.equal(limiter.take(), true);
    assert.equal(limiter.take(), false);
    now = 60_000;
    assert.deepEqual([limiter.take(), limiter.take(), limiter.take(), limiter.take()], [true, true, true, false], 'no more than the burst after a long quiet');
  });

  test('is not fooled by a clock that goes back', () => {
    let now = 10_000;
    const limiter = new RateLimiter({ burst: 1, perSecond: 1 }, () => now);
    assert.equal(limiter.take(), true);
    now = 0;
    assert.equal(limiter.take(), false);
  });
});

describe('drops', () => {
  test('are all counted; the log gets the burst, then a line a minute saying how many it left out, per reason', () => {
    let now = 0;
    const lines = new Lines();
    const stats = new QueryStats('dns://:1053');
    const drops = new Drops(stats, new LimitedLog(lines, () => now));
    for (let i = 0; i < 1000; i++) drops.drop('unsendable', { from: '127.0.0.1' });
    drops.drop('send_failed');
    assert.equal(lines.lines.filter((l) => l.fields['reason'] === 'unsendable').length, 3);
    assert.equal(lines.lines.filter((l) => l.fields['reason'] === 'send_failed').length, 1, 'each reason has its own limit');
    now = 60_000;
    drops.drop('unsendable');
    const last = lines.lines.at(-1);
    assert.ok(last);
    assert.equal(last.fields['suppressedSinceLast'], 997);
    assert.equal(last.message, 'dropped a message');
    const snapshot = stats.snapshot().metrics['clusterdns_resolver_dropped_total'] ?? [];
    assert.equal(snapshot.find((c) => c.labels['reason'] === 'unsendable')?.value, 1001);
  });

  test('of TCP connections are counted; idle closes are not logged', () => {
    const lines = new Lines();
    const stats = new QueryStats('dns://:1053');
    const drops = new Drops(stats, new LimitedLog(lines, () => 0));
    drops.tcpClosed('idle');
    drops.tcpClosed('write_timeout');
    assert.deepEqual(lines.lines.map((l) => l.fields['reason']), ['write_timeout']);
    const closed = stats.snapshot().metrics['clusterdns_resolver_tcp_closed_total'] ?? [];
    assert.deepEqual(closed.filter((c) => (c.value ?? 0) > 0).map((c) => c.labels['reason']), ['idle', 'write_timeout']);
  });
});
