/** The scale mode's cluster shape and its section of bench/RESULTS.md. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { scaleSection, scaleShape } from '../../../bench/resolver/scale.ts';
import type { ScaleReport, Side } from '../../../bench/resolver/scale.ts';
import { storedObjects } from '../../../bench/resolver/seed.ts';
import { benchServices } from '../../../bench/resolver/cluster-load.ts';

const MiB = 2 ** 20;

interface Stored {
  readonly metadata: { readonly uid: string; readonly creationTimestamp: string; readonly labels?: Readonly<Record<string, string>> };
  readonly spec?: { readonly clusterIP?: string; readonly clusterIPs?: readonly string[]; readonly parentRef?: object };
  readonly endpoints?: readonly unknown[];
}
const side = (start: number, rss: number, p99: number): Side => ({
  startMs: new Map([[1, start], [2, start * 1.5], [4, start * 2]]),
  rss: new Map([[1, rss * MiB], [2, rss * 1.5 * MiB], [4, rss * 2 * MiB]]),
  loadedRss: new Map([[1, (rss + 40) * MiB], [4, (rss * 2 + 60) * MiB]]),
  propagation: { samples: 50, p50Ms: p99 / 2, p99Ms: p99, maxMs: p99 },
});

const report = (ours: Side, theirs: Side): ScaleReport => ({
  date: '2026-12-02 03:00 UTC', command: 'npm run bench:resolver -- --services 1000', machine: '2 cores',
  shape: scaleShape(1000), createSeconds: 20, ours, theirs, cores: { client: '1', server: '0' }, machineCores: 2,
});

describe('scale benchmark', () => {
  for (const [services, namespaces] of [[100, 1], [1000, 10], [50_000, 500], [149, 1]] as const) {
    test(`${services} Services: ${namespaces} namespace(s) of about 100, 5 endpoints each`, () => {
      assert.deepEqual(scaleShape(services), { services, namespaces, endpointsPerService: 5 });
    });
  }

  test('one row per measure with the ratio to CoreDNS, and the creation rate', () => {
    const text = scaleSection(report(side(2000, 100, 300), side(4000, 50, 300)));
    assert.match(text, /^## Resolver at 1,000 Services$/m);
    assert.match(text, /\| start until answering, 1 thread\(s\) \(s\) \| 2\.0 \| 4\.0 \| 0\.50x \|/);
    assert.match(text, /\| RSS after sync, 4 thread\(s\) \(MiB\) \| 200 \| 100 \| 2\.00x \|/);
    assert.match(text, /\| propagation p99 \(ms\) \| 300\.0 \| 300\.0 \| 1\.00x \|/);
    assert.match(text, /\| RSS 4 threads \/ 1 thread \| 2\.00 \| 2\.00 \| 1\.00x \|/);
    assert.match(text, /\| RSS after saturating load, 4 thread\(s\) \(MiB\) \| 260 \| 160 \| 1\.63x \|/);
    assert.match(text, /\| under load, each thread beyond the first \(MiB\) \| 40\.0 \| 23\.3 \| 1\.71x \|/);
    assert.match(text, /2,000 objects \(and an IPAddress per clusterIP\) written into etcd in 20\.0 s \(100 objects\/s;/);
  });

  test('the default limit: start, peak and OOM kills side by side, n/a start for a server that never answered', () => {
    const ours = { ...side(2000, 100, 300), limited: { limitBytes: 170 * MiB, startMs: 2500, threads: 1, peakBytes: 140 * MiB, oomKills: 0 } };
    const theirs = { ...side(4000, 50, 300), limited: { limitBytes: 170 * MiB, startMs: undefined, threads: undefined, peakBytes: 170 * MiB, oomKills: 3 } };
    const text = scaleSection(report(ours, theirs));
    assert.match(text, /\| in the default 170 MiB limit: start until answering \(s\) \| 2\.5 \| n\/a \| {2}\|/);
    assert.match(text, /\| in the default 170 MiB limit: peak charged, saturating load included \(MiB\) \| 140 \| 170 \| 0\.82x \|/);
    assert.match(text, /\| in the default 170 MiB limit: OOM kills \| 0 \| 3 \| \|/);
    assert.match(text, /\| in the default 170 MiB limit: serving threads \| 1 \(threads: auto\) \| GOMAXPROCS 2 \| \|/);
  });

  test('the limit sized for the cluster: each side\'s limit, and its start, peak and OOM kills in it', () => {
    const ours = { ...side(2000, 100, 300), sized: { limitBytes: 224 * MiB, startMs: 9000, threads: 1, peakBytes: 160 * MiB, oomKills: 0 } };
    const theirs = { ...side(4000, 50, 300), sized: { limitBytes: 1152 * MiB, startMs: 10_000, threads: undefined, peakBytes: 900 * MiB, oomKills: 0 } };
    const text = scaleSection(report(ours, theirs));
    assert.match(text, /\| in the limit sized for this cluster: the limit \(MiB\) \| 224 \| 1,152 \| 0\.19x \|/);
    assert.match(text, /\| in the limit sized for this cluster: peak charged, saturating load included \(MiB\) \| 160 \| 900 \| 0\.18x \|/);
    assert.match(text, /\| in the limit sized for this cluster: OOM kills \| 0 \| 0 \| \|/);
  });

  test('a measure that did not run reads n/a, without a ratio', () => {
    const text = scaleSection(report(side(2000, 100, 300), { startMs: new Map(), rss: new Map() }));
    assert.match(text, /\| cluster-name QPS, one core \| n\/a \| n\/a \| {2}\|/);
    assert.match(text, /\| start until answering, 2 thread\(s\) \(s\) \| 3\.0 \| n\/a \| {2}\|/);
  });

  test('seeded objects: a Service as the apiserver stores it, its IPAddress and its EndpointSlice; none for a headless one', () => {
    const services = benchServices(scaleShape(1000));
    const stored = (i: number, created = ''): Stored[] => {
      const service = services[i];
      assert.ok(service);
      return storedObjects(service, i, created).map((o) => o.value as Stored);
    };
    const first = storedObjects(services[0] ?? assert.fail(), 0, '2026-12-02T03:00:00Z');
    assert.deepEqual(first.map((o) => o.key), ['/registry/services/specs/bench-0/svc-0', '/registry/endpointslices/bench-0/svc-0-bench', '/registry/ipaddresses/10.100.0.1']);
    const [service, slice, address] = stored(0, '2026-12-02T03:00:00Z') as [Stored, Stored, Stored];
    const spec = service.spec ?? assert.fail('a Service has a spec');
    assert.equal(spec.clusterIP, '10.100.0.1');
    assert.deepEqual(spec.clusterIPs, ['10.100.0.1']);
    assert.equal(service.metadata.creationTimestamp, '2026-12-02T03:00:00Z');
    assert.equal(slice.metadata.labels?.['kubernetes.io/service-name'], 'svc-0');
    assert.equal(slice.endpoints?.length, 5);
    assert.deepEqual(address.spec?.parentRef, { group: '', resource: 'services', namespace: 'bench-0', name: 'svc-0' });
    assert.equal(address.metadata.labels?.['ipaddress.kubernetes.io/managed-by'], 'ipallocator.k8s.io');
  });

  test('seeded addresses: one after the other from 10.100.0.1; a headless Service has none and no IPAddress', () => {
    const services = benchServices(scaleShape(1000));
    const stored = (i: number): Stored[] => storedObjects(services[i] ?? assert.fail(), i, '').map((o) => o.value as Stored);
    assert.equal(stored(300)[0]?.spec?.clusterIP, '10.100.1.45');
    const headless = stored(9);
    assert.equal(headless.length, 2);
    assert.equal(headless[0]?.spec?.clusterIP, 'None');
    assert.notEqual(stored(0)[0]?.metadata.uid, stored(0)[0]?.metadata.uid);
  });
});
