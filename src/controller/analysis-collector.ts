/**
 * Collects the shadow summaries of each analysed instance's pods, every `spec.analysis.interval`
 * (leader only): each ready pod of the revision under analysis is asked for `/shadow` on its
 * health port, the readings are added to the instance's analysis (analysis.ts), and the
 * instance is queued so that reconcile writes status and acts on it.
 *
 * Where the summaries come from is injected (AnalysisTargets): the pods' own addresses in a
 * cluster, the loopback resolvers in local mode. A pod that cannot be read is reported and
 * counted again at the next round (its counters keep growing meanwhile); an answer that is
 * not a summary is refused whole. Reconcile tells the collector what to track; nothing starts
 * before it does, and `stop()` ends every timer.
 */
import { shadowSummarySchema } from '../api/shadow-summary.ts';
import type { AnalysisStatus } from '../api/clusterdns.ts';
import type { Logger } from '../kube/log.ts';
import { addReadings, startAnalysis } from './analysis.ts';
import type { AnalysisState, PodMemory, PodReading } from './analysis.ts';
import type { Clock, Timer } from './clock.ts';

/** Where one pod's summary is read. */
export interface AnalysisTarget {
  /** The pod's name (or, in local mode, the resolver's address). */
  readonly pod: string;
  readonly url: string;
}

export interface AnalysisTargets {
  /** The ready resolvers of `instance` that run `podRevision`. */
  of(instance: string, podRevision: string): readonly AnalysisTarget[];
}

/** GET `url`; resolves with the body of a 200, rejects otherwise (with why). */
export type SummaryFetch = (url: string, timeoutMs: number) => Promise<string>;

export interface TrackRequest {
  readonly key: string;
  readonly podRevision: string;
  readonly intervalMs: number;
  /** status.analysis as stored: the counts to continue from after an operator restart. */
  readonly recorded: AnalysisStatus | undefined;
}

export interface AnalysisCollectorOptions {
  readonly targets: AnalysisTargets;
  readonly fetch: SummaryFetch;
  readonly clock: Clock;
  readonly log: Logger;
  /** Told after every round of `name`. */
  readonly onRound: (name: string) => void;
}

interface Tracked {
  request: TrackRequest;
  state: AnalysisState;
  memories: Map<string, PodMemory>;
  /** When the operator began counting this analysis. */
  readonly countingSince: number;
  timer: Timer | undefined;
  running: boolean;
}

/** Pods read at once. */
const CONCURRENT_READS = 8;
const MAX_READ_TIMEOUT_MS = 5000;

export class AnalysisCollector {
  private readonly options: AnalysisCollectorOptions;
  private readonly tracked = new Map<string, Tracked>();
  private stopped = false;

  constructor(options: AnalysisCollectorOptions) {
    this.options = options;
  }

  /** Tracks `name` under `request` (a new key starts a new analysis); returns its analysis so far. */
  track(name: string, request: TrackRequest): AnalysisState {
    const existing = this.tracked.get(name);
    if (existing && existing.request.key === request.key) {
      const rescheduled = existing.request.intervalMs !== request.intervalMs;
      existing.request = request;
      if (rescheduled && !existing.running) this.schedule(name, existing, request.intervalMs);
      return existing.state;
    }
    existing?.timer?.cancel();
    const now = this.options.clock.now();
    const entry: Tracked = { request, state: startAnalysis(request.key, new Date(now), request.recorded), memories: new Map(), countingSince: now, timer: undefined, running: false };
    this.tracked.set(name, entry);
    if (!this.stopped) this.schedule(name, entry, 0);
    return entry.state;
  }

  forget(name: string): void {
    this.tracked.get(name)?.timer?.cancel();
    this.tracked.delete(name);
  }

  stop(): void {
    this.stopped = true;
    for (const name of [...this.tracked.keys()]) this.forget(name);
  }

  private schedule(name: string, entry: Tracked, ms: number): void {
    entry.timer?.cancel();
    entry.timer = this.options.clock.setTimer(() => { void this.round(name, entry); }, ms);
  }

  private async round(name: string, entry: Tracked): Promise<void> {
    if (this.tracked.get(name) !== entry) return;
    entry.running = true;
    const { request } = entry;
    const targets = this.options.targets.of(name, request.podRevision);
    const timeoutMs = Math.min(MAX_READ_TIMEOUT_MS, request.intervalMs);
    const readings: PodReading[] = [];
    const failures: string[] = [];
    await eachLimited(targets, CONCURRENT_READS, async (target) => {
      try {
        const summary = shadowSummarySchema.parse(JSON.parse(await this.options.fetch(target.url, timeoutMs)));
        readings.push({ pod: target.pod, summary, memory: entry.memories.get(target.pod) });
      } catch (error) {
        failures.push(`${target.pod}: ${error instanceof Error ? error.message.slice(0, 200) : String(error)}`);
      }
    });
    entry.running = false;
    // Forgotten or restarted meanwhile: this round belongs to nobody.
    if (this.tracked.get(name) !== entry) return;
    const added = addReadings(entry.state, readings, failures, entry.countingSince);
    entry.state = added.state;
    // A pod that could not be read keeps what was remembered of it; a pod that is gone is forgotten.
    for (const target of targets) {
      const memory = added.memories.get(target.pod) ?? entry.memories.get(target.pod);
      if (memory) added.memories.set(target.pod, memory);
    }
    entry.memories = added.memories;
    if (failures.length > 0) this.options.log.warn({ clusterDNS: name, failures }, 'could not read the shadow summary of some pods');
    if (!this.stopped) this.schedule(name, entry, entry.request.intervalMs);
    this.options.onRound(name);
  }
}

async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++] as T);
  }));
}
