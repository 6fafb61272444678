/** The wire codec: what is accepted, rejected or dropped, EDNS0, truncation, compression and case. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import dnsPacket from 'dns-packet';
import { decodeQuery } from '../../../src/dns/query-decoder.ts';
import type { Query } from '../../../src/dns/query-decoder.ts';
import { encodeHeaderOnly, encodeResponse } from '../../../src/dns/response-encoder.ts';
import { relay, scanMessage, storable } from '../../../src/dns/response-relay.ts';
import { RCODE } from '../../../src/dns/records.ts';
import type { ResourceRecord } from '../../../src/dns/records.ts';
import { encodeQuery } from '../../dns/client.ts';

function query(name: string, type = 'A', options: Parameters<typeof encodeQuery>[2] = {}): Query {
  const decoded = decodeQuery(encodeQuery(name, type, { id: 4242, ...options }));
  assert.equal(decoded.kind, 'query');
  return decoded.query;
}

describe('decoding a query', () => {
  test('reads the id, flags, name (as sent and folded), type, class and EDNS0', () => {
    const q = query('Web.Default.svc.Cluster.Local', 'AAAA', { edns: 4000, dnssecOk: true });
    assert.deepEqual([q.id, q.recursionDesired, q.name, q.lowerName, q.type, q.class], [4242, true, 'Web.Default.svc.Cluster.Local', 'web.default.svc.cluster.local', 28, 1]);
    assert.deepEqual(q.edns, { udpSize: 4000, dnssecOk: true, version: 0 });
    assert.equal(query('example.com', 'A', { edns: 100 }).edns?.udpSize, 512, 'a buffer below 512 counts as 512');
  });

  test('escapes label bytes that are not plain characters, so names stay distinct', () => {
    const packet = encodeQuery('ab.example', 'A');
    packet[13] = 0x2e; // "." inside the first label
    const decoded = decodeQuery(packet);
    assert.equal(decoded.kind === 'query' ? decoded.query.name : '', '\\046b.example');
  });

  const rejections: Array<[string, (packet: Buffer) => Buffer, number]> = [
    ['two questions', (p) => { p.writeUInt16BE(2, 4); return p; }, RCODE.FORMERR],
    ['no question', (p) => { p.writeUInt16BE(0, 4); return p; }, RCODE.FORMERR],
    ['a question cut short', (p) => p.subarray(0, p.length - 3), RCODE.FORMERR],
    ['a compression pointer in the question', (p) => { p[12] = 0xc0; p[13] = 12; return p; }, RCODE.FORMERR],
    ['a label of an unknown type', (p) => { p[12] = 0x41; return p; }, RCODE.FORMERR],
    ['opcode NOTIFY', (p) => { p[2] = (p[2] ?? 0) | (4 << 3); return p; }, RCODE.NOTIMP],
    ['too many additional records', (p) => { p.writeUInt16BE(3, 10); return p; }, RCODE.FORMERR],
  ];
  for (const [what, mangle, rcode] of rejections) {
    test(`answers ${what} with a bare header (${rcode === RCODE.FORMERR ? 'FORMERR' : 'NOTIMP'})`, () => {
      const decoded = decodeQuery(mangle(encodeQuery('example.com', 'A', { id: 7 })));
      assert.equal(decoded.kind, 'reject');
      assert.equal(decoded.rcode, rcode);
      assert.equal(decoded.id, 7);
    });
  }

  test('answers an EDNS version it does not speak with BADVERS', () => {
    const packet = encodeQuery('example.com', 'A', { edns: 1232 });
    packet[packet.length - 5] = 1; // the OPT record ends: version, flags (2), rdlength (2)
    const decoded = decodeQuery(packet);
    assert.equal(decoded.kind === 'reject' ? decoded.rcode : -1, RCODE.BADVERS);
    const response = dnsPacket.decode(encodeHeaderOnly(1, 0, true, RCODE.BADVERS, true));
    assert.equal(response.additionals?.[0]?.type, 'OPT');
  });

  test('drops what is too short for a header, and responses', () => {
    assert.equal(decodeQuery(Buffer.alloc(5)).kind, 'drop');
    const response = encodeQuery('example.com', 'A');
    response[2] = (response[2] ?? 0) | 0x80;
    assert.equal(decodeQuery(response).kind, 'drop');
  });
});

describe('encoding a response', () => {
  const many = (name: string, count: number): ResourceRecord[] => Array.from({ length: count }, (_, i) => ({ type: 'A', name, ttl: 5, address: `10.0.${i >> 8}.${i & 255}` }));

  test('copies the question, compresses names below it into the asked case', () => {
    const q = query('_HTTP._tcp.Web.NS.svc.Cluster.Local', 'SRV');
    const out = encodeResponse(q, { rcode: 0, authoritative: true, answer: [{ type: 'CNAME', name: '_http._tcp.web.ns.svc.cluster.local', ttl: 5, target: 'web.ns.svc.cluster.local' }] }, 512);
    const decoded = dnsPacket.decode(out);
    assert.equal(decoded.questions?.[0]?.name, '_HTTP._tcp.Web.NS.svc.Cluster.Local');
    assert.equal(decoded.answers?.[0]?.name, '_HTTP._tcp.Web.NS.svc.Cluster.Local');
    assert.equal((decoded.answers[0] as { data: string }).data, 'Web.NS.svc.Cluster.Local');
    assert.ok(out.length < 80, `${out.length} bytes: the owner and target are pointers`);
  });

  test('fits the answer to the limit, setting TC when answer records had to go', () => {
    const q = query('big.example');
    const out = encodeResponse(q, { rcode: 0, authoritative: true, answer: many('big.example', 100) }, 512);
    assert.ok(out.length <= 512);
    const decoded = dnsPacket.decode(out);
    assert.ok(((decoded.flags ?? 0) & dnsPacket.TRUNCATED_RESPONSE) !== 0);
    assert.equal(decoded.answers?.length, Math.floor((512 - 29) / 16));
  });

  test('drops additional records silently when only they do not fit', () => {
    const q = query('big.example');
    const decoded = dnsPacket.decode(encodeResponse(q, { rcode: 0, authoritative: true, answer: many('big.example', 1), additional: many('x.example', 60) }, 512));
    assert.equal(((decoded.flags ?? 0) & dnsPacket.TRUNCATED_RESPONSE), 0);
    assert.equal(decoded.answers?.length, 1);
  });

  test('adds an OPT record only when the query had one, and honours its buffer size', () => {
    const plain = dnsPacket.decode(encodeResponse(query('a.example'), { rcode: 0, authoritative: false }, 512));
    assert.equal(plain.additionals?.length ?? 0, 0);
    const edns = query('big.example', 'A', { edns: 4096 });
    const out = encodeResponse(edns, { rcode: 0, authoritative: true, answer: many('big.example', 100) }, 4096);
    const decoded = dnsPacket.decode(out);
    assert.equal(decoded.answers?.length, 100);
    assert.equal(decoded.additionals?.at(-1)?.type, 'OPT');
  });
});

describe('relaying a stored upstream response', () => {
  test('re-addresses it to the new query: id, question case, TTLs, owner names in the asked case, OPT', () => {
    const upstream = dnsPacket.encode({
      type: 'response', id: 1, flags: dnsPacket.RECURSION_AVAILABLE,
      questions: [{ type: 'A', name: 'www.example.com' }],
      answers: [{ type: 'A', name: 'www.example.com', ttl: 300, data: '192.0.2.1' }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [] } as unknown as dnsPacket.Answer],
    });
    const stored = storable(upstream, scanMessage(upstream));
    assert.equal(stored.records.length, 1, 'the OPT record is not kept');
    const asked = query('WWW.Example.com', 'A', { edns: 1232, id: 99 });
    const decoded = dnsPacket.decode(relay(stored, asked, 1232, 17));
    assert.equal(decoded.id, 99);
    assert.equal(decoded.questions?.[0]?.name, 'WWW.Example.com');
    assert.deepEqual(decoded.answers?.map((a) => [a.name, (a as { ttl: number }).ttl]), [['WWW.Example.com', 17]]);
    assert.equal(decoded.additionals?.length, 1);
    assert.ok(((decoded.flags ?? 0) & dnsPacket.RECURSION_AVAILABLE) !== 0);
  });
});
