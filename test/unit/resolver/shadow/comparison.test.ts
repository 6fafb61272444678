/** One shadowed query judged: the same, an rcode or answer mismatch, an intended difference, or an unusable baseline answer. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import dnsPacket from 'dns-packet';
import type { Answer, RecordType } from 'dns-packet';
import { compareAnswers } from '../../../../src/resolver/shadow/comparison.ts';
import type { ComparisonScope } from '../../../../src/resolver/shadow/comparison.ts';

const soa = (serial: number): Answer => ({
  name: 'cluster.local', type: 'SOA', ttl: 30,
  data: { mname: 'ns.dns.cluster.local', rname: 'hostmaster.cluster.local', serial, refresh: 7200, retry: 1800, expire: 86400, minimum: 30 },
});

function response(name: string, type: string, rcode: 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL', answers: Answer[] = [], authorities: Answer[] = []): Buffer {
  const code = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3 }[rcode];
  return dnsPacket.encode({ type: 'response', id: 1, flags: dnsPacket.AUTHORITATIVE_ANSWER | code, questions: [{ name, type: type as RecordType, class: 'IN' }], answers, authorities });
}

const a = (name: string, ip: string, ttl = 30): Answer => ({ name, type: 'A', ttl, data: ip });
const web = 'web.shop.svc.cluster.local';
const resolverBaseline: ComparisonScope = { zone: 'cluster.local', baseline: 'clusterdns' };
const corednsBaseline: ComparisonScope = { zone: 'cluster.local', baseline: 'other' };

describe('compareAnswers', () => {
  test('the same answer in another order, case and TTL, with another SOA serial', () => {
    const ours = response(web, 'A', 'NOERROR', [a(web, '10.0.0.1'), a(web, '10.0.0.2')], [soa(1)]);
    const theirs = response('WEB.shop.svc.cluster.local', 'A', 'NOERROR', [a('WEB.shop.svc.cluster.local', '10.0.0.2', 5), a(web, '10.0.0.1', 7)], [soa(42)]);
    assert.deepEqual(compareAnswers({ name: web, upstream: false }, ours, theirs, resolverBaseline), { kind: 'same' });
  });

  test('another rcode: an rcode mismatch with both answers summarised', () => {
    const name = '10-244-0-7.shop.pod.cluster.local';
    const verdict = compareAnswers({ name, upstream: false }, response(name, 'A', 'NXDOMAIN', [], [soa(1)]), response(name, 'A', 'NOERROR', [a(name, '10.244.0.7')]), resolverBaseline);
    assert.deepEqual(verdict, { kind: 'mismatch', mismatch: { question: `${name}. A`, kind: 'rcode', answer: 'NXDOMAIN', baseline: 'NOERROR 10.244.0.7' } });
  });

  test('the same rcode with other records: an answer mismatch', () => {
    const verdict = compareAnswers({ name: web, upstream: false }, response(web, 'A', 'NOERROR', [a(web, '10.0.0.1')]), response(web, 'A', 'NOERROR', [a(web, '10.0.0.9')]), resolverBaseline);
    assert.equal(verdict.kind === 'mismatch' && verdict.mismatch.kind, 'answer');
  });

  test('a difference only in the authority section shows the authority', () => {
    const verdict = compareAnswers({ name: web, upstream: false }, response(web, 'AAAA', 'NOERROR', [], [soa(1)]), response(web, 'AAAA', 'NOERROR'), resolverBaseline);
    assert.ok(verdict.kind === 'mismatch');
    assert.match(verdict.mismatch.answer, /^NODATA; authority: cluster\.local\. SOA/);
    assert.equal(verdict.mismatch.baseline, 'NODATA; authority: none');
  });

  test('against a CoreDNS baseline, a documented difference is intended, with its rule', () => {
    const ours = response('svc.cluster.local', 'TXT', 'NOERROR', [], [soa(1)]);
    const theirs = response('svc.cluster.local', 'TXT', 'NXDOMAIN', [], [soa(1)]);
    const verdict = compareAnswers({ name: 'svc.cluster.local', upstream: false }, ours, theirs, corednsBaseline);
    assert.ok(verdict.kind === 'mismatch');
    assert.equal(verdict.mismatch.kind, 'intended');
    assert.equal(verdict.mismatch.rule, 'txt-at-existing-names');
  });

  test('the same shape the other way round, or against another resolver, counts', () => {
    const nodata = response('svc.cluster.local', 'TXT', 'NOERROR', [], [soa(1)]);
    const nxdomain = response('svc.cluster.local', 'TXT', 'NXDOMAIN', [], [soa(1)]);
    // This resolver answering as CoreDNS does is a regression of the resolver.
    const reversed = compareAnswers({ name: 'svc.cluster.local', upstream: false }, nxdomain, nodata, corednsBaseline);
    assert.ok(reversed.kind === 'mismatch');
    assert.equal(reversed.mismatch.kind, 'rcode');
    const sameEngine = compareAnswers({ name: 'svc.cluster.local', upstream: false }, nodata, nxdomain, resolverBaseline);
    assert.ok(sameEngine.kind === 'mismatch');
    assert.equal(sameEngine.mismatch.kind, 'rcode');
  });

  test('names answered from upstream count by their rcode only', () => {
    const name = 'cdn.example.com';
    const ours = response(name, 'A', 'NOERROR', [a(name, '192.0.2.1')]);
    const rotated = response(name, 'A', 'NOERROR', [a(name, '192.0.2.77')]);
    assert.deepEqual(compareAnswers({ name, upstream: true }, ours, rotated, resolverBaseline), { kind: 'same' });
    const verdict = compareAnswers({ name, upstream: true }, ours, response(name, 'A', 'SERVFAIL'), resolverBaseline);
    assert.equal(verdict.kind === 'mismatch' && verdict.mismatch.kind, 'rcode');
  });

  test('an undecodable answer, a query or an answer to another question is malformed', () => {
    const ours = response(web, 'A', 'NOERROR', [a(web, '10.0.0.1')]);
    assert.equal(compareAnswers({ name: web, upstream: false }, ours, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]), resolverBaseline).kind, 'malformed');
    assert.equal(compareAnswers({ name: web, upstream: false }, ours, response('other.shop.svc.cluster.local', 'A', 'NOERROR'), resolverBaseline).kind, 'malformed');
    assert.equal(compareAnswers({ name: web, upstream: false }, ours, response(web, 'AAAA', 'NOERROR'), resolverBaseline).kind, 'malformed');
    const query = dnsPacket.encode({ type: 'query', id: 1, questions: [{ name: web, type: 'A', class: 'IN' }] });
    assert.equal(compareAnswers({ name: web, upstream: false }, ours, query, resolverBaseline).kind, 'malformed');
  });

  test('long answers are cut', () => {
    const many = Array.from({ length: 100 }, (_, i) => a(web, `10.0.${Math.floor(i / 250)}.${i % 250}`));
    const verdict = compareAnswers({ name: web, upstream: false }, response(web, 'A', 'NOERROR', many), response(web, 'A', 'NXDOMAIN'), resolverBaseline);
    assert.ok(verdict.kind === 'mismatch');
    assert.ok(verdict.mismatch.answer.length <= 301 && verdict.mismatch.answer.endsWith('…'));
  });
});
