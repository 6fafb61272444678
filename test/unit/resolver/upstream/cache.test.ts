/** The upstream cache keeps what the RFCs allow, for as long as they allow, at most cacheSeconds. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import dnsPacket from 'dns-packet';
import type { Answer } from 'dns-packet';
import { ResponseCache } from '../../../../src/resolver/upstream/cache.ts';
import { scanMessage, storable } from '../../../../src/dns/response-relay.ts';
import type { StoredMessage } from '../../../../src/dns/response-relay.ts';

function stored(rcode: number, answers: Answer[], authorities: Answer[] = [], truncated = false): { stored: StoredMessage; truncated: boolean } {
  const message = dnsPacket.encode({
    type: 'response', id: 1, flags: rcode | (truncated ? dnsPacket.TRUNCATED_RESPONSE : 0),
    questions: [{ type: 'A', name: 'x.example' }], answers, authorities,
  });
  const scanned = scanMessage(message);
  return { stored: storable(message, scanned), truncated: scanned.truncated };
}

const a = (ttl: number): Answer => ({ type: 'A', name: 'x.example', ttl, data: '192.0.2.1' });
const soa = (ttl: number, minimum: number): Answer => ({ type: 'SOA', name: 'example', ttl, data: { mname: 'ns.example', rname: 'h.example', serial: 1, refresh: 1, retry: 1, expire: 1, minimum } });

describe('the upstream cache', () => {
  const key = ResponseCache.key('x.example', 1, 1, false, false);

  test('keeps a positive answer for its smallest TTL, capped at maxSeconds, and serves it with the time left', () => {
    let now = 0;
    const cache = new ResponseCache({ maxSeconds: 30, now: () => now });
    const { stored: s, truncated } = stored(0, [a(300), a(20)]);
    assert.equal(cache.put(key, s, truncated), 'success');
    now = 5_000;
    assert.equal(cache.get(key)?.ttl, 15);
    now = 20_000;
    assert.equal(cache.get(key), undefined);
  });

  test('keeps NXDOMAIN and NODATA for min(SOA TTL, SOA minimum), only with an SOA', () => {
    let now = 0;
    const cache = new ResponseCache({ maxSeconds: 300, now: () => now });
    const nx = stored(3, [], [soa(60, 10)]);
    assert.equal(cache.put(key, nx.stored, nx.truncated), 'denial');
    now = 9_000;
    assert.equal(cache.get(key)?.ttl, 1);
    now = 10_000;
    assert.equal(cache.get(key), undefined);
    const bare = stored(3, []);
    assert.equal(cache.put(key, bare.stored, bare.truncated), undefined);
    const nodata = stored(0, [], [soa(5, 50)]);
    assert.equal(cache.put(key, nodata.stored, nodata.truncated), 'denial');
  });

  test('never keeps errors, truncated answers, TTL 0, or anything when maxSeconds is 0', () => {
    const cache = new ResponseCache({ maxSeconds: 30 });
    for (const [what, entry] of [
      ['SERVFAIL', stored(2, [], [soa(60, 60)])],
      ['REFUSED', stored(5, [])],
      ['truncated', stored(0, [a(60)], [], true)],
      ['TTL 0', stored(0, [a(0)])],
    ] as const) assert.equal(cache.put(key, entry.stored, entry.truncated), undefined, what);
    const off = new ResponseCache({ maxSeconds: 0 });
    const fine = stored(0, [a(60)]);
    assert.equal(off.put(key, fine.stored, fine.truncated), undefined);
  });

  test('drops the oldest entry when full', () => {
    const cache = new ResponseCache({ maxSeconds: 30, capacity: 2 });
    const entry = stored(0, [a(60)]);
    for (const name of ['a', 'b', 'c']) cache.put(ResponseCache.key(name, 1, 1, false, false), entry.stored, false);
    assert.equal(cache.get(ResponseCache.key('a', 1, 1, false, false)), undefined);
    assert.ok(cache.get(ResponseCache.key('c', 1, 1, false, false)));
    assert.deepEqual(cache.sizes, { success: 2, denial: 0 });
  });

  test('keys on name without case, type, class and the DO and CD bits', () => {
    assert.equal(ResponseCache.key('x', 1, 1, false, false), 'x|1|1|00');
    assert.notEqual(ResponseCache.key('x', 1, 1, true, false), ResponseCache.key('x', 1, 1, false, false));
  });
});
