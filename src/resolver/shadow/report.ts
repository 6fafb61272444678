/**
 * The process's view of the shadow comparison, in the thread that serves HTTP: this thread's
 * counts plus the latest snapshot of every other serving thread, as the `clusterdns_shadow_*`
 * metrics on /metrics and the summary on /shadow.
 */
import type { Registry } from 'prom-client';
import type { ShadowSummary } from '../../api/shadow-summary.ts';
import { summarise } from './stats.ts';
import type { ShadowFacts, ShadowSnapshot, ShadowStats } from './stats.ts';

export class ShadowReport {
  private readonly stats: ShadowStats;
  private readonly facts: ShadowFacts;
  private readonly others = new Map<string, ShadowSnapshot>();

  constructor(stats: ShadowStats, facts: ShadowFacts) {
    this.stats = stats;
    this.facts = facts;
  }

  register(registry: Registry): void {
    for (const metric of this.stats.all()) metric.register(registry);
  }

  /** Takes another serving thread's counts (each call replaces that thread's previous ones). */
  absorb(source: string, snapshot: ShadowSnapshot): void {
    this.others.set(source, snapshot);
    for (const metric of this.stats.all()) metric.absorb(source, snapshot.metrics[metric.name] ?? []);
  }

  summary(): ShadowSummary {
    return summarise(this.facts, [this.stats.snapshot(), ...this.others.values()]);
  }
}
