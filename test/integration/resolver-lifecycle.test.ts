/**
 * The resolver command's life: a YAML config, a config it refuses (with the field named),
 * answers before the first sync (SERVFAIL, never NXDOMAIN, and /ready 503), and lameduck
 * after SIGTERM (still answering, /health up, /ready down, then exit 0); serving threads on one
 * shared index (folded tables reach every thread), and `threads: auto` within a memory limit.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadKubeConfig } from '../../src/kube/client.ts';
import { foldThreshold } from '../../src/resolver/cluster/cluster-index.ts';
import { freePort } from '../../src/local/net.ts';
import { createMemoryLimit } from '../support/memory-limit.ts';
import { controlPlane, createNamespace, eventually, kubeClient } from '../support/cluster.ts';
import { ask, render } from '../dns/client.ts';
import { ResolverProcess } from '../resolver/process.ts';
import { UpstreamServer } from '../resolver/upstream-server.ts';

let upstream: UpstreamServer;
const started: ResolverProcess[] = [];

async function start(options: Parameters<typeof ResolverProcess.start>[0]): Promise<ResolverProcess> {
  const resolver = await ResolverProcess.start(options);
  started.push(resolver);
  return resolver;
}

describe('the resolver command\'s life', () => {
  before(async () => {
    upstream = await UpstreamServer.start();
    upstream.set('outside.example.test', 'A', { kind: 'answer', records: [{ type: 'A', name: 'outside.example.test', ttl: 60, data: '192.0.2.44' }] });
  });

  after(async () => {
    for (const resolver of started) await resolver.stop();
    await upstream.stop();
  });

  describe('the config file', () => {
    test('may be YAML', async () => {
      const ports = { port: await freePort(), healthPort: await freePort(), readyPort: await freePort(), metricsPort: await freePort() };
      const yaml = [
        'listenAddress: 127.0.0.1',
        ...Object.entries(ports).map(([k, v]) => `${k}: ${v}`),
        'ttl: 7',
        'upstream:',
        `  nameservers: ["${upstream.address}"]`,
        '',
      ].join('\n');
      const resolver = await ResolverProcess.start({ kubeconfig: controlPlane().kubeconfigPath, configText: yaml, configName: 'resolver.yaml', waitReady: false });
      started.push(resolver);
      await eventually(async () => {
        const got = render(await ask({ host: '127.0.0.1', port: ports.port }, 'cluster.local', 'SOA', { timeoutMs: 500 }));
        assert.match(got.answer[0] ?? '', /^cluster\.local\. 7 IN SOA /);
      }, { timeoutMs: 30_000 });
    });

    for (const [title, text, expected] of [
      ['a wrong type', '{"port": "fifty-three"}', /resolver\.json: port: .*number/],
      ['an unknown pods mode', '{"pods": "sometimes"}', /pods: /],
      ['a nameserver that is not an address', '{"upstream": {"nameservers": ["dns.example"]}}', /upstream\.nameservers\.0: "dns\.example" is not an IP address/],
      ['JSON it cannot read', '{"port": ', /not valid JSON/],
    ] as const) {
      test(`is refused at start, with the field named, when it has ${title}`, async () => {
        const resolver = await start({ kubeconfig: controlPlane().kubeconfigPath, configText: text, waitReady: false });
        assert.equal(await resolver.waitExit(), 2);
        assert.match(resolver.logs, expected);
      });
    }

    test('exits 2 when a port it must bind is taken, instead of staying up half-listening', async () => {
      const taken = createServer();
      await new Promise<void>((resolve) => { taken.listen(0, '127.0.0.1', resolve); });
      try {
        const address = taken.address();
        assert.ok(address !== null && typeof address === 'object');
        const ports = { port: await freePort(), healthPort: address.port, readyPort: await freePort(), metricsPort: await freePort() };
        const text = JSON.stringify({ listenAddress: '127.0.0.1', ...ports, upstream: { nameservers: [upstream.address] } });
        const resolver = await start({ kubeconfig: controlPlane().kubeconfigPath, configText: text, waitReady: false });
        assert.equal(await resolver.waitExit(), 2);
        assert.match(resolver.logs, new RegExp(`EADDRINUSE.*:${address.port}`));
      } finally {
        await new Promise((resolve) => taken.close(resolve));
      }
    });

    test('is refused when it is YAML that cannot be read', async () => {
      const resolver = await start({ kubeconfig: controlPlane().kubeconfigPath, configText: 'port: [1053\n', configName: 'resolver.yaml', waitReady: false });
      assert.equal(await resolver.waitExit(), 2);
      assert.match(resolver.logs, /resolver\.yaml: not valid YAML/);
    });
  });

  describe('before the first sync', () => {
    test('answers SERVFAIL for cluster names, still forwards the rest, and is not ready', async () => {
      // A kubeconfig whose apiserver never answers: the watches keep retrying.
      const unreachable = `${controlPlane().dir}/unreachable-${process.pid}.kubeconfig`;
      const port = await freePort();
      writeFileSync(unreachable, readFileSync(controlPlane().kubeconfigPath, 'utf8').replace(/server: https:\/\/127\.0\.0\.1:\d+/, `server: https://127.0.0.1:${port}`));
      const resolver = await start({ kubeconfig: unreachable, config: { upstream: { nameservers: [upstream.address] } }, waitReady: false });
      await eventually(async () => { assert.equal((await resolver.http(resolver.ports.healthPort, '/health')).status, 200); }, { timeoutMs: 30_000 });
      assert.equal((await resolver.http(resolver.ports.readyPort, '/ready')).status, 503);
      for (const name of ['kubernetes.default.svc.cluster.local', 'default.svc.cluster.local', '1-2-3-4.default.pod.cluster.local']) {
        const got = render(await ask(resolver.server, name, 'A'));
        assert.equal(got.rcode, 'SERVFAIL', name);
        assert.match(got.ns[0] ?? '', /^cluster\.local\. 30 IN SOA ns\.dns\.cluster\.local\. /);
      }
      assert.equal(render(await ask(resolver.server, 'dns-version.cluster.local', 'TXT')).answer.length, 1);
      assert.deepEqual(render(await ask(resolver.server, 'outside.example.test', 'A')).answer, ['outside.example.test. 60 IN A 192.0.2.44']);
    });
  });

  describe('several serving threads', () => {
    test('share the port, each answer from the shared index with its own cache, and count together', async () => {
      const ns = await createNamespace('threads');
      const resolver = await start({ kubeconfig: controlPlane().kubeconfigPath, config: { threads: 3, upstream: { nameservers: [upstream.address] } } });
      // Created after the start: the threads learn it from the main thread's watch.
      await kubeClient().request('POST', `/api/v1/namespaces/${ns}/services`, { body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'late' }, spec: { ports: [{ port: 80 }] } } });
      const name = `late.${ns}.svc.cluster.local`;
      await eventually(async () => { assert.equal(render(await ask(resolver.server, name, 'A')).answer.length, 1); }, { timeoutMs: 30_000 });
      // Every query comes from a new port, so the kernel spreads them over the threads.
      const answers = await Promise.all(Array.from({ length: 60 }, () => ask(resolver.server, name, 'A')));
      assert.deepEqual(new Set(answers.map((a) => render(a).answer.join())).size, 1, 'every thread gives the same answer');
      upstream.set('spread.example.test', 'A', { kind: 'answer', records: [{ type: 'A', name: 'spread.example.test', ttl: 60, data: '192.0.2.5' }] });
      for (let i = 0; i < 30; i++) await ask(resolver.server, 'spread.example.test', 'A');
      const asked = upstream.count('spread.example.test');
      assert.ok(asked >= 2 && asked <= 3, `${asked} threads asked upstream (one cache each)`);
      const metrics = await resolver.metrics();
      const total = [...metrics.matchAll(/^coredns_dns_requests_total\{[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
      assert.ok(total >= 90, `${total} requests counted across the threads`);
      assert.equal(await resolver.signal('SIGTERM'), 0);
    });
  });

  describe('one index for every serving thread', () => {
    test('many changes are folded into new shared tables, and every thread answers from them', async () => {
      const ns = await createNamespace('fold');
      const resolver = await start({ kubeconfig: controlPlane().kubeconfigPath, config: { threads: 3, upstream: { nameservers: [upstream.address] } } });
      // More changes than a table takes before they are folded in (ExternalName: no clusterIP to allocate, so they are quick to make).
      const count = foldThreshold(0) + 100;
      const create = (i: number): Promise<unknown> => kubeClient().request('POST', `/api/v1/namespaces/${ns}/services`, {
        body: { apiVersion: 'v1', kind: 'Service', metadata: { name: `s${i}` }, spec: { type: 'ExternalName', externalName: `s${i}.example.test` } },
      });
      for (let i = 0; i < count; i += 50) await Promise.all(Array.from({ length: Math.min(50, count - i) }, (_, k) => create(i + k)));
      await kubeClient().request('DELETE', `/api/v1/namespaces/${ns}/services/s0`);
      const tables = async (): Promise<number> => Number(/^clusterdns_resolver_index_tables_total\{kind="services"\} (\d+)$/m.exec(await resolver.metrics())?.[1] ?? 0);
      await eventually(async () => { assert.ok(await tables() >= 2, 'the list and at least one fold'); }, { timeoutMs: 60_000 });
      // Every query from a new port: the kernel spreads them over the threads.
      await eventually(async () => {
        const last = await Promise.all(Array.from({ length: 60 }, () => ask(resolver.server, `s${count - 1}.${ns}.svc.cluster.local`, 'CNAME')));
        assert.ok(last.every((a) => render(a).answer[0]?.endsWith(`CNAME s${count - 1}.example.test.`)), 'the newest Service, from every thread');
      }, { timeoutMs: 30_000 });
      const gone = await Promise.all(Array.from({ length: 60 }, () => ask(resolver.server, `s0.${ns}.svc.cluster.local`, 'CNAME')));
      assert.ok(gone.every((a) => render(a).rcode === 'NXDOMAIN'), 'the deleted Service is gone from every thread');
      const metrics = await resolver.metrics();
      assert.ok(Number(/^clusterdns_resolver_index_shared_bytes (\d+)$/m.exec(metrics)?.[1] ?? 0) > 0, 'the shared tables are counted');
      assert.equal(await resolver.signal('SIGTERM'), 0);
    });
  });

  describe('threads: auto within a memory limit', () => {
    const threadsOf = async (resolver: ResolverProcess): Promise<number> => {
      let threads = 0;
      await eventually(async () => {
        threads = Number(/^clusterdns_resolver_serving_threads (\d+)$/m.exec(await resolver.metrics())?.[1] ?? 0);
        assert.ok(/"msg":"serving threads"/.test(resolver.logs), 'the extra threads were started (or not) after the first sync');
      }, { timeoutMs: 30_000 });
      return threads;
    };

    for (const [title, limitMiB, expected] of [
      ['a limit that holds only the main thread: one thread, and the log says why', 110, 1],
      ['a generous limit: one thread per core, at most 4', 1024, Math.min(4, availableParallelism())],
    ] as const) {
      test(title, async () => {
        const limit = createMemoryLimit(`clusterdns-test-threads-${limitMiB}`, limitMiB * 2 ** 20);
        assert.ok(limit, 'a memory cgroup can be made (the tests run as root)');
        try {
          // A JSON kubeconfig is read in process, as a pod's service account is (a YAML one needs the start-up helper and its 85 MB).
          const kubeconfig = join(mkdtempSync(join(tmpdir(), 'clusterdns-threads-')), 'kubeconfig.json');
          writeFileSync(kubeconfig, loadKubeConfig(controlPlane().kubeconfigPath).exportConfig());
          const resolver = await start({ kubeconfig, config: { upstream: { nameservers: [upstream.address] } }, cgroupProcs: limit.procsFile });
          assert.equal(await threadsOf(resolver), expected);
          if (expected === 1) assert.match(resolver.logs, /the memory limit of 110 MiB holds 1 \(the process holds \d+ MiB/);
          const answers = await Promise.all(Array.from({ length: 30 }, () => ask(resolver.server, 'kubernetes.default.svc.cluster.local', 'A')));
          assert.ok(answers.every((a) => render(a).answer.length === 1), 'every thread answers');
          assert.equal(await resolver.signal('SIGTERM'), 0);
          assert.equal(limit.oomKills(), 0);
        } finally {
          limit.remove();
        }
      });
    }
  });

  describe('SIGTERM', () => {
    test('starts lameduck: answers go on and /health stays up while /ready fails, then the process exits 0', async () => {
      const ns = await createNamespace('lameduck');
      await kubeClient().request('POST', `/api/v1/namespaces/${ns}/services`, { body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { ports: [{ port: 80 }] } } });
      const resolver = await start({ kubeconfig: controlPlane().kubeconfigPath, config: { lameduckSeconds: 2, upstream: { nameservers: [upstream.address] } } });
      const name = `web.${ns}.svc.cluster.local`;
      await eventually(async () => { assert.equal(render(await ask(resolver.server, name, 'A')).answer.length, 1); }, { timeoutMs: 30_000 });
      const began = Date.now();
      const exited = resolver.signal('SIGTERM');
      await eventually(async () => { assert.equal((await resolver.http(resolver.ports.readyPort, '/ready')).status, 503); }, { timeoutMs: 1500, intervalMs: 20 });
      assert.equal((await resolver.http(resolver.ports.healthPort, '/health')).status, 200);
      await sleep(1000);
      assert.equal(render(await ask(resolver.server, name, 'A')).answer.length, 1, 'still answering a second into lameduck');
      assert.equal(await exited, 0);
      assert.ok(Date.now() - began >= 1900, `exited after ${Date.now() - began} ms, not before the lameduck time`);
    });
  });
});
