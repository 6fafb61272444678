/**
 * The resolver command's edges, with real packets: forwarding (cache, TCP retry, timeouts,
 * stub domains, the cap on queries in flight), UDP and TCP transport (EDNS0 sizes,
 * truncation, pipelining, idle timeout, the connection cap, malformed input) and the HTTP
 * endpoints with CoreDNS's metric names.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { frame } from '../../src/dns/tcp-framing.ts';
import { controlPlane, createNamespace, eventually, kubeClient } from '../support/cluster.ts';
import { ask, decodeResponse, encodeQuery, render, udpExchange } from '../dns/client.ts';
import { ResolverProcess } from '../resolver/process.ts';
import { UpstreamServer } from '../resolver/upstream-server.ts';

let resolver: ResolverProcess;
let upstream: UpstreamServer;
let stub: UpstreamServer;
let ns = '';

describe('the resolver command\'s edges', () => {
  before(async () => {
    upstream = await UpstreamServer.start();
    stub = await UpstreamServer.start();
    ns = await createNamespace('resolver-edges');
    resolver = await ResolverProcess.start({
      kubeconfig: controlPlane().kubeconfigPath,
      config: {
        // One serving thread: the cache, the shared questions and the cap below are per thread.
        threads: 1,
        upstream: { nameservers: [upstream.address], cacheSeconds: 30, timeoutSeconds: 0.3, maxConcurrent: 2 },
        stubDomains: { 'stub.test': [stub.address] },
        tcp: { idleTimeoutSeconds: 1, maxConnections: 3 },
      },
    });
  });

  after(async () => {
    await resolver.stop();
    await upstream.stop();
    await stub.stop();
  });

  describe('forwarding', () => {
    test('asks upstream once and answers again from the cache, with TTLs capped at cacheSeconds', async () => {
      upstream.set('cached.example.test', 'A', { kind: 'answer', records: [{ type: 'A', name: 'cached.example.test', ttl: 300, data: '192.0.2.1' }] });
      const first = render(await ask(resolver.server, 'cached.example.test', 'A'));
      assert.deepEqual(first.answer, ['cached.example.test. 300 IN A 192.0.2.1']);
      const second = render(await ask(resolver.server, 'CACHED.example.test', 'A'));
      assert.equal(second.answer.length, 1);
      assert.match(second.answer[0] ?? '', /^CACHED\.example\.test\. (30|29) IN A 192\.0\.2\.1$/);
      assert.equal(upstream.count('cached.example.test'), 1);
    });

    test('keeps NXDOMAIN for the SOA minimum', async () => {
      upstream.set('gone.example.test', 'A', { kind: 'nxdomain', soaTtl: 60, minimum: 10 });
      for (let i = 0; i < 3; i++) assert.equal(render(await ask(resolver.server, 'gone.example.test', 'A')).rcode, 'NXDOMAIN');
      assert.equal(upstream.count('gone.example.test'), 1);
    });

    test('asks again over TCP when the UDP answer is truncated', async () => {
      const records = Array.from({ length: 60 }, (_, i) => ({ type: 'A' as const, name: 'big.example.test', ttl: 60, data: `192.0.2.${i + 1}` }));
      upstream.set('big.example.test', 'A', { kind: 'tcpOnly', records });
      const got = render(await ask(resolver.server, 'big.example.test', 'A', { tcp: true }));
      assert.equal(got.answer.length, 60);
      assert.equal(upstream.count('big.example.test', 'A', 'udp'), 1);
      assert.equal(upstream.count('big.example.test', 'A', 'tcp'), 1);
      const overUdp = render(await ask(resolver.server, 'big.example.test', 'A'));
      assert.equal(overUdp.tc, true, 'the cached answer does not fit 512 bytes: TC');
      assert.ok(overUdp.answer.length < 60);
    });

    test('answers SERVFAIL when upstream does not answer in time, and does not keep it', async () => {
      upstream.set('silent.example.test', 'A', { kind: 'silent' });
      const began = Date.now();
      assert.equal(render(await ask(resolver.server, 'silent.example.test', 'A')).rcode, 'SERVFAIL');
      assert.ok(Date.now() - began < 2500, 'two attempts of 0.3 s');
      assert.equal(render(await ask(resolver.server, 'silent.example.test', 'A')).rcode, 'SERVFAIL');
      assert.equal(upstream.count('silent.example.test'), 4);
    });

    test('sends stub domains to their own servers', async () => {
      stub.set('host.stub.test', 'A', { kind: 'answer', records: [{ type: 'A', name: 'host.stub.test', ttl: 60, data: '198.51.100.7' }] });
      assert.deepEqual(render(await ask(resolver.server, 'host.stub.test', 'A')).answer, ['host.stub.test. 60 IN A 198.51.100.7']);
      assert.equal(stub.count('host.stub.test'), 1);
      assert.equal(upstream.count('host.stub.test'), 0);
    });

    test('asks a question once however many clients ask it at the same time', async () => {
      upstream.set('popular.example.test', 'A', { kind: 'answer', delayMs: 150, records: [{ type: 'A', name: 'popular.example.test', ttl: 60, data: '192.0.2.9' }] });
      const answers = await Promise.all(Array.from({ length: 5 }, () => ask(resolver.server, 'popular.example.test', 'A')));
      assert.deepEqual(answers.map((a) => render(a).answer.length), [1, 1, 1, 1, 1]);
      assert.equal(upstream.count('popular.example.test'), 1);
    });

    test('refuses queries beyond the cap on exchanges in flight', async () => {
      for (const name of ['slow1', 'slow2', 'slow3']) {
        upstream.set(`${name}.example.test`, 'A', { kind: 'answer', delayMs: 200, records: [{ type: 'A', name: `${name}.example.test`, ttl: 60, data: '192.0.2.3' }] });
      }
      const [a, b] = [ask(resolver.server, 'slow1.example.test', 'A'), ask(resolver.server, 'slow2.example.test', 'A')];
      await sleep(50);
      assert.equal(render(await ask(resolver.server, 'slow3.example.test', 'A')).rcode, 'REFUSED');
      assert.deepEqual([render(await a).rcode, render(await b).rcode], ['NOERROR', 'NOERROR']);
      assert.match(await resolver.metrics(), /^coredns_forward_max_concurrent_rejects_total 1$/m);
    });

    test('answers ANY with one synthesized record and refuses zone transfers, without asking upstream', async () => {
      assert.deepEqual(render(await ask(resolver.server, 'any.example.test', 'ANY')).answer, ['any.example.test. 30 IN HINFO "RFC8482" ""']);
      assert.equal(render(await ask(resolver.server, 'example.test', 'AXFR', { tcp: true })).rcode, 'REFUSED');
      assert.equal(upstream.count('any.example.test') + upstream.count('example.test'), 0);
    });
  });

  describe('UDP and TCP', () => {
    const name = (): string => `big.${ns}.svc.cluster.local`;
    before(async () => {
      const client = kubeClient();
      await client.request('POST', `/api/v1/namespaces/${ns}/services`, { body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'big' }, spec: { clusterIP: 'None', ports: [{ port: 80 }] } } });
      await client.request('POST', `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, {
        body: {
          apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'big', labels: { 'kubernetes.io/service-name': 'big' } }, addressType: 'IPv4',
          endpoints: Array.from({ length: 40 }, (_, i) => ({ addresses: [`10.251.0.${i + 1}`], conditions: { ready: true } })), ports: [{ port: 80, protocol: 'TCP' }],
        },
      });
      await eventually(async () => { assert.equal(render(await ask(resolver.server, name(), 'A', { edns: 4096 })).answer.length, 40); }, { timeoutMs: 30_000 });
    });

    test('fit answers to 512 bytes without EDNS0, setting TC, and to the size the client advertises with it', async () => {
      const plain = await ask(resolver.server, name(), 'A');
      assert.equal(render(plain).tc, true);
      assert.ok(plain.raw.length <= 512, `${plain.raw.length} bytes`);
      assert.ok(render(plain).answer.length > 0 && render(plain).answer.length < 40);
      const edns = await ask(resolver.server, name(), 'A', { edns: 4096 });
      assert.equal(render(edns).tc, false);
      assert.equal(render(edns).answer.length, 40);
      const opt = edns.additionals?.find((r) => r.type === 'OPT');
      assert.ok(opt, 'an EDNS0 query gets an OPT record back');
      assert.equal(render(await ask(resolver.server, name(), 'A', { tcp: true })).answer.length, 40);
    });

    test('answer several queries on one TCP connection', async () => {
      const socket = await open();
      const ids = [101, 102, 103];
      const frames = ids.map((id) => frame(encodeQuery(`dns-version.cluster.local`, 'TXT', { id })));
      socket.write(Buffer.concat(frames));
      const responses = await readFrames(socket, ids.length);
      assert.deepEqual(responses.map((r) => decodeResponse(r).id).sort(), ids);
      socket.destroy();
    });

    test('close idle TCP connections, and beyond the cap the one that asked nothing for the longest', async () => {
      const idle = await open();
      const closed = new Promise<number>((resolve) => { const began = Date.now(); idle.once('close', () => { resolve(Date.now() - began); }); });
      assert.ok(await closed < 5000, 'closed after the idle timeout of 1 s');
      const [oldest, asking, third] = [await open(), await open(), await open()];
      // A query makes `asking` the most recent; `oldest` is the quietest.
      asking.write(frame(encodeQuery('dns-version.cluster.local', 'TXT', { id: 5 })));
      assert.equal(decodeResponse((await readFrames(asking, 1))[0] ?? Buffer.alloc(0)).id, 5);
      const evicted = new Promise<void>((resolve) => { oldest.once('close', () => { resolve(); }); });
      const extra = await open();
      await evicted;
      extra.write(frame(encodeQuery('dns-version.cluster.local', 'TXT', { id: 6 })));
      assert.equal(decodeResponse((await readFrames(extra, 1))[0] ?? Buffer.alloc(0)).id, 6, 'the new connection is served');
      assert.equal(asking.destroyed, false);
      for (const socket of [asking, third, extra]) socket.destroy();
      assert.match(await resolver.metrics(), /^clusterdns_resolver_tcp_closed_total\{reason="evicted"\} 1$/m);
    });

    test('answer a query they cannot read with FORMERR, never a crash', async () => {
      const truncatedQuestion = encodeQuery('example.test', 'A', { id: 7 }).subarray(0, 20);
      const response = await udpExchange(resolver.server, truncatedQuestion, 1000);
      assert.ok(response);
      assert.equal(response.readUInt16BE(0), 7);
      assert.equal(response.readUInt16BE(2) & 0xf, 1, 'FORMERR');
      assert.equal(await udpExchange(resolver.server, Buffer.from([1, 2, 3]), 300), undefined, 'shorter than a header: dropped');
      assert.equal(render(await ask(resolver.server, 'dns-version.cluster.local', 'TXT')).answer.length, 1);
    });
  });

  describe('health, readiness and metrics', () => {
    test('serve /health, /ready and CoreDNS metrics with their labels', async () => {
      assert.equal((await resolver.http(resolver.ports.healthPort, '/health')).status, 200);
      assert.equal((await resolver.http(resolver.ports.readyPort, '/ready')).status, 200);
      const metrics = await resolver.metrics();
      const server = `server="dns://127.0.0.1:${resolver.ports.port}",zone=".",view=""`;
      for (const pattern of [
        new RegExp(`^coredns_dns_requests_total\\{${server},proto="udp",family="1",type="A"\\} \\d+`, 'm'),
        new RegExp(`^coredns_dns_requests_total\\{${server},proto="tcp",family="1",type="A"\\} \\d+`, 'm'),
        new RegExp(`^coredns_dns_responses_total\\{${server},rcode="NOERROR",plugin="kubernetes"\\} \\d+`, 'm'),
        new RegExp(`^coredns_dns_responses_total\\{${server},rcode="SERVFAIL",plugin="forward"\\} \\d+`, 'm'),
        new RegExp(`^coredns_dns_request_duration_seconds_bucket\\{${server},le="0.00025"\\} \\d+`, 'm'),
        new RegExp(`^coredns_dns_response_size_bytes_count\\{${server},proto="udp"\\} \\d+`, 'm'),
        /^coredns_cache_hits_total\{server="[^"]+",type="success",zones=".",view=""\} [1-9]/m,
        /^coredns_cache_misses_total\{server="[^"]+",zones=".",view=""\} [1-9]/m,
        /^coredns_cache_entries\{server="[^"]+",type="denial",zones=".",view=""\} [1-9]/m,
        new RegExp(`^coredns_proxy_request_duration_seconds_count\\{proxy_name="forward",to="${upstream.address}",rcode="NOERROR"\\} [1-9]`, 'm'),
        /^coredns_build_info\{version="[^"]+",revision="[^"]*",goversion="[^"]+"\} 1$/m,
        /^process_resident_memory_bytes \d+/m,
      ]) assert.match(metrics, pattern);
    });

    test('observe the DNS programming latency of an EndpointSlice change by service kind', async () => {
      const client = kubeClient();
      await client.request('POST', `/api/v1/namespaces/${ns}/services`, { body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'timed' }, spec: { ports: [{ port: 80 }] } } });
      await eventually(async () => { assert.equal(render(await ask(resolver.server, `timed.${ns}.svc.cluster.local`, 'A')).rcode, 'NOERROR'); }, { timeoutMs: 30_000 });
      await client.request('POST', `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, {
        body: {
          apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4',
          metadata: { name: 'timed', labels: { 'kubernetes.io/service-name': 'timed' }, annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': new Date().toISOString() } },
          endpoints: [{ addresses: ['10.252.0.1'] }], ports: [{ port: 80, protocol: 'TCP' }],
        },
      });
      await eventually(async () => {
        assert.match(await resolver.metrics(), /^coredns_kubernetes_dns_programming_duration_seconds_count\{service_kind="cluster_ip"\} [1-9]/m);
      }, { timeoutMs: 30_000 });
    });
  });


  function open(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = connect(resolver.ports.port, '127.0.0.1', () => { resolve(socket); });
      socket.on('error', reject);
    });
  }

  function readFrames(socket: Socket, count: number): Promise<Buffer[]> {
    return new Promise((resolve, reject) => {
      let buffered = Buffer.alloc(0);
      const frames: Buffer[] = [];
      const timer = setTimeout(() => { reject(new Error(`only ${frames.length} of ${count} responses`)); }, 5000);
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
          frames.push(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
          buffered = buffered.subarray(2 + buffered.readUInt16BE(0));
        }
        if (frames.length >= count) {
          clearTimeout(timer);
          resolve(frames);
        }
      });
    });
  }
});
