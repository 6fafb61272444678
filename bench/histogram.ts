/** Prometheus histograms from the text exposition format: parse, subtract, and quantile. */

export interface Histogram {
  /** Cumulative counts by upper bound, ascending; the last is +Inf. */
  readonly buckets: ReadonlyArray<{ readonly le: number; readonly count: number }>;
  readonly sum: number;
  readonly count: number;
}

/** Sums every series of `metric` whose labels include `match` (e.g. over `rejected`). */
export function parseHistogram(text: string, metric: string, match: Record<string, string>): Histogram {
  const buckets = new Map<number, number>();
  let sum = 0;
  let count = 0;
  for (const line of text.split('\n')) {
    const parsed = /^(\w+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!parsed?.[1]?.startsWith(metric)) continue;
    const labels = new Map([...(parsed[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1] ?? '', m[2] ?? '']));
    if (!Object.entries(match).every(([k, v]) => labels.get(k) === v)) continue;
    const value = Number(parsed[3]);
    if (parsed[1] === `${metric}_bucket`) {
      const le = labels.get('le') === '+Inf' ? Infinity : Number(labels.get('le'));
      buckets.set(le, (buckets.get(le) ?? 0) + value);
    } else if (parsed[1] === `${metric}_sum`) sum += value;
    else if (parsed[1] === `${metric}_count`) count += value;
  }
  return { buckets: [...buckets].map(([le, c]) => ({ le, count: c })).sort((a, b) => a.le - b.le), sum, count };
}

/** `after - before`: what happened between two scrapes. */
export function deltaHistogram(after: Histogram, before: Histogram): Histogram {
  const earlier = new Map(before.buckets.map((b) => [b.le, b.count]));
  return {
    buckets: after.buckets.map((b) => ({ le: b.le, count: b.count - (earlier.get(b.le) ?? 0) })),
    sum: after.sum - before.sum,
    count: after.count - before.count,
  };
}

/** The q-quantile, interpolated linearly inside its bucket (Prometheus' histogram_quantile). */
export function quantile(histogram: Histogram, q: number): number {
  const total = histogram.buckets.at(-1)?.count ?? 0;
  if (total === 0) return NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const { le, count } of histogram.buckets) {
    if (count >= rank) {
      if (le === Infinity) return lower;
      return lower + (le - lower) * ((rank - below) / Math.max(count - below, 1));
    }
    lower = le;
    below = count;
  }
  return lower;
}
