/** CoreDNS's metric names and labels, and the counts of several serving threads added up. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ResolverMetrics } from '../../../../src/resolver/metrics/registry.ts';
import { QueryStats } from '../../../../src/resolver/metrics/query-stats.ts';

describe('the metrics', () => {
  test('count requests, responses, sizes and durations under CoreDNS names and labels', async () => {
    const stats = new QueryStats('dns://:1053');
    const metrics = new ResolverMetrics(stats, '1.2.3');
    stats.request('udp', 4, 1, 0, 'kubernetes', 40, 90, 0.0001, false);
    stats.request('tcp', 6, 33, 3, 'kubernetes', 40, 90, 0.002, true);
    stats.request('udp', 4, 65535, 2, 'forward', 40, 90, 3, false);
    const text = await metrics.text();
    for (const line of [
      'coredns_dns_requests_total{server="dns://:1053",zone=".",view="",proto="udp",family="1",type="A"} 1',
      'coredns_dns_requests_total{server="dns://:1053",zone=".",view="",proto="tcp",family="2",type="SRV"} 1',
      'coredns_dns_requests_total{server="dns://:1053",zone=".",view="",proto="udp",family="1",type="other"} 1',
      'coredns_dns_responses_total{server="dns://:1053",zone=".",view="",rcode="NXDOMAIN",plugin="kubernetes"} 1',
      'coredns_dns_responses_total{server="dns://:1053",zone=".",view="",rcode="SERVFAIL",plugin="forward"} 1',
      'coredns_dns_request_duration_seconds_bucket{server="dns://:1053",zone=".",view="",le="0.00025"} 1',
      'coredns_dns_request_duration_seconds_bucket{server="dns://:1053",zone=".",view="",le="+Inf"} 3',
      'coredns_dns_request_duration_seconds_count{server="dns://:1053",zone=".",view=""} 3',
      'coredns_dns_response_size_bytes_bucket{server="dns://:1053",zone=".",view="",proto="udp",le="100"} 2',
      'coredns_dns_do_requests_total{server="dns://:1053",zone=".",view=""} 1',
      'coredns_panics_total 0',
      'coredns_build_info{version="1.2.3",revision="clusterdns",goversion="node' + process.versions.node + '"} 1',
    ]) assert.ok(text.split('\n').includes(line), `missing: ${line}`);
  });

  test('add up the counters of every serving thread', async () => {
    const main = new QueryStats('dns://:1053');
    const metrics = new ResolverMetrics(main, 'test');
    const other = new QueryStats('dns://:1053');
    main.request('udp', 4, 1, 0, 'kubernetes', 40, 90, 0.001, false);
    other.request('udp', 4, 1, 0, 'kubernetes', 40, 90, 0.001, false);
    other.request('udp', 4, 1, 0, 'kubernetes', 40, 90, 0.001, false);
    other.cacheLookup('success');
    other.watchCache(() => ({ success: 5, denial: 1 }));
    main.watchCache(() => ({ success: 2, denial: 0 }));
    metrics.absorb('thread-1', other.snapshot());
    metrics.absorb('thread-1', other.snapshot());
    const text = await metrics.text();
    assert.match(text, /^coredns_dns_requests_total\{[^}]*type="A"\} 3$/m);
    assert.match(text, /^coredns_dns_request_duration_seconds_count\{[^}]*\} 3$/m);
    assert.match(text, /^coredns_cache_hits_total\{server="dns:\/\/:1053",type="success",zones=".",view=""\} 1$/m);
    assert.match(text, /^coredns_cache_entries\{server="dns:\/\/:1053",type="success",zones=".",view=""\} 7$/m);
  });

  test('observe the programming latency by service kind', async () => {
    const metrics = new ResolverMetrics(new QueryStats('x'), 'test');
    metrics.programmed('headless_with_selector', 0.004);
    assert.match(await metrics.text(), /^coredns_kubernetes_dns_programming_duration_seconds_bucket\{le="0.004",service_kind="headless_with_selector"\} 1$/m);
  });
});
