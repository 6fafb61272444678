/**
 * The collector in virtual time, with the pods' summaries handed in: a round at once and then
 * every interval, a new key starting afresh, unreadable and hostile answers reported without
 * losing counts, and nothing left running after stop.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import type { ShadowSummary } from '../../../src/api/shadow-summary.ts';
import { AnalysisCollector } from '../../../src/controller/analysis-collector.ts';
import type { AnalysisTarget, TrackRequest } from '../../../src/controller/analysis-collector.ts';
import { podTargets } from '../../../src/controller/analysis-targets.ts';
import type { ResolverPod } from '../../../src/controller/pods.ts';
import { Store } from '../../../src/kube/store.ts';
import { FakeClock } from '../../support/fake-clock.ts';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined, child: () => silent } as never;

function summary(compared: number, rcode: number, startedAt = new Date(2_000_000).toISOString()): string {
  const s: ShadowSummary = {
    startedAt, baseline: '10.96.0.10', sample: 1, queries: compared, compared, skipped: 0,
    errors: { timeout: 0, unreachable: 0, malformed: 0 }, mismatches: { rcode, answer: 0, intended: 0 }, latest: [],
  };
  return JSON.stringify(s);
}

describe('AnalysisCollector', () => {
  const request = (key = 'k', intervalMs = 10_000): TrackRequest => ({ key, podRevision: 'rev', intervalMs, recorded: undefined });

  function setup(targets: AnalysisTarget[]) {
    const clock = new FakeClock(1_000_000);
    const answers = new Map<string, () => Promise<string>>();
    const rounds: string[] = [];
    const collector = new AnalysisCollector({
      targets: { of: () => targets }, clock, log: silent, onRound: (name) => rounds.push(name),
      fetch: (url) => (answers.get(url) ?? (() => Promise.reject(new Error('connection refused'))))(),
    });
    return { clock, answers, rounds, collector };
  }

  test('collects at once and then every interval, adding the pods\' new counts', async () => {
    const { clock, answers, rounds, collector } = setup([{ pod: 'p1', url: 'u1' }, { pod: 'p2', url: 'u2' }]);
    answers.set('u1', () => Promise.resolve(summary(10, 1)));
    answers.set('u2', () => Promise.resolve(summary(20, 0)));
    collector.track('x', request());
    clock.advance(0);
    await tick();
    assert.deepEqual(rounds, ['x']);
    assert.deepEqual(collector.track('x', request()).counts, { queries: 30, mismatches: 1, intended: 0, errors: 0 });
    answers.set('u1', () => Promise.resolve(summary(15, 3)));
    clock.advance(9_999);
    await tick();
    assert.equal(rounds.length, 1, 'not before the interval');
    clock.advance(1);
    await tick();
    assert.equal(rounds.length, 2);
    assert.deepEqual(collector.track('x', request()).counts, { queries: 35, mismatches: 3, intended: 0, errors: 0 });
    collector.stop();
    assert.equal(clock.pending, 0);
  });

  test('a pod that cannot be read, or answers something else, is reported and counted again once it answers', async () => {
    const { clock, answers, collector } = setup([{ pod: 'p1', url: 'u1' }]);
    answers.set('u1', () => Promise.resolve(summary(10, 0)));
    collector.track('x', request());
    clock.advance(0);
    await tick();
    answers.set('u1', () => Promise.resolve('{"startedAt": 5, "queries": -1}'));
    clock.advance(10_000);
    await tick();
    const state = collector.track('x', request());
    assert.equal(state.counts.queries, 10);
    assert.equal(state.failures.length, 1);
    assert.match(state.failures[0] ?? '', /^p1: /);
    answers.set('u1', () => Promise.resolve(summary(25, 0)));
    clock.advance(10_000);
    await tick();
    assert.equal(collector.track('x', request()).counts.queries, 25, 'the delta since the last good reading');
    assert.deepEqual(collector.track('x', request()).failures, []);
    collector.stop();
  });

  test('a new key starts afresh; forget stops the rounds', async () => {
    const { clock, answers, rounds, collector } = setup([{ pod: 'p1', url: 'u1' }]);
    answers.set('u1', () => Promise.resolve(summary(10, 0)));
    collector.track('x', request('k1'));
    clock.advance(0);
    await tick();
    assert.equal(collector.track('x', request('k1')).counts.queries, 10, 'started after counting began: whole');
    clock.advance(2_000_000);
    await tick();
    assert.equal(collector.track('x', request('k2')).counts.queries, 0);
    clock.advance(0);
    await tick();
    // The pod's resolver started before the operator began counting k2: from now on only.
    assert.equal(collector.track('x', request('k2')).counts.queries, 0);
    collector.forget('x');
    const before = rounds.length;
    clock.advance(60_000);
    await tick();
    assert.equal(rounds.length, before);
  });
});

describe('podTargets', () => {
  test('the ready pods of the instance and revision, at their health port', () => {
    const store = new Store<ResolverPod>((p) => p.name);
    const pod = (name: string, overrides: Partial<ResolverPod>): ResolverPod => ({ namespace: 'ns', name, uid: name, instance: 'x', ready: true, restarts: 0, ips: ['10.244.0.7'], nodeName: 'n', revision: 'rev', ...overrides });
    store.apply({ type: 'restarted', objects: [
      pod('a', {}), pod('b', { ready: false }), pod('c', { revision: 'old' }), pod('d', { instance: 'y' }), pod('e', { ips: ['fd00::7'] }),
    ] });
    assert.deepEqual(podTargets(store).of('x', 'rev'), [{ pod: 'a', url: 'http://10.244.0.7:8080/shadow' }, { pod: 'e', url: 'http://[fd00::7]:8080/shadow' }]);
  });
});
