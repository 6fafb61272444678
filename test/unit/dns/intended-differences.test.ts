/** The intended differences of docs/coredns-differences.md, recognised in pairs of normalised answers, and nothing else. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NormalisedAnswer } from '../../../src/dns/answers.ts';
import { INTENDED_DIFFERENCES, intendedDifference } from '../../../src/dns/intended-differences.ts';

const nxdomain: NormalisedAnswer = { rcode: 'NXDOMAIN', answer: [], authority: ['cluster.local. SOA ns.dns.cluster.local. hostmaster.cluster.local. 7200 1800 86400 30'] };
const nodata: NormalisedAnswer = { rcode: 'NOERROR', answer: [], authority: ['cluster.local. SOA ns.dns.cluster.local. hostmaster.cluster.local. 7200 1800 86400 30'] };
const hinfo = (name: string): NormalisedAnswer => ({ rcode: 'NOERROR', answer: [`${name}. HINFO {"cpu":"RFC8482","os":""}`], authority: [] });
const address: NormalisedAnswer = { rcode: 'NOERROR', answer: ['web.shop.svc.cluster.local. A 10.0.0.1'], authority: [] };
const nsAtApex: NormalisedAnswer = { rcode: 'NOERROR', answer: ['cluster.local. NS ns.dns.cluster.local.'], authority: [] };

/** [question, type, one answer, the other, the rule expected (undefined: not intended)]. */
const rows: Array<[string, string, NormalisedAnswer, NormalisedAnswer, string | undefined]> = [
  ['cluster.local', 'TXT', nxdomain, nodata, 'txt-at-existing-names'],
  ['svc.cluster.local.', 'TXT', nodata, nxdomain, 'txt-at-existing-names'],
  ['Shop.Svc.Cluster.Local', 'TXT', nxdomain, nodata, 'txt-at-existing-names'],
  ['shop.pod.cluster.local', 'TXT', nxdomain, nodata, 'txt-at-existing-names'],
  ['web.shop.svc.cluster.local', 'TXT', nxdomain, nodata, undefined],
  ['svc.cluster.local', 'A', nxdomain, nodata, undefined],
  ['dns-version.cluster.local', 'A', nxdomain, nodata, 'dns-version-and-ns-types'],
  ['dns-version.cluster.local', 'TXT', nxdomain, nodata, undefined],
  ['ns.dns.cluster.local', 'PTR', nxdomain, nodata, 'dns-version-and-ns-types'],
  ['ns.dns.cluster.local', 'A', nxdomain, nodata, undefined],
  ['nosuch.svc.cluster.local', 'SOA', nodata, nxdomain, 'soa-below-the-apex'],
  ['cluster.local', 'SOA', nodata, nxdomain, undefined],
  ['web.shop.svc.cluster.local', 'ANY', nodata, hinfo('web.shop.svc.cluster.local'), 'any-rfc8482'],
  ['www.example.com', 'ANY', hinfo('www.example.com'), nxdomain, 'any-rfc8482'],
  ['web.shop.svc.cluster.local', 'ANY', address, hinfo('web.shop.svc.cluster.local'), undefined],
  ['cluster.local', 'NS', nodata, nsAtApex, 'ns-at-the-apex'],
  ['svc.cluster.local', 'NS', nodata, nsAtApex, undefined],
  ['web.shop.svc.cluster.local', 'A', nxdomain, address, undefined],
  ['cluster.local', 'TXT', { error: 'timeout' }, nodata, undefined],
  ['example.com', 'TXT', nxdomain, nodata, undefined],
];

describe('intended differences', () => {
  for (const [name, type, a, b, rule] of rows) {
    test(`${name} ${type}: ${rule ?? 'not intended'}`, () => {
      assert.equal(intendedDifference({ name, type }, a, b, 'cluster.local')?.id, rule);
      assert.equal(intendedDifference({ name, type }, b, a, 'cluster.local')?.id, rule, 'either way round');
    });
  }

  test('follow the cluster domain', () => {
    assert.equal(intendedDifference({ name: 'corp.internal', type: 'TXT' }, nxdomain, nodata, 'corp.internal')?.id, 'txt-at-existing-names');
    assert.equal(intendedDifference({ name: 'cluster.local', type: 'TXT' }, nxdomain, nodata, 'corp.internal'), undefined);
  });

  test('every rule has a stable id and a summary', () => {
    assert.deepEqual(INTENDED_DIFFERENCES.map((r) => r.id), ['txt-at-existing-names', 'dns-version-and-ns-types', 'soa-below-the-apex', 'any-rfc8482', 'ns-at-the-apex']);
    for (const rule of INTENDED_DIFFERENCES) assert.ok(rule.summary.length > 20);
  });
});
