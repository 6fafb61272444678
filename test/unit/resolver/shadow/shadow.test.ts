/**
 * One serving thread's shadow comparison against a real DNS server on loopback: the sample
 * drawn, truncated answers left to TCP, a truncated baseline answer asked again over TCP, a
 * silent baseline timed out, and the bound on queries in flight.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import dnsPacket from 'dns-packet';
import type { Answer } from 'dns-packet';
import { decodeQuery } from '../../../../src/dns/query-decoder.ts';
import type { Query } from '../../../../src/dns/query-decoder.ts';
import { Shadow } from '../../../../src/resolver/shadow/shadow.ts';
import { summarise } from '../../../../src/resolver/shadow/stats.ts';
import { encodeQuery } from '../../../dns/client.ts';
import { UpstreamServer } from '../../../resolver/upstream-server.ts';

const facts = { startedAt: '', baseline: '', sample: 100 };

function query(name: string, type = 'A'): Query {
  const decoded = decodeQuery(encodeQuery(name, type));
  assert.ok(decoded.kind === 'query');
  return decoded.query;
}

function answer(q: Query, records: Answer[], flags = 0): Buffer {
  return dnsPacket.encode({ type: 'response', id: q.id, flags, questions: [{ name: q.name, type: 'A', class: 'IN' }], answers: records });
}

const record = (name: string, ip: string): Answer => ({ type: 'A', name, ttl: 30, data: ip });

describe('Shadow', () => {
  let baseline: UpstreamServer;
  const shadows: Shadow[] = [];
  const shadowOf = async (options: { sample?: number; maxInFlight?: number; timeoutSeconds?: number; threads?: number; random?: () => number } = {}): Promise<Shadow> => {
    const shadow = new Shadow({
      config: { baseline: baseline.address, baselineEngine: 'clusterdns', sample: options.sample ?? 100, maxInFlight: options.maxInFlight ?? 100, timeoutSeconds: options.timeoutSeconds ?? 2 },
      threads: options.threads ?? 1, zone: 'cluster.local', ...(options.random ? { random: options.random } : {}),
    });
    await shadow.start();
    shadows.push(shadow);
    return shadow;
  };
  const summary = (shadow: Shadow) => summarise(facts, [shadow.stats.snapshot()]);
  const settle = async (shadow: Shadow, queries: number): Promise<ReturnType<typeof summary>> => {
    for (let i = 0; i < 100; i++) {
      const s = summary(shadow);
      if (s.queries >= queries && s.compared + s.errors.timeout + s.errors.malformed + s.errors.unreachable === s.queries) return s;
      await sleep(20);
    }
    return summary(shadow);
  };

  before(async () => {
    baseline = await UpstreamServer.start();
    baseline.set('same.test', 'A', { kind: 'answer', records: [record('same.test', '192.0.2.1')] });
    baseline.set('big.test', 'A', { kind: 'tcpOnly', records: [record('big.test', '192.0.2.2')] });
    baseline.set('silent.test', 'A', { kind: 'silent' });
  });

  after(async () => {
    for (const shadow of shadows) await shadow.close();
    await baseline.stop();
  });

  test('asks the baseline a drawn sample only, after the answer went out, and compares', async () => {
    const draws = [0.005, 0.5, 0.0099, 0.9];
    const shadow = await shadowOf({ sample: 1, random: () => draws.shift() ?? 1 });
    const q = query('same.test');
    for (let i = 0; i < 4; i++) shadow.offer(q, answer(q, [record('same.test', '192.0.2.1')]), 'forward');
    assert.equal(baseline.count('same.test'), 0, 'nothing is sent while the answer is on its way');
    const s = await settle(shadow, 2);
    assert.equal(s.queries, 2, 'draws below 1 % are sampled');
    assert.equal(s.compared, 2);
    assert.deepEqual(s.mismatches, { rcode: 0, answer: 0, intended: 0 });
  });

  test('leaves truncated answers alone: the client asks again over TCP', async () => {
    const shadow = await shadowOf();
    const q = query('same.test');
    shadow.offer(q, answer(q, [], dnsPacket.TRUNCATED_RESPONSE), 'kubernetes');
    await sleep(50);
    assert.equal(summary(shadow).queries, 0);
  });

  test('asks again over TCP when the baseline truncates, and counts a different answer', async () => {
    const shadow = await shadowOf();
    const q = query('big.test');
    const before = baseline.count('big.test', 'A', 'tcp');
    shadow.offer(q, answer(q, [record('big.test', '192.0.2.99')]), 'kubernetes');
    const s = await settle(shadow, 1);
    assert.equal(baseline.count('big.test', 'A', 'tcp'), before + 1);
    assert.deepEqual(s.mismatches, { rcode: 0, answer: 1, intended: 0 });
    assert.equal(s.latest[0]?.baseline, 'NOERROR 192.0.2.2');
  });

  test('a silent baseline is a timeout; beyond this thread\'s share of maxInFlight, samples are skipped', async () => {
    const shadow = await shadowOf({ maxInFlight: 5, threads: 2, timeoutSeconds: 0.2 });
    const q = query('silent.test');
    for (let i = 0; i < 10; i++) shadow.offer(q, answer(q, [record('silent.test', '192.0.2.3')]), 'kubernetes');
    await sleep(20);
    assert.equal(summary(shadow).queries, 3, 'ceil(5 / 2) in flight');
    assert.equal(summary(shadow).skipped, 7);
    const s = await settle(shadow, 3);
    assert.equal(s.errors.timeout, 3);
    assert.equal(s.compared, 0);
    shadow.offer(q, answer(q, [record('silent.test', '192.0.2.3')]), 'kubernetes');
    await sleep(20);
    assert.equal(summary(shadow).queries, 4, 'slots are free again after the timeouts');
  });
});
