/**
 * The intended differences compare and the shadow comparison know: each rule recognises its documented shape in its
 * direction (CoreDNS's answer, the resolver's answer) and nothing else; the resolver is told
 * apart by its answer to ANY; every rule is in docs/coredns-differences.md.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { NormalisedAnswer } from '../../../src/dns/answers.ts';
import { identify, identityQuestion, INTENDED_DIFFERENCES, intendedDifference } from '../../../src/dns/intended-differences.ts';
import type { Question, QuestionType } from '../../../src/compare/questions.ts';
import { repositoryRoot } from '../../../src/local/repo.ts';

const soa = ['cluster.local. SOA ns.dns.cluster.local. hostmaster.cluster.local. 7200 1800 86400 30'];
const NXDOMAIN: NormalisedAnswer = { rcode: 'NXDOMAIN', answer: [], authority: soa };
const NODATA: NormalisedAnswer = { rcode: 'NOERROR', answer: [], authority: soa };
const q = (name: string, type: QuestionType): Question => ({ name, type });
const answer = (...records: string[]): NormalisedAnswer => ({ rcode: 'NOERROR', answer: records, authority: [] });

describe('intended differences', () => {
  const matching: Array<[string, Question, NormalisedAnswer, NormalisedAnswer]> = [
    ['txt-at-existing-names', q('cluster.local.', 'TXT'), NXDOMAIN, NODATA],
    ['txt-at-existing-names', q('svc.cluster.local.', 'TXT'), NXDOMAIN, NODATA],
    ['txt-at-existing-names', q('pod.cluster.local.', 'TXT'), NXDOMAIN, NODATA],
    ['txt-at-existing-names', q('shop.svc.cluster.local.', 'TXT'), NXDOMAIN, NODATA],
    ['txt-at-existing-names', q('shop.pod.cluster.local.', 'TXT'), NXDOMAIN, NODATA],
    ['txt-at-existing-names', q('Shop.Svc.Cluster.Local', 'TXT'), NXDOMAIN, NODATA],
    ['dns-version-and-ns-types', q('dns-version.cluster.local.', 'A'), NXDOMAIN, NODATA],
    ['dns-version-and-ns-types', q('ns.dns.cluster.local.', 'PTR'), NXDOMAIN, NODATA],
    ['soa-below-the-apex', q('nope.svc.cluster.local.', 'SOA'), NODATA, NXDOMAIN],
    ['any-rfc8482', q('web.shop.svc.cluster.local.', 'ANY'), NODATA, answer('web.shop.svc.cluster.local. HINFO {"cpu":"RFC8482","os":""}')],
    ['ns-at-the-apex', q('cluster.local.', 'NS'), NODATA, answer('cluster.local. NS ns.dns.cluster.local.')],
  ];
  for (const [id, question, coredns, ours] of matching) {
    test(`${id}: ${question.name} ${question.type}, only in its direction`, () => {
      assert.equal(intendedDifference(question, coredns, ours, 'cluster.local')?.id, id);
      assert.equal(intendedDifference(question, ours, coredns, 'cluster.local'), undefined, 'the resolver answering as CoreDNS would is a regression');
    });
  }

  const unexpected: Array<[string, Question, NormalisedAnswer, NormalisedAnswer]> = [
    ['TXT at a Service', q('web.shop.svc.cluster.local.', 'TXT'), NXDOMAIN, NODATA],
    ['TXT below a namespace name', q('x.y.shop.svc.cluster.local.', 'TXT'), NXDOMAIN, NODATA],
    ['A at a structural name answered NXDOMAIN', q('svc.cluster.local.', 'A'), NXDOMAIN, NODATA],
    ['TXT at dns-version', q('dns-version.cluster.local.', 'TXT'), NXDOMAIN, NODATA],
    ['SOA at the apex', q('cluster.local.', 'SOA'), NODATA, NXDOMAIN],
    ['TXT outside the cluster domain', q('svc.example.com.', 'TXT'), NXDOMAIN, NODATA],
    ['a record against NODATA', q('svc.cluster.local.', 'TXT'), answer('svc.cluster.local. TXT "x"'), NODATA],
    ['an error against NXDOMAIN', q('svc.cluster.local.', 'TXT'), { error: 'timeout' }, NXDOMAIN],
    ['ANY with two different record sets', q('web.shop.svc.cluster.local.', 'ANY'), answer('web.shop.svc.cluster.local. A 10.0.0.1'), NODATA],
    ['NS naming another server', q('cluster.local.', 'NS'), NODATA, answer('cluster.local. NS ns1.example.com.')],
  ];
  for (const [title, question, a, b] of unexpected) {
    test(`not intended: ${title}`, () => {
      assert.equal(intendedDifference(question, a, b, 'cluster.local'), undefined);
      assert.equal(intendedDifference(question, b, a, 'cluster.local'), undefined);
    });
  }

  test('the resolver is told apart by RFC 8482\'s answer to ANY at dns-version', () => {
    assert.deepEqual(identityQuestion('cluster.local'), { name: 'dns-version.cluster.local.', type: 'ANY' });
    assert.equal(identify(answer('dns-version.cluster.local. HINFO {"cpu":"RFC8482","os":""}')), 'clusterdns');
    for (const other of [NODATA, NXDOMAIN, answer('dns-version.cluster.local. TXT "1.1.0"'), { error: 'timeout' }]) assert.equal(identify(other), 'other');
  });

  test('follow the cluster domain compare is given', () => {
    assert.equal(intendedDifference(q('svc.corp.local.', 'TXT'), NXDOMAIN, NODATA, 'corp.local')?.id, 'txt-at-existing-names');
    assert.equal(intendedDifference(q('svc.cluster.local.', 'TXT'), NXDOMAIN, NODATA, 'corp.local'), undefined);
  });

  test('each is documented in docs/coredns-differences.md by its id', () => {
    const doc = readFileSync(join(repositoryRoot(), 'docs', 'coredns-differences.md'), 'utf8');
    for (const rule of INTENDED_DIFFERENCES) assert.ok(doc.includes(`\`${rule.id}\``), `${rule.id} in the doc`);
  });
});
