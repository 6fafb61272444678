/** The shadow counts of every serving thread added up into the /shadow summary. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { shadowSummarySchema } from '../../../../src/api/shadow-summary.ts';
import { ShadowStats, summarise } from '../../../../src/resolver/shadow/stats.ts';

const facts = { startedAt: '2025-01-01T00:00:00.000Z', baseline: '10.96.0.10', sample: 1 };
const mismatch = (time: string, kind: 'rcode' | 'answer' | 'intended' = 'rcode') => ({ time, question: 'a.cluster.local. A', kind, answer: 'NXDOMAIN', baseline: 'NOERROR 10.0.0.1' });

describe('shadow stats', () => {
  test('a thread with nothing shadowed yet has every error reason at 0', () => {
    const summary = summarise(facts, [new ShadowStats().snapshot()]);
    assert.deepEqual(summary, { ...facts, queries: 0, compared: 0, skipped: 0, errors: { timeout: 0, unreachable: 0, malformed: 0 }, mismatches: { rcode: 0, answer: 0, intended: 0 }, latest: [] });
    assert.ok(shadowSummarySchema.safeParse(summary).success);
  });

  test('the summary adds up the threads, newest mismatches first', () => {
    const one = new ShadowStats();
    const two = new ShadowStats();
    for (const stats of [one, two]) {
      stats.asked();
      stats.asked();
      stats.comparedOne();
    }
    one.error('timeout');
    two.skip();
    one.mismatch('A', mismatch('2025-01-01T00:00:01.000Z'));
    two.mismatch('TXT', mismatch('2025-01-01T00:00:02.000Z', 'intended'));
    const summary = summarise(facts, [one.snapshot(), two.snapshot()]);
    assert.equal(summary.queries, 4);
    assert.equal(summary.compared, 2);
    assert.equal(summary.skipped, 1);
    assert.deepEqual(summary.errors, { timeout: 1, unreachable: 0, malformed: 0 });
    assert.deepEqual(summary.mismatches, { rcode: 1, answer: 0, intended: 1 });
    assert.deepEqual(summary.latest.map((m) => m.time), ['2025-01-01T00:00:02.000Z', '2025-01-01T00:00:01.000Z']);
  });

  test('each thread keeps only its latest 20 mismatches, and so does the summary', () => {
    const threads = [new ShadowStats(), new ShadowStats()];
    for (let i = 0; i < 50; i++) threads[i % 2]?.mismatch('A', mismatch(new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString()));
    for (const t of threads) assert.equal(t.snapshot().latest.length, 20);
    const summary = summarise(facts, threads.map((t) => t.snapshot()));
    assert.equal(summary.latest.length, 20);
    assert.equal(summary.latest[0]?.time, '2025-01-01T00:00:49.000Z');
    assert.equal(summary.mismatches.rcode, 50);
  });
});
