/**
 * Canary analysis as pure functions (docs/analysis.md): the pods' shadow summaries added up
 * into the counts of one analysis, and those judged into status.analysis, the AnswersMatch
 * condition and, with `onMismatch: Rollback`, the decision to route the clusterIP to the
 * baseline.
 *
 * An analysis belongs to one revision of the pods (their configuration and image) and the
 * value of the annotation clusterdns.io/analysis-restart: a new version, a new configuration
 * or a new annotation value starts a new one, from zero, and lifts an earlier rollback.
 * Nothing else does: a rollback never flips back by itself.
 *
 * Counting is by deltas of each pod's counters, which grow from the moment its resolver
 * started. A pod whose resolver started after this analysis began (and after the operator
 * began counting it) counts whole; one that was already running when the operator first saw
 * it counts from then on, so an operator restart loses at most one interval of counts and
 * never counts anything twice.
 */
import type { AnalysisExample, AnalysisSpec, AnalysisStatus } from '../api/clusterdns.ts';
import type { ShadowSummary } from '../api/shadow-summary.ts';
import { hash } from './render.ts';

/** Compared answers, and of those the unexpected and the intended mismatches; shadow queries without an answer. */
export interface AnalysisCounts {
  readonly queries: number;
  readonly mismatches: number;
  readonly intended: number;
  readonly errors: number;
}

/** The running analysis of one instance. */
export interface AnalysisState {
  readonly key: string;
  /** RFC 3339. */
  readonly since: string;
  readonly counts: AnalysisCounts;
  /** Newest first, at most MAX_EXAMPLES. */
  readonly examples: readonly AnalysisExample[];
  /** Pods whose summary the last round could not read, with why. */
  readonly failures: readonly string[];
  /** Pods the last round read. */
  readonly collected: number;
}

/** What the operator remembers of one pod's resolver between rounds. */
export interface PodMemory {
  readonly startedAt: string;
  readonly counts: AnalysisCounts;
  /** The newest mismatch time taken from it (older ones are not new examples). */
  readonly newestSeen: string;
}

export const MAX_EXAMPLES = 5;
const ZERO: AnalysisCounts = { queries: 0, mismatches: 0, intended: 0, errors: 0 };

/** The key of an analysis: the pods' revision and the restart annotation's value. */
export function analysisKey(podRevision: string, restart: string | undefined): string {
  return hash(`${podRevision}\u0000${restart ?? ''}`);
}

/** A new analysis, or the one status recorded for the same key (after an operator restart). */
export function startAnalysis(key: string, now: Date, recorded: AnalysisStatus | undefined): AnalysisState {
  if (recorded?.revision === key) {
    const { queries, mismatches, intended, errors } = recorded;
    return { key, since: recorded.since, counts: { queries, mismatches, intended, errors }, examples: recorded.examples ?? [], failures: [], collected: 0 };
  }
  return { key, since: rfc3339(now), counts: ZERO, examples: [], failures: [], collected: 0 };
}

export interface PodReading {
  readonly pod: string;
  readonly summary: ShadowSummary;
  readonly memory: PodMemory | undefined;
}

/**
 * Adds one round of readings to the analysis; returns it and what to remember of each pod.
 * `countingSince` is when the operator began counting this analysis (ms).
 */
export function addReadings(state: AnalysisState, readings: readonly PodReading[], failures: readonly string[], countingSince: number): { state: AnalysisState; memories: Map<string, PodMemory> } {
  const memories = new Map<string, PodMemory>();
  let counts = state.counts;
  const found: AnalysisExample[] = [];
  const since = Date.parse(state.since);
  for (const { pod, summary, memory } of readings) {
    const current = countsOf(summary);
    const known = memory?.startedAt === summary.startedAt;
    const startedAt = Date.parse(summary.startedAt);
    // A resolver started after the operator began counting has not been counted by anyone.
    const whole = !known && startedAt >= Math.max(since, countingSince);
    const delta = known ? subtract(current, memory.counts) : whole ? current : ZERO;
    counts = add(counts, delta);
    const newestSeen = known ? memory.newestSeen : whole ? '' : newest(summary);
    const fresh = summary.latest.filter((m) => m.kind !== 'intended' && m.time > newestSeen && Date.parse(m.time) >= since);
    found.push(...fresh.map((m) => ({
      question: m.question, kind: m.kind === 'rcode' ? 'rcode' as const : 'answer' as const, answer: m.answer, baseline: m.baseline, time: m.time, pod,
    })));
    memories.set(pod, { startedAt: summary.startedAt, counts: current, newestSeen: [newestSeen, newest(summary)].sort().at(-1) ?? '' });
  }
  const examples = [...found, ...state.examples].sort((a, b) => b.time.localeCompare(a.time)).slice(0, MAX_EXAMPLES);
  return { state: { ...state, counts, examples, failures, collected: readings.length }, memories };
}

function countsOf(summary: ShadowSummary): AnalysisCounts {
  const { errors, mismatches } = summary;
  return { queries: summary.compared, mismatches: mismatches.rcode + mismatches.answer, intended: mismatches.intended, errors: errors.timeout + errors.unreachable + errors.malformed };
}

function subtract(a: AnalysisCounts, b: AnalysisCounts): AnalysisCounts {
  // A counter that went down (a serving thread started again) counts nothing rather than twice.
  return { queries: Math.max(0, a.queries - b.queries), mismatches: Math.max(0, a.mismatches - b.mismatches), intended: Math.max(0, a.intended - b.intended), errors: Math.max(0, a.errors - b.errors) };
}

