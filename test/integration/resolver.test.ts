/**
 * The resolver command against the real control plane, asked with real packets: every
 * answer rule after creating, updating and deleting the objects in the apiserver, with
 * EndpointSlices written directly and made by the EndpointSlice controller for KWOK pods.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ipv6ToBytes } from '../../src/dns/ip.ts';
import { controlPlane, createNamespace, eventually, kubeClient } from '../support/cluster.ts';
import { ask, render } from '../dns/client.ts';
import type { Rendered } from '../dns/client.ts';
import { ResolverProcess } from '../resolver/process.ts';
import { UpstreamServer } from '../resolver/upstream-server.ts';

const ZONE = 'cluster.local';
const TTL = 30;

let resolver: ResolverProcess;
let upstream: UpstreamServer;
let ns = '';

async function query(name: string, type: string, options: Parameters<typeof ask>[3] = {}): Promise<Rendered> {
  return render(await ask(resolver.server, name, type, options));
}

/** Retries until the answer is as expected (the watch delivers changes within milliseconds; 30 s is slack for a loaded machine). */
async function expectAnswer(name: string, type: string, expected: Partial<Rendered>): Promise<void> {
  await eventually(async () => {
    const got = await query(name, type);
    const view = Object.fromEntries(Object.keys(expected).map((k) => [k, got[k as keyof Rendered]]));
    assert.deepEqual(view, expected, `${name} ${type}`);
  }, { timeoutMs: 30_000, what: `${name} ${type}` });
}

function soa(): RegExp {
  return new RegExp(`^${ZONE}\\. ${TTL} IN SOA ns\\.dns\\.${ZONE}\\. hostmaster\\.${ZONE}\\. \\d+ 7200 1800 86400 ${TTL}$`);
}

async function expectNegative(name: string, type: string, rcode: 'NXDOMAIN' | 'NOERROR'): Promise<void> {
  await eventually(async () => {
    const got = await query(name, type);
    assert.equal(got.rcode, rcode, `${name} ${type}`);
    assert.equal(got.aa, true);
    assert.deepEqual(got.answer, []);
    assert.equal(got.ns.length, 1);
    assert.match(got.ns[0] ?? '', soa());
  }, { timeoutMs: 30_000, what: `${name} ${type} ${rcode}` });
}

const client = (): ReturnType<typeof kubeClient> => kubeClient();

function post(path: string, body: object): Promise<unknown> {
  return client().request('POST', `/api/v1/namespaces/${ns}/${path}`, { body });
}

