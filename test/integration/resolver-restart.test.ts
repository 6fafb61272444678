/**
 * The apiserver goes away and comes back: the resolver answers from its cache the whole
 * time, stays ready, and then picks up changes made after the restart.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { controlPlane, createNamespace, eventually, kubeClient } from '../support/cluster.ts';
import { ask, render } from '../dns/client.ts';
import { ResolverProcess } from '../resolver/process.ts';
import { UpstreamServer } from '../resolver/upstream-server.ts';

let resolver: ResolverProcess;
let upstream: UpstreamServer;
let ns = '';

describe('the resolver across an apiserver restart', () => {
  before(async () => {
    upstream = await UpstreamServer.start();
    ns = await createNamespace('restart');
    resolver = await ResolverProcess.start({ kubeconfig: controlPlane().kubeconfigPath, config: { upstream: { nameservers: [upstream.address] } } });
  });

  after(async () => {
    await resolver.stop();
    await upstream.stop();
  });

  const service = (name: string): object => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { ports: [{ port: 80 }] } });

  test('an apiserver restart: answers from the cache throughout, then the changes made after it', async () => {
    const client = kubeClient();
    await client.request('POST', `/api/v1/namespaces/${ns}/services`, { body: service('before') });
    const before = `before.${ns}.svc.cluster.local`;
    const expected = await eventually(async () => {
      const got = render(await ask(resolver.server, before, 'A'));
      assert.equal(got.answer.length, 1);
      return got.answer;
    }, { timeoutMs: 30_000 });

    // Ask every 50 ms while the apiserver is away and while it comes back.
    const wrong: string[] = [];
    const asking = { on: true };
    let asked = 0;
    const loop = (async () => {
      while (asking.on) {
        try {
          const got = render(await ask(resolver.server, before, 'A', { timeoutMs: 1000 }));
          if (JSON.stringify(got.answer) !== JSON.stringify(expected)) wrong.push(`${got.rcode} ${got.answer.join(',')}`);
        } catch (error) {
          wrong.push(error instanceof Error ? error.message : String(error));
        }
        asked++;
        await sleep(50);
      }
    })();

    const plane = controlPlane();
    await plane.stopApiserver();
    await eventually(() => { assert.match(resolver.logs, /watch failed; retrying/); }, { timeoutMs: 30_000, what: 'the resolver noticed the outage' });
    await sleep(2000);
    assert.equal((await resolver.http(resolver.ports.readyPort, '/ready')).status, 200, 'still ready: it answers from its cache');
    await plane.startApiserver();

    await client.request('POST', `/api/v1/namespaces/${ns}/services`, { body: service('after') });
    await eventually(async () => {
      assert.equal(render(await ask(resolver.server, `after.${ns}.svc.cluster.local`, 'A')).answer.length, 1);
    }, { timeoutMs: 60_000, what: 'a service created after the restart' });
    asking.on = false;
    await loop;
    assert.ok(asked > 20, `asked ${asked} times`);
    assert.deepEqual(wrong, [], 'every answer during the outage came from the cache');
    await client.request('DELETE', `/api/v1/namespaces/${ns}/services/before`);
    await eventually(async () => {
      assert.equal(render(await ask(resolver.server, before, 'A')).rcode, 'NXDOMAIN');
    }, { timeoutMs: 30_000, what: 'a service deleted after the restart' });
  });
});
