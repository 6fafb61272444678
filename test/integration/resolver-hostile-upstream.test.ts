/**
 * A hostile upstream, or an attacker racing the real one, against a running resolver (two
 * serving threads): forged answers with a wrong id, a wrong question, from another port or
 * unreadable, each arriving before the real answer; answers over UDP larger than the
 * resolver advertised; answers whose names are compression-pointer loops. Each check of
 * the forwarder is proven by a forgery that only that check stops; then a flood of all of
 * them runs while an ordinary client asks (test/resolver/hostile.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Answer } from 'dns-packet';
import { ask, render } from '../dns/client.ts';
import { series, startTarget, underAttack } from '../resolver/hostile.ts';
import { FORGED_ADDRESS, UpstreamServer } from '../resolver/upstream-server.ts';
import type { Forgery } from '../resolver/upstream-server.ts';

let target: Awaited<ReturnType<typeof startTarget>>;
let upstream: UpstreamServer;

describe('the resolver behind a hostile upstream', () => {
  before(async () => {
    upstream = await UpstreamServer.start();
    target = await startTarget('hostile-upstream', { upstream, config: { upstream: { timeoutSeconds: 0.5 } } });
  });

  after(async () => {
    await target.stop();
    await upstream.stop();
  });

  const a = (name: string, data: string): Answer => ({ type: 'A', name, ttl: 60, data });

  async function dropped(reason: string): Promise<number> {
    return series(await target.resolver.metrics(), 'clusterdns_resolver_dropped_total').get(`reason="${reason}"`) ?? 0;
  }

  describe('a forged answer that arrives first is ignored and the real answer is served', () => {
    for (const [forgery, what, reason] of [
      ['wrong-id', 'with another id', 'upstream_wrong_id'],
      ['wrong-question', 'to another question', 'upstream_wrong_question'],
      ['wrong-port', 'from another port of the server', 'upstream_wrong_source'],
      ['pointer-loop', 'whose names are a compression-pointer loop', 'upstream_malformed'],
    ] as const satisfies ReadonlyArray<readonly [Forgery, string, string]>) {
      test(`a forgery ${what} (counted as ${reason})`, async () => {
        const name = `${forgery}.forged.example.test`;
        upstream.set(name, 'A', { kind: 'forged', forgery, records: [a(name, '192.0.2.10')] });
        const before = await dropped(reason);
        const got = render(await ask(target.resolver.server, name, 'A'));
        assert.deepEqual(got.answer, [`${name}. 60 IN A 192.0.2.10`]);
        assert.equal(await dropped(reason), before + 1);
        // The real answer is what was cached, too.
        assert.match(render(await ask(target.resolver.server, name, 'A')).answer[0] ?? '', /IN A 192\.0\.2\.10$/);
      });
    }
  });

  test('every upstream exchange comes from a port of its own, with an id of its own', async () => {
    const names = Array.from({ length: 20 }, (_, i) => `port-${i}.example.test`);
    for (const name of names) upstream.set(name, 'A', { kind: 'answer', records: [a(name, '192.0.2.30')] });
    for (const name of names) await ask(target.resolver.server, name, 'A');
    const asked = upstream.queries.filter((q) => names.includes(q.name));
    assert.equal(asked.length, 20);
    assert.ok(new Set(asked.map((q) => q.port)).size >= 19, `source ports ${asked.map((q) => q.port).join(' ')}`);
    assert.ok(new Set(asked.map((q) => q.id)).size >= 19, `ids ${asked.map((q) => q.id).join(' ')}`);
  });

  test('an answer over UDP larger than the 1232 bytes advertised is asked again over TCP; UDP clients get it truncated', async () => {
    const name = 'oversized.example.test';
    upstream.set(name, 'A', { kind: 'oversized', records: Array.from({ length: 200 }, (_, i) => a(name, `198.51.100.${i + 1}`)) });
    const before = await dropped('upstream_oversized');
    const overTcp = render(await ask(target.resolver.server, name, 'A', { tcp: true }));
    assert.equal(overTcp.answer.length, 200);
    assert.equal(upstream.count(name, 'A', 'tcp'), 1);
    assert.equal(await dropped('upstream_oversized'), before + 1);
    const overUdp = await ask(target.resolver.server, name, 'A', { edns: 65535 });
    assert.ok(overUdp.raw.length <= 1232, `${overUdp.raw.length} bytes over UDP`);
    assert.equal(render(overUdp).tc, true);
  });

  test('an answer whose names loop is dropped: SERVFAIL after the attempts, nothing cached', async () => {
    const name = 'loop.example.test';
    upstream.set(name, 'A', { kind: 'pointerLoop' });
    const before = await dropped('upstream_malformed');
    assert.equal(render(await ask(target.resolver.server, name, 'A')).rcode, 'SERVFAIL');
    assert.ok(await dropped('upstream_malformed') >= before + 2, 'both attempts, and nothing accepted');
  });

  test('a flood of questions that draw forged, oversized and looping answers leaves everyone else served', async () => {
    const kinds: Forgery[] = ['wrong-id', 'wrong-question', 'wrong-port', 'pointer-loop'];
    const poisoned: string[] = [];
    let asked = 0;
    const result = await underAttack('hostile upstream: forgeries, oversized and looping answers', target, async () => {
      const until = Date.now() + 4000;
      const running: Array<Promise<void>> = [];
      for (let i = 0; Date.now() < until; i++) {
        const name = `flood-${i}.hostile.example.test`;
        const kind = i % 6;
        if (kind < 4) upstream.set(name, 'A', { kind: 'forged', forgery: kinds[kind] ?? 'wrong-id', records: [a(name, '192.0.2.20')], delayMs: 20 });
        else if (kind === 4) upstream.set(name, 'A', { kind: 'oversized', records: Array.from({ length: 120 }, (_, j) => a(name, `198.51.100.${j + 1}`)) });
        else upstream.set(name, 'A', { kind: 'pointerLoop' });
        asked++;
        running.push(ask(target.resolver.server, name, 'A', { edns: 65535, timeoutMs: 3000 }).then((response) => {
          if (render(response).answer.some((line) => line.includes(FORGED_ADDRESS))) poisoned.push(name);
        }, () => undefined));
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await Promise.all(running);
    });
    assert.ok(asked > 100, `${asked} hostile questions`);
    assert.deepEqual(poisoned, [], 'no forged address was ever served');
    for (const reason of ['upstream_wrong_id', 'upstream_wrong_question', 'upstream_wrong_source', 'upstream_malformed', 'upstream_oversized']) {
      assert.ok((result.drops.get(`dropped:${reason}`) ?? 0) > 0, `${reason} counted`);
    }
  });
});