function postSlice(body: object): Promise<unknown> {
  return client().request('POST', `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, { body });
}

interface ServiceJson {
  spec: { clusterIP: string; ports: Array<{ name?: string; port: number }> };
}

describe('the resolver against the real control plane', () => {
  before(async () => {
    upstream = await UpstreamServer.start();
    ns = await createNamespace('resolver');
    resolver = await ResolverProcess.start({ kubeconfig: controlPlane().kubeconfigPath, config: { ttl: TTL, upstream: { nameservers: [upstream.address] } } });
  });

  after(async () => {
    await resolver.stop();
    await upstream.stop();
  });

  describe('a ClusterIP Service', () => {
    test('is answered once created, follows updates and is NXDOMAIN once deleted', async () => {
      await post('services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { ports: [{ name: 'http', port: 80 }] } });
      const web = await client().request<ServiceJson>('GET', `/api/v1/namespaces/${ns}/services/web`);
      const ip = web.spec.clusterIP;
      const name = `web.${ns}.svc.${ZONE}`;
      await expectAnswer(name, 'A', { rcode: 'NOERROR', aa: true, answer: [`${name}. ${TTL} IN A ${ip}`] });
      await expectNegative(name, 'AAAA', 'NOERROR');
      await expectAnswer(`_http._tcp.${name}`, 'SRV', {
        answer: [`_http._tcp.${name}. ${TTL} IN SRV 0 100 80 ${name}.`], extra: [`${name}. ${TTL} IN A ${ip}`],
      });
      const reverse = `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
      await expectAnswer(reverse, 'PTR', { rcode: 'NOERROR', aa: true, answer: [`${reverse}. ${TTL} IN PTR ${name}.`] });

      await client().request('PATCH', `/api/v1/namespaces/${ns}/services/web`, {
        body: { spec: { ports: [{ name: 'http', port: 80 }, { name: 'metrics', port: 9090 }] } }, contentType: 'application/strategic-merge-patch+json',
      });
      await expectAnswer(`_metrics._tcp.${name}`, 'SRV', { answer: [`_metrics._tcp.${name}. ${TTL} IN SRV 0 100 9090 ${name}.`] });

      await client().request('DELETE', `/api/v1/namespaces/${ns}/services/web`);
      await expectNegative(name, 'A', 'NXDOMAIN');
      assert.equal(upstream.count(reverse), 0, 'a cluster PTR is never forwarded');
    });

    test('is matched without case and answered in the case asked', async () => {
      await post('services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'cased' }, spec: { ports: [{ port: 80 }] } });
      const asked = `CaSeD.${ns.toUpperCase()}.svc.Cluster.Local`;
      await eventually(async () => {
        const got = await query(asked, 'A');
        assert.equal(got.answer.length, 1);
        assert.ok(got.answer[0]?.startsWith(`${asked}. ${TTL} IN A 10.`), got.answer[0]);
      }, { timeoutMs: 30_000 });
    });
  });

  describe('a headless Service with EndpointSlices written directly', () => {
    const slice = (ready: boolean | undefined, hostname?: string): object => ({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: `db-${hostname ?? String(ready)}`, labels: { 'kubernetes.io/service-name': 'db' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: [ready === false ? '10.250.0.3' : hostname ? '10.250.0.1' : '10.250.0.2'], ...(hostname ? { hostname } : {}), conditions: ready === undefined ? {} : { ready } }],
      ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
    });

    test('answers its ready endpoints (ready absent counts), by service, hostname and dashed address', async () => {
      await post('services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'db' }, spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] } });
      const name = `db.${ns}.svc.${ZONE}`;
      await expectNegative(name, 'A', 'NXDOMAIN');
      await postSlice(slice(true, 'primary'));
      await postSlice(slice(undefined));
      await postSlice(slice(false));
      await expectAnswer(name, 'A', { answer: [`${name}. ${TTL} IN A 10.250.0.1`, `${name}. ${TTL} IN A 10.250.0.2`] });
      await expectAnswer(`primary.${name}`, 'A', { answer: [`primary.${name}. ${TTL} IN A 10.250.0.1`] });
      await expectAnswer(`10-250-0-2.${name}`, 'A', { answer: [`10-250-0-2.${name}. ${TTL} IN A 10.250.0.2`] });
      await expectNegative(`10-250-0-3.${name}`, 'A', 'NXDOMAIN');
      await expectAnswer(`_pg._tcp.${name}`, 'SRV', {
        answer: [`_pg._tcp.${name}. ${TTL} IN SRV 0 50 5432 10-250-0-2.${name}.`, `_pg._tcp.${name}. ${TTL} IN SRV 0 50 5432 primary.${name}.`],
        extra: [`10-250-0-2.${name}. ${TTL} IN A 10.250.0.2`, `primary.${name}. ${TTL} IN A 10.250.0.1`],
      });
      await expectAnswer('1.0.250.10.in-addr.arpa', 'PTR', { answer: [`1.0.250.10.in-addr.arpa. ${TTL} IN PTR primary.${name}.`] });
    });

    test('follows an endpoint turning ready and a slice going away', async () => {
      const name = `db.${ns}.svc.${ZONE}`;
      await client().request('PATCH', `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices/db-false`, {
        body: [{ op: 'replace', path: '/endpoints/0/conditions/ready', value: true }], contentType: 'application/json-patch+json',
      });
      await expectAnswer(`10-250-0-3.${name}`, 'A', { answer: [`10-250-0-3.${name}. ${TTL} IN A 10.250.0.3`] });
      for (const s of ['db-primary', 'db-undefined', 'db-false']) await client().request('DELETE', `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices/${s}`);
      await expectNegative(name, 'A', 'NXDOMAIN');
    });
  });

  describe('a headless Service of KWOK pods, with slices made by the EndpointSlice controller', () => {
    const labels = { app: 'kwok-web' };
    const podBody = (name: string): object => ({
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name, labels },
      spec: { hostname: name, subdomain: 'pods', containers: [{ name: 'web', image: 'registry.example/web:1' }] },
    });

    test('answers each ready pod by address and by its hostname, and drops a deleted pod', async () => {
      await post('services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'pods' }, spec: { clusterIP: 'None', selector: labels, ports: [{ name: 'http', port: 80 }] } });
      await post('pods', podBody('one'));
      await post('pods', podBody('two'));
      const name = `pods.${ns}.svc.${ZONE}`;
      const ips = await eventually(async () => {
        const got = await query(name, 'A');
        assert.equal(got.answer.length, 2, 'both pods are answered');
        return got.answer.map((line) => line.split(' ').pop() ?? '');
      }, { timeoutMs: 60_000, what: 'the pods of a headless service' });
      for (const ip of ips) assert.match(ip, /^10\.244\.\d+\.\d+$/);
      const one = await query(`one.${name}`, 'A');
      assert.equal(one.answer.length, 1);
      await client().request('DELETE', `/api/v1/namespaces/${ns}/pods/one?gracePeriodSeconds=0`);
      await expectNegative(`one.${name}`, 'A', 'NXDOMAIN');
      await expectAnswer(`two.${name}`, 'A', { rcode: 'NOERROR' });
    });
  });

  describe('an ExternalName Service', () => {
    test('is a CNAME, chased upstream for A', async () => {
      upstream.set('db.example.test', 'A', { kind: 'answer', records: [{ type: 'A', name: 'db.example.test', ttl: 120, data: '192.0.2.10' }] });
      await post('services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext' }, spec: { type: 'ExternalName', externalName: 'db.example.test' } });
      const name = `ext.${ns}.svc.${ZONE}`;
      await expectAnswer(name, 'CNAME', { answer: [`${name}. ${TTL} IN CNAME db.example.test.`] });
      await expectAnswer(name, 'A', { rcode: 'NOERROR', aa: true, answer: ['db.example.test. 120 IN A 192.0.2.10', `${name}. ${TTL} IN CNAME db.example.test.`] });
      await expectNegative(name, 'SRV', 'NOERROR');
    });
  });

  describe('pod names (pods: insecure)', () => {
    test('answer the address in the name in an existing namespace only', async () => {
      await expectAnswer(`10-244-7-7.${ns}.pod.${ZONE}`, 'A', { answer: [`10-244-7-7.${ns}.pod.${ZONE}. ${TTL} IN A 10.244.7.7`] });
      await expectNegative(`10-244-7-7.no-such-namespace.pod.${ZONE}`, 'A', 'NXDOMAIN');
      await expectNegative(`fd00--7.${ns}.pod.${ZONE}`, 'A', 'NOERROR');
    });
  });

  describe('names of the zone itself', () => {
    test('answer SOA and NS at the apex, the schema version, NODATA for namespaces and NXDOMAIN after one is deleted', async () => {
      const apex = await query(ZONE, 'SOA');
      assert.equal(apex.answer.length, 1);
      assert.match(apex.answer[0] ?? '', soa());
      await expectAnswer(ZONE, 'NS', { answer: [`${ZONE}. ${TTL} IN NS ns.dns.${ZONE}.`] });
      await expectAnswer(`dns-version.${ZONE}`, 'TXT', { answer: [`dns-version.${ZONE}. ${TTL} IN TXT "1.1.0"`] });
      for (const name of [ZONE, `svc.${ZONE}`, `pod.${ZONE}`, `${ns}.svc.${ZONE}`]) await expectNegative(name, 'A', 'NOERROR');
      await expectNegative(`${ns}.nope.${ZONE}`, 'A', 'NXDOMAIN');
      const doomed = await createNamespace('resolver-gone');
      await expectNegative(`${doomed}.svc.${ZONE}`, 'A', 'NOERROR');
      await client().request('DELETE', `/api/v1/namespaces/${doomed}`);
      await eventually(async () => {
        await assert.rejects(client().request('GET', `/api/v1/namespaces/${doomed}`));
      }, { timeoutMs: 60_000, what: 'the namespace is gone' });
      await expectNegative(`${doomed}.svc.${ZONE}`, 'A', 'NXDOMAIN');
      assert.equal(upstream.queries.filter((q) => q.name.endsWith(ZONE)).length, 0, 'the cluster zone is never forwarded');
    });

    test('send reverse names of addresses the cluster does not have upstream', async () => {
      const nibbles = Buffer.from(ipv6ToBytes('fd00::99')).toString('hex').split('').reverse().join('.');
      const got = await query(`${nibbles}.ip6.arpa`, 'PTR');
      assert.equal(got.rcode, 'NXDOMAIN', 'upstream said NXDOMAIN');
      assert.equal(upstream.count(`${nibbles}.ip6.arpa`, 'PTR'), 1);
    });
  });
});
