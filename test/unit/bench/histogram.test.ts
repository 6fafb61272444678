/** The benchmark's reading of Prometheus histograms. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deltaHistogram, parseHistogram, quantile } from '../../../bench/histogram.ts';

const scrape = (fast: number, slow: number): string => [
  '# HELP m_seconds x',
  `m_seconds_bucket{name="w",rejected="false",le="0.1"} ${fast}`,
  `m_seconds_bucket{name="w",rejected="false",le="0.5"} ${fast + slow}`,
  `m_seconds_bucket{name="w",rejected="false",le="+Inf"} ${fast + slow}`,
  `m_seconds_bucket{name="w",rejected="true",le="0.1"} 1`,
  `m_seconds_bucket{name="w",rejected="true",le="0.5"} 1`,
  `m_seconds_bucket{name="w",rejected="true",le="+Inf"} 1`,
  `m_seconds_bucket{name="other",rejected="false",le="0.1"} 100`,
  `m_seconds_sum{name="w",rejected="false"} ${fast * 0.05 + slow * 0.3}`,
  `m_seconds_count{name="w",rejected="false"} ${fast + slow}`,
].join('\n');

describe('histograms', () => {
  test('series with the matching labels are summed; others ignored', () => {
    const h = parseHistogram(scrape(10, 10), 'm_seconds', { name: 'w' });
    assert.deepEqual(h.buckets, [{ le: 0.1, count: 11 }, { le: 0.5, count: 21 }, { le: Infinity, count: 21 }]);
    assert.equal(h.count, 20);
  });

  test('the difference of two scrapes is what happened between them', () => {
    const d = deltaHistogram(parseHistogram(scrape(30, 20), 'm_seconds', { rejected: 'false' }), parseHistogram(scrape(10, 10), 'm_seconds', { rejected: 'false' }));
    assert.deepEqual(d.buckets.map((b) => b.count), [20, 30, 30]);
    assert.equal(d.count, 30);
  });

  test('quantiles interpolate inside the bucket, as histogram_quantile does', () => {
    const h = { buckets: [{ le: 0.1, count: 50 }, { le: 0.5, count: 100 }, { le: Infinity, count: 100 }], sum: 0, count: 100 };
    assert.equal(quantile(h, 0.5), 0.1);
    assert.ok(Math.abs(quantile(h, 0.75) - 0.3) < 1e-9);
    assert.ok(Math.abs(quantile(h, 0.25) - 0.05) < 1e-9);
    assert.ok(Number.isNaN(quantile({ buckets: [], sum: 0, count: 0 }, 0.5)));
  });
});