function add(a: AnalysisCounts, b: AnalysisCounts): AnalysisCounts {
  return { queries: a.queries + b.queries, mismatches: a.mismatches + b.mismatches, intended: a.intended + b.intended, errors: a.errors + b.errors };
}

function newest(summary: ShadowSummary): string {
  return summary.latest.map((m) => m.time).sort().at(-1) ?? '';
}

/** What the analysis says: status.analysis, the AnswersMatch condition, and whether the clusterIP goes to the baseline. */
export interface Judgement {
  readonly status: AnalysisStatus;
  readonly condition: { readonly status: 'True' | 'False' | 'Unknown'; readonly reason: AnswersMatchReason; readonly message: string };
  /** Present while the analysis keeps the clusterIP on the baseline: why, for the Serving condition. */
  readonly rollback?: string;
}

export type AnswersMatchReason = 'AnswersMatch' | 'AnswersDiffer' | 'TooFewQueries' | 'NoBaseline' | 'EngineWithoutShadow';

export interface JudgeInput {
  readonly spec: AnalysisSpec;
  readonly state: AnalysisState;
  /** status.analysis as stored. */
  readonly recorded: AnalysisStatus | undefined;
  /** `<namespace>/<name>` of the baseline. */
  readonly baselineRef: string;
  /** Why the baseline cannot be compared with (no usable Service or clusterIP), if so. */
  readonly noBaseline?: string;
  /** Why the instance's engine cannot compare its answers (CoreDNS has no shadow comparison), if so. */
  readonly noShadow?: string;
  readonly now: Date;
}

export function judge(input: JudgeInput): Judgement {
  const { spec, state, recorded, baselineRef, now } = input;
  const { queries, mismatches, intended, errors } = state.counts;
  const ratio = queries > 0 ? mismatches / queries : 0;
  const exceeded = queries >= spec.minQueries && ratio > spec.maxMismatchRatio;
  const kept = recorded?.revision === state.key && spec.onMismatch === 'Rollback' ? recorded.rolledBackAt : undefined;
  const rolledBackAt = kept ?? (exceeded && spec.onMismatch === 'Rollback' ? rfc3339(now) : undefined);
  const status: AnalysisStatus = {
    revision: state.key, since: state.since, queries, mismatches, intended, errors, ratio: round(ratio),
    ...(state.examples.length > 0 ? { examples: [...state.examples] } : {}),
    ...(rolledBackAt ? { rolledBackAt } : {}),
  };
  const share = `${mismatches} of ${queries} answers compared with the baseline ${baselineRef} since ${state.since} differed (${percent(ratio)})`;
  const apart = intended > 0 ? `; ${intended} documented difference${intended === 1 ? '' : 's'} apart` : '';
  const example = state.examples[0];
  const eg = example ? `; e.g. ${exampleText(example)}` : '';
  const rollback = rolledBackAt
    ? `the analysis rolled back at ${rolledBackAt}: ${share}, more than ${percent(spec.maxMismatchRatio)}${eg}`
    : undefined;
  return { status, condition: condition(input, share, apart, eg, exceeded, errors), ...(rollback ? { rollback } : {}) };
}

function condition(input: JudgeInput, share: string, apart: string, eg: string, exceeded: boolean, errors: number): Judgement['condition'] {
  const { spec, state, noBaseline, noShadow } = input;
  if (noShadow !== undefined) return { status: 'Unknown', reason: 'EngineWithoutShadow', message: noShadow };
  if (noBaseline !== undefined) return { status: 'Unknown', reason: 'NoBaseline', message: `nothing to compare with: ${noBaseline}` };
  const unread = state.failures.length > 0 ? `; could not read ${state.failures.length} pod${state.failures.length === 1 ? '' : 's'}: ${state.failures.slice(0, 3).join('; ')}` : '';
  const unanswered = errors > 0 ? `; ${errors} shadow quer${errors === 1 ? 'y' : 'ies'} got no answer from the baseline` : '';
  if (exceeded) {
    const acted = spec.onMismatch === 'Rollback' ? '; the clusterIP answers from the baseline' : '';
    return { status: 'False', reason: 'AnswersDiffer', message: `${share}, more than ${percent(spec.maxMismatchRatio)}${apart}${acted}${eg}` };
  }
  if (state.counts.queries < spec.minQueries) {
    return { status: 'Unknown', reason: 'TooFewQueries', message: `${state.counts.queries} of the ${spec.minQueries} compared answers needed so far (since ${state.since})${unanswered}${unread}` };
  }
  return { status: 'True', reason: 'AnswersMatch', message: `${share}, at most ${percent(spec.maxMismatchRatio)}${apart}${unanswered}${unread}` };
}

/** `10-244-0-7.shop.pod.cluster.local. A: NXDOMAIN here, NOERROR 10.244.0.7 at the baseline`. */
export function exampleText(example: AnalysisExample): string {
  return `${example.question}: ${example.answer} here, ${example.baseline} at the baseline`;
}

function percent(ratio: number): string {
  return `${Number((ratio * 100).toFixed(2))}%`;
}

/** Six significant digits: enough for a ratio, and the status does not change with float noise. */
function round(ratio: number): number {
  return Number(ratio.toPrecision(6));
}

function rfc3339(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}
