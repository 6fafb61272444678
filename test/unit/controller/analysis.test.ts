/**
 * The analysis as pure functions: pods' summaries counted by deltas (a pod counted whole only
 * when nobody can have counted it before), the judgement of the counts, and the rollback that
 * stays until the analysis starts afresh.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { analysisSchema } from '../../../src/api/clusterdns.ts';
import type { AnalysisSpec, AnalysisStatus } from '../../../src/api/clusterdns.ts';
import type { ShadowMismatch, ShadowSummary } from '../../../src/api/shadow-summary.ts';
import { addReadings, analysisKey, judge, startAnalysis } from '../../../src/controller/analysis.ts';
import type { AnalysisState, JudgeInput } from '../../../src/controller/analysis.ts';
import { NO_SHADOW_IN_COREDNS } from '../../../src/controller/analysis-step.ts';

const t0 = new Date('2026-01-01T00:00:00.000Z');
const ms = (iso: string): number => Date.parse(iso);

function summary(startedAt: string, compared: number, rcode = 0, latest: ShadowMismatch[] = [], extra: Partial<ShadowSummary> = {}): ShadowSummary {
  return {
    startedAt, baseline: '10.96.0.10', sample: 1, queries: compared, compared, skipped: 0,
    errors: { timeout: 0, unreachable: 0, malformed: 0 }, mismatches: { rcode, answer: 0, intended: 0 }, latest, ...extra,
  };
}
const mismatch = (time: string, kind: ShadowMismatch['kind'] = 'rcode'): ShadowMismatch => ({ time, question: '10-244-0-7.shop.pod.cluster.local. A', kind, answer: 'NXDOMAIN', baseline: 'NOERROR 10.244.0.7' });

describe('addReadings', () => {
  const fresh = startAnalysis('k', t0, undefined);

  test('a resolver started after the analysis began counts whole, then by deltas', () => {
    const first = addReadings(fresh, [{ pod: 'p1', summary: summary('2026-01-01T00:00:05.000Z', 40, 2, [mismatch('2026-01-01T00:00:06.000Z')]), memory: undefined }], [], ms('2026-01-01T00:00:00Z'));
    assert.deepEqual(first.state.counts, { queries: 40, mismatches: 2, intended: 0, errors: 0 });
    assert.equal(first.state.examples.length, 1);
    assert.equal(first.state.examples[0]?.pod, 'p1');
    const second = addReadings(first.state, [{ pod: 'p1', summary: summary('2026-01-01T00:00:05.000Z', 100, 3, [mismatch('2026-01-01T00:00:07.000Z'), mismatch('2026-01-01T00:00:06.000Z')]), memory: first.memories.get('p1') }], [], ms('2026-01-01T00:00:00Z'));
    assert.deepEqual(second.state.counts, { queries: 100, mismatches: 3, intended: 0, errors: 0 });
    assert.deepEqual(second.state.examples.map((e) => e.time), ['2026-01-01T00:00:07.000Z', '2026-01-01T00:00:06.000Z'], 'each mismatch once');
  });

  test('a resolver already running when the operator began counting counts from then on, its old mismatches not examples', () => {
    const first = addReadings(fresh, [{ pod: 'p1', summary: summary('2025-12-31T23:00:00.000Z', 500, 50, [mismatch('2025-12-31T23:30:00.000Z')]), memory: undefined }], [], ms('2026-01-01T00:00:00Z'));
    assert.deepEqual(first.state.counts, { queries: 0, mismatches: 0, intended: 0, errors: 0 });
    assert.deepEqual(first.state.examples, []);
    const second = addReadings(first.state, [{ pod: 'p1', summary: summary('2025-12-31T23:00:00.000Z', 510, 51, [mismatch('2026-01-01T00:00:10.000Z'), mismatch('2025-12-31T23:30:00.000Z')]), memory: first.memories.get('p1') }], [], ms('2026-01-01T00:00:00Z'));
    assert.deepEqual(second.state.counts, { queries: 10, mismatches: 1, intended: 0, errors: 0 });
    assert.equal(second.state.examples.length, 1);
  });

  test('a restarted resolver (another startedAt) starts from zero; counters that went down count nothing', () => {
    const memory = { startedAt: '2026-01-01T00:00:05.000Z', counts: { queries: 100, mismatches: 5, intended: 1, errors: 2 }, newestSeen: '' };
    const restarted = addReadings(fresh, [{ pod: 'p1', summary: summary('2026-01-01T00:01:00.000Z', 7), memory }], [], ms('2026-01-01T00:00:00Z'));
    assert.equal(restarted.state.counts.queries, 7);
    const shrunk = addReadings(fresh, [{ pod: 'p1', summary: summary('2026-01-01T00:00:05.000Z', 60), memory }], [], ms('2026-01-01T00:00:00Z'));
    assert.equal(shrunk.state.counts.queries, 0);
  });

  test('intended differences count apart and are never examples; errors are counted; at most five examples, newest first', () => {
    const latest = [...Array.from({ length: 7 }, (_, i) => mismatch(`2026-01-01T00:00:1${i}.000Z`)), mismatch('2026-01-01T00:00:30.000Z', 'intended')];
    const s = summary('2026-01-01T00:00:05.000Z', 100, 7, latest, { mismatches: { rcode: 7, answer: 0, intended: 4 }, errors: { timeout: 3, unreachable: 1, malformed: 0 } });
    const { state } = addReadings(fresh, [{ pod: 'p1', summary: s, memory: undefined }], ['p2: HTTP 404'], ms('2026-01-01T00:00:00Z'));
    assert.deepEqual(state.counts, { queries: 100, mismatches: 7, intended: 4, errors: 4 });
    assert.deepEqual(state.examples.map((e) => e.time), ['2026-01-01T00:00:16.000Z', '2026-01-01T00:00:15.000Z', '2026-01-01T00:00:14.000Z', '2026-01-01T00:00:13.000Z', '2026-01-01T00:00:12.000Z']);
    assert.deepEqual(state.failures, ['p2: HTTP 404']);
  });

  test('an analysis recorded in status under the same key goes on from its counts; another key starts from zero', () => {
    const recorded: AnalysisStatus = { revision: 'k', since: '2025-12-31T00:00:00Z', queries: 90, mismatches: 1, intended: 2, errors: 3, ratio: 1 / 90 };
    assert.deepEqual(startAnalysis('k', t0, recorded).counts, { queries: 90, mismatches: 1, intended: 2, errors: 3 });
    assert.equal(startAnalysis('k', t0, recorded).since, '2025-12-31T00:00:00Z');
    assert.deepEqual(startAnalysis('other', t0, recorded).counts, { queries: 0, mismatches: 0, intended: 0, errors: 0 });
    assert.equal(startAnalysis('other', t0, recorded).since, '2026-01-01T00:00:00Z');
  });

  test('the key follows the pods\' revision and the restart annotation', () => {
    assert.equal(analysisKey('abc@img:1', undefined), analysisKey('abc@img:1', undefined));
    assert.notEqual(analysisKey('abc@img:1', undefined), analysisKey('abc@img:2', undefined));
    assert.notEqual(analysisKey('abc@img:1', undefined), analysisKey('abc@img:1', '2026-01-01'));
  });
});

describe('judge', () => {
  const spec = (overrides: Partial<AnalysisSpec> = {}): AnalysisSpec => analysisSchema.parse({ minQueries: 100, maxMismatchRatio: 0.01, ...overrides });
  const state = (queries: number, mismatches: number, overrides: Partial<AnalysisState> = {}): AnalysisState => ({
    key: 'k', since: '2026-01-01T00:00:00Z', counts: { queries, mismatches, intended: 0, errors: 0 }, examples: [], failures: [], collected: 1, ...overrides,
  });
  const input = (overrides: Partial<JudgeInput>): JudgeInput => ({ spec: spec(), state: state(0, 0), recorded: undefined, baselineRef: 'kube-system/kube-dns', now: t0, ...overrides });
  const example = { question: '10-244-0-7.shop.pod.cluster.local. A', kind: 'rcode' as const, answer: 'NXDOMAIN', baseline: 'NOERROR 10.244.0.7', time: '2026-01-01T00:00:06.000Z', pod: 'p1' };

  const rows: Array<[string, Partial<JudgeInput>, string, RegExp]> = [
    ['too few answers yet: Unknown', { state: state(99, 50) }, 'Unknown/TooFewQueries', /^99 of the 100 compared answers needed so far/],
    ['at the threshold: True', { state: state(100, 1) }, 'True/AnswersMatch', /^1 of 100 answers compared with the baseline kube-system\/kube-dns since .* differed \(1%\), at most 1%$/],
    ['above it: False, with an example', { state: state(100, 2, { examples: [example] }) }, 'False/AnswersDiffer',
      /differed \(2%\), more than 1%; e\.g\. 10-244-0-7\.shop\.pod\.cluster\.local\. A: NXDOMAIN here, NOERROR 10\.244\.0\.7 at the baseline$/],
    ['an engine without a shadow comparison: Unknown, saying what to do', { noShadow: NO_SHADOW_IN_COREDNS }, 'Unknown/EngineWithoutShadow', /CoreDNS has no plugin for it.*clusterdns compare/],
    ['no baseline to compare with: Unknown', { noBaseline: 'the baseline Service kube-system/kube-dns does not exist' }, 'Unknown/NoBaseline', /does not exist/],
    ['a baseline that does not answer: Unknown, saying so', { state: state(0, 0, { counts: { queries: 0, mismatches: 0, intended: 0, errors: 40 } }) }, 'Unknown/TooFewQueries', /40 shadow queries got no answer from the baseline/],
    ['pods that cannot be read are named', { state: state(0, 0, { failures: ['p1: HTTP 404'] }) }, 'Unknown/TooFewQueries', /could not read 1 pod: p1: HTTP 404/],
  ];
  for (const [title, overrides, expected, message] of rows) {
    test(title, () => {
      const { condition } = judge(input(overrides));
      assert.equal(`${condition.status}/${condition.reason}`, expected);
      assert.match(condition.message, message);
    });
  }

  test('Report never rolls back; Rollback does once the threshold is crossed over minQueries', () => {
    assert.equal(judge(input({ state: state(1000, 500) })).rollback, undefined);
    assert.equal(judge(input({ spec: spec({ onMismatch: 'Rollback' }), state: state(99, 99) })).rollback, undefined);
    const rolled = judge(input({ spec: spec({ onMismatch: 'Rollback' }), state: state(100, 2, { examples: [example] }) }));
    assert.equal(rolled.status.rolledBackAt, '2026-01-01T00:00:00Z');
    assert.match(rolled.rollback ?? '', /^the analysis rolled back at 2026-01-01T00:00:00Z: 2 of 100 .* more than 1%; e\.g\. 10-244-0-7/);
    assert.match(rolled.condition.message, /the clusterIP answers from the baseline/);
  });

  test('a rollback stays for the same key, even when the ratio falls; a new key, Report or no analysis lifts it', () => {
    const recorded: AnalysisStatus = { revision: 'k', since: '2026-01-01T00:00:00Z', queries: 100, mismatches: 2, intended: 0, errors: 0, ratio: 0.02, rolledBackAt: '2026-01-01T00:00:00Z' };
    const later = new Date('2026-01-01T01:00:00Z');
    const kept = judge(input({ spec: spec({ onMismatch: 'Rollback' }), state: state(10_000, 2), recorded, now: later }));
    assert.equal(kept.status.rolledBackAt, '2026-01-01T00:00:00Z');
    assert.ok(kept.rollback);
    assert.equal(judge(input({ spec: spec({ onMismatch: 'Rollback' }), state: state(0, 0, { key: 'k2' }), recorded, now: later })).rollback, undefined);
    assert.equal(judge(input({ spec: spec({ onMismatch: 'Report' }), state: state(10_000, 2), recorded, now: later })).rollback, undefined);
  });

  test('status.analysis carries the counts, the ratio and the examples', () => {
    const { status } = judge(input({ state: state(300, 1, { examples: [example], counts: { queries: 300, mismatches: 1, intended: 7, errors: 2 } }) }));
    assert.deepEqual(status, { revision: 'k', since: '2026-01-01T00:00:00Z', queries: 300, mismatches: 1, intended: 7, errors: 2, ratio: 0.00333333, examples: [example] });
  });
});
