/**
 * The shadow comparison's counts: the `clusterdns_shadow_*` metrics and the latest
 * mismatches, kept per serving thread as plain data (threads do not load prom-client) and
 * added up, with the other threads' snapshots, into the summary served at `/shadow`.
 *
 * Memory is bounded: the counters have one child per query type and kind, and each thread
 * keeps at most LATEST_MISMATCHES mismatches.
 */
import { LATEST_MISMATCHES, MISMATCH_KINDS, SHADOW_ERROR_REASONS } from '../../api/shadow-bounds.ts';
import type { MismatchKind, ShadowErrorReason } from '../../api/shadow-bounds.ts';
import type { ShadowMismatch, ShadowSummary } from '../../api/shadow-summary.ts';
import { FastCounter } from '../metrics/primitives.ts';
import type { ChildSnapshot, CounterChild } from '../metrics/primitives.ts';

/** One thread's counts, as plain data (postMessage-able). */
export interface ShadowSnapshot {
  readonly metrics: Readonly<Record<string, readonly ChildSnapshot[]>>;
  /** Newest first. */
  readonly latest: readonly ShadowMismatch[];
}

export class ShadowStats {
  readonly queries = new FastCounter({
    name: 'clusterdns_shadow_queries_total',
    help: 'Answered queries that were also asked of the baseline (the sample), answered by it or not.',
    labelNames: [],
  });
  readonly compared = new FastCounter({
    name: 'clusterdns_shadow_compared_total',
    help: 'Shadowed queries the baseline answered, whose answers were compared (the denominator of a mismatch ratio).',
    labelNames: [],
  });
  readonly mismatches = new FastCounter({
    name: 'clusterdns_shadow_mismatches_total',
    help: 'Shadowed queries the baseline answered differently, by query type and kind: rcode, answer (same rcode, other records) or intended (documented in docs/coredns-differences.md).',
    labelNames: ['qtype', 'kind'],
  });
  readonly errors = new FastCounter({
    name: 'clusterdns_shadow_errors_total',
    help: 'Shadowed queries without a usable answer from the baseline, by reason: timeout, unreachable, malformed.',
    labelNames: ['reason'],
  });
  readonly skipped = new FastCounter({
    name: 'clusterdns_shadow_skipped_total',
    help: 'Sampled queries that were not asked of the baseline because shadow.maxInFlight were waiting already.',
    labelNames: [],
  });

  private readonly sent: CounterChild;
  private readonly comparisons: CounterChild;
  private readonly skips: CounterChild;
  private readonly errorChildren = new Map<ShadowErrorReason, CounterChild>();
  private readonly latestMismatches: ShadowMismatch[] = [];

  constructor() {
    this.sent = this.queries.child({});
    this.comparisons = this.compared.child({});
    this.skips = this.skipped.child({});
    // Every reason from the start, at 0: a dashboard sees the series before the first error.
    for (const reason of SHADOW_ERROR_REASONS) this.errorChildren.set(reason, this.errors.child({ reason }));
  }

  asked(): void {
    this.sent.value++;
  }

  /** An answer of the baseline compared with ours; `mismatch` follows when they differ. */
  comparedOne(): void {
    this.comparisons.value++;
  }

  skip(): void {
    this.skips.value++;
  }

  error(reason: ShadowErrorReason): void {
    const child = this.errorChildren.get(reason);
    if (child) child.value++;
  }

  mismatch(qtype: string, mismatch: ShadowMismatch): void {
    this.mismatches.child({ qtype, kind: mismatch.kind }).value++;
    this.latestMismatches.unshift(mismatch);
    if (this.latestMismatches.length > LATEST_MISMATCHES) this.latestMismatches.length = LATEST_MISMATCHES;
  }

  all(): readonly FastCounter[] {
    return [this.queries, this.compared, this.mismatches, this.errors, this.skipped];
  }

  snapshot(): ShadowSnapshot {
    return { metrics: Object.fromEntries(this.all().map((m) => [m.name, m.snapshot()])), latest: [...this.latestMismatches] };
  }
}

/** What the summary says besides the counts. */
export interface ShadowFacts {
  readonly startedAt: string;
  readonly baseline: string;
  readonly sample: number;
}

/** The `/shadow` summary from the snapshots of every serving thread. Pure. */
export function summarise(facts: ShadowFacts, snapshots: readonly ShadowSnapshot[]): ShadowSummary {
  const sum = (name: string, where: (labels: Readonly<Record<string, string>>) => boolean = () => true): number =>
    snapshots.reduce((total, s) => total + (s.metrics[name] ?? []).filter((c) => where(c.labels)).reduce((t, c) => t + (c.value ?? 0), 0), 0);
  const errors = Object.fromEntries(SHADOW_ERROR_REASONS.map((reason) => [reason, sum('clusterdns_shadow_errors_total', (l) => l['reason'] === reason)])) as ShadowSummary['errors'];
  const mismatches = Object.fromEntries(MISMATCH_KINDS.map((kind) => [kind, sum('clusterdns_shadow_mismatches_total', (l) => l['kind'] === kind)])) as Record<MismatchKind, number>;
  const latest = snapshots.flatMap((s) => s.latest).sort((a, b) => b.time.localeCompare(a.time)).slice(0, LATEST_MISMATCHES);
  return {
    ...facts,
    queries: sum('clusterdns_shadow_queries_total'),
    compared: sum('clusterdns_shadow_compared_total'),
    skipped: sum('clusterdns_shadow_skipped_total'),
    errors,
    mismatches,
    latest,
  };
}
