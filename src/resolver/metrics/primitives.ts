/**
 * Counters and histograms cheap enough to update on every DNS query.
 *
 * prom-client's own metrics hash their label values on every update (about 350 ns each,
 * measured; five per query would cost a fifth of the time a query takes). Here a caller
 * asks once for the child of a label set and keeps it; an update is then a field
 * increment. The metrics still render through prom-client's registry: each implements the
 * `get()` a registry calls at scrape time.
 */
import type { Metric, Registry } from 'prom-client';

type Labels = Readonly<Record<string, string>>;

/** One sample as a prom-client registry renders it. */
interface Sample {
  readonly metricName?: string;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
}

/** What a prom-client registry asks a metric for at scrape time. */
export interface Collected {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly aggregator: 'sum';
  readonly values: readonly Sample[];
}

export class CounterChild {
  value = 0;
  readonly labels: Labels;

  constructor(labels: Labels) {
    this.labels = labels;
  }

  inc(by = 1): void {
    this.value += by;
  }
}

export class HistogramChild {
  readonly labels: Labels;
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  private readonly bounds: readonly number[];

  constructor(labels: Labels, bounds: readonly number[]) {
    this.labels = labels;
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= (bounds[i] ?? Infinity)) {
        this.counts[i] = (this.counts[i] ?? 0) + 1;
        return;
      }
    }
  }
}

interface FastMetricOptions {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
}

/**
 * One child as plain data, to carry the counts of another thread to the one that serves
 * /metrics: a counter has `value`; a histogram has `counts` (per bucket, not cumulative),
 * `sum` and `count`.
 */
export interface ChildSnapshot {
  readonly labels: Labels;
  readonly value?: number;
  readonly counts?: readonly number[];
  readonly sum?: number;
  readonly count?: number;
}

abstract class FastMetric<Child extends { readonly labels: Labels }> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly aggregator = 'sum' as const;
  protected readonly children = new Map<string, Child>();
  /** The latest snapshot of this metric from each other thread. */
  protected readonly remote = new Map<string, readonly ChildSnapshot[]>();

  constructor(options: FastMetricOptions) {
    this.name = options.name;
    this.help = options.help;
    this.labelNames = options.labelNames;
  }

  /** The child of these label values (created on first use); keep it and update it directly. */
  child(labels: Labels): Child {
    const key = this.labelNames.map((n) => labels[n] ?? '').join('\u0000');
    let child = this.children.get(key);
    if (!child) {
      // Labels in the declared order, as Prometheus clients print them.
      child = this.create(Object.fromEntries(this.labelNames.map((n) => [n, labels[n] ?? ''])));
      this.children.set(key, child);
    }
    return child;
  }

  reset(): void {
    this.children.clear();
    this.remote.clear();
  }

  /** Takes the counts of another thread (replacing what it sent before). */
  absorb(source: string, children: readonly ChildSnapshot[]): void {
    this.remote.set(source, children);
  }

  abstract snapshot(): ChildSnapshot[];

  /** Own children and every thread's, one entry per label set. */
  protected merged(): ChildSnapshot[] {
    const merged = new Map<string, { labels: Labels; value: number; counts: number[]; sum: number; count: number }>();
    const add = (child: ChildSnapshot): void => {
      const key = this.labelNames.map((n) => child.labels[n] ?? '').join('\u0000');
      let entry = merged.get(key);
      if (!entry) {
        entry = { labels: child.labels, value: 0, counts: [], sum: 0, count: 0 };
        merged.set(key, entry);
      }
      entry.value += child.value ?? 0;
      (child.counts ?? []).forEach((c, i) => { entry.counts[i] = (entry.counts[i] ?? 0) + c; });
      entry.sum += child.sum ?? 0;
      entry.count += child.count ?? 0;
    };
    for (const child of this.snapshot()) add(child);
    for (const children of this.remote.values()) for (const child of children) add(child);
    return [...merged.values()];
  }

  /** Registers this metric with a prom-client registry. */
  register(registry: Registry): this {
    // The registry only calls name, get(), reset() and aggregator, all of which exist here.
    registry.registerMetric(this as unknown as Metric);
    return this;
  }

  protected abstract create(labels: Labels): Child;
}

export class FastCounter extends FastMetric<CounterChild> {
  readonly type = 'counter';

  get(): Promise<Collected> {
    const values = this.merged().map((c) => ({ labels: { ...c.labels }, value: c.value ?? 0 }));
    return Promise.resolve({ name: this.name, help: this.help, type: 'counter', aggregator: this.aggregator, values });
  }

  snapshot(): ChildSnapshot[] {
    return [...this.children.values()].map((c) => ({ labels: c.labels, value: c.value }));
  }

  protected create(labels: Labels): CounterChild {
    return new CounterChild(labels);
  }
}

export class FastHistogram extends FastMetric<HistogramChild> {
  readonly type = 'histogram';
  readonly bounds: readonly number[];

  constructor(options: FastMetricOptions & { readonly buckets: readonly number[] }) {
    super(options);
    this.bounds = [...options.buckets].sort((a, b) => a - b);
  }

  get(): Promise<Collected> {
    const values: Sample[] = [];
    for (const child of this.merged()) {
      let cumulative = 0;
      const count = child.count ?? 0;
      this.bounds.forEach((bound, i) => {
        cumulative += child.counts?.[i] ?? 0;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...child.labels, le: bound }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...child.labels, le: '+Inf' }, value: count });
      values.push({ metricName: `${this.name}_sum`, labels: { ...child.labels }, value: child.sum ?? 0 });
      values.push({ metricName: `${this.name}_count`, labels: { ...child.labels }, value: count });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: 'histogram', aggregator: this.aggregator, values });
  }

  snapshot(): ChildSnapshot[] {
    return [...this.children.values()].map((c) => ({ labels: c.labels, counts: [...c.counts], sum: c.sum, count: c.count }));
  }

  protected create(labels: Labels): HistogramChild {
    return new HistogramChild(labels, this.bounds);
  }
}

/** Prometheus `ExponentialBuckets(start, factor, count)`. */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start * factor ** i);
}
