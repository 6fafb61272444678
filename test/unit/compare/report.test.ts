/** Normalised answers, their comparison, and the table and JSON renderings. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DecodedPacket } from 'dns-packet';
import { normalise, sameAnswer, summarise } from '../../../src/dns/answers.ts';
import type { NormalisedAnswer } from '../../../src/dns/answers.ts';
import { buildReport, progressBar, renderJson, renderTable } from '../../../src/compare/report.ts';

const packet = (rcode: string, answers: DecodedPacket['answers'], authorities: DecodedPacket['authorities'] = []): DecodedPacket =>
  ({ rcode, answers, authorities, additionals: [] } as unknown as DecodedPacket);

const soa = (serial: number) => ({
  name: 'cluster.local', type: 'SOA' as const, ttl: 5,
  data: { mname: 'ns.dns.cluster.local', rname: 'hostmaster.cluster.local', serial, refresh: 7200, retry: 1800, expire: 86400, minimum: 30 },
});

describe('normalise and sameAnswer', () => {
  test('ignore record order, TTLs, name case and the SOA serial', () => {
    const a = normalise(packet('NOERROR', [
      { name: 'web.shop.svc.cluster.local', type: 'A', ttl: 30, data: '10.0.0.1' },
      { name: 'web.shop.svc.cluster.local', type: 'A', ttl: 30, data: '10.0.0.2' },
    ], [soa(1)]));
    const b = normalise(packet('NOERROR', [
      { name: 'WEB.shop.svc.cluster.local.', type: 'A', ttl: 5, data: '10.0.0.2' },
      { name: 'web.shop.svc.cluster.local', type: 'A', ttl: 7, data: '10.0.0.1' },
    ], [soa(99)]));
    assert.ok(sameAnswer(a, b));
  });

  const rows: Array<[string, NormalisedAnswer, NormalisedAnswer]> = [
    ['a different rcode', { rcode: 'NOERROR', answer: [], authority: [] }, { rcode: 'NXDOMAIN', answer: [], authority: [] }],
    ['a missing record', { rcode: 'NOERROR', answer: ['a. A 1.1.1.1', 'a. A 2.2.2.2'], authority: [] }, { rcode: 'NOERROR', answer: ['a. A 1.1.1.1'], authority: [] }],
    ['a missing SOA', { rcode: 'NXDOMAIN', answer: [], authority: ['x. SOA y'] }, { rcode: 'NXDOMAIN', answer: [], authority: [] }],
    ['an error against an answer', { error: 'timeout' }, { rcode: 'NOERROR', answer: [], authority: [] }],
  ];
  for (const [title, a, b] of rows) {
    test(`tell apart ${title}`, () => {
      assert.equal(sameAnswer(a, b), false);
      assert.equal(sameAnswer(b, a), false);
    });
  }

  test('SRV, PTR, CNAME and TXT records are written out in full', () => {
    const n = normalise(packet('NOERROR', [
      { name: '_http._tcp.web.shop.svc.cluster.local', type: 'SRV', ttl: 30, data: { priority: 0, weight: 100, port: 80, target: 'web.shop.svc.cluster.local' } },
      { name: '1.0.0.10.in-addr.arpa', type: 'PTR', ttl: 30, data: 'web.shop.svc.cluster.local' },
      { name: 'ext.shop.svc.cluster.local', type: 'CNAME', ttl: 30, data: 'Example.com' },
      { name: 'dns-version.cluster.local', type: 'TXT', ttl: 30, data: [Buffer.from('1.1.0')] },
    ]));
    assert.deepEqual('answer' in n ? n.answer : [], [
      '1.0.0.10.in-addr.arpa. PTR web.shop.svc.cluster.local.',
      '_http._tcp.web.shop.svc.cluster.local. SRV 0 100 80 web.shop.svc.cluster.local.',
      'dns-version.cluster.local. TXT "1.1.0"',
      'ext.shop.svc.cluster.local. CNAME example.com.',
    ]);
  });

  test('summaries read as a person would say them', () => {
    assert.equal(summarise({ rcode: 'NOERROR', answer: ['a. A 1.1.1.1', 'a. A 2.2.2.2'], authority: [] }), 'NOERROR 1.1.1.1, 2.2.2.2');
    assert.equal(summarise({ rcode: 'NOERROR', answer: [], authority: [] }), 'NODATA');
    assert.equal(summarise({ rcode: 'NXDOMAIN', answer: [], authority: ['x. SOA y'] }, true), 'NXDOMAIN; authority: x. SOA y');
    assert.equal(summarise({ error: 'timeout' }), 'ERROR timeout');
  });
});

describe('reports', () => {
  const same = { rcode: 'NOERROR', answer: ['web.shop.svc.cluster.local. A 10.96.5.5'], authority: [] };
  const report = buildReport('127.0.0.1:5301', '127.0.0.1:5302', [
    { question: { name: 'web.shop.svc.cluster.local.', type: 'A' }, baseline: same, candidate: same },
    { question: { name: '10-244-0-7.shop.pod.cluster.local.', type: 'A' }, baseline: { rcode: 'NOERROR', answer: ['10-244-0-7.shop.pod.cluster.local. A 10.244.0.7'], authority: [] }, candidate: { rcode: 'NXDOMAIN', answer: [], authority: ['cluster.local. SOA x'] } },
  ]);

  test('keep only the differences', () => {
    assert.equal(report.asked, 2);
    assert.deepEqual(report.differences.map((d) => d.question.name), ['10-244-0-7.shop.pod.cluster.local.']);
  });

  test('the table has one row a difference and a summary line', () => {
    assert.equal(renderTable(report), [
      'QUESTION                            TYPE  BASELINE 127.0.0.1:5301  CANDIDATE 127.0.0.1:5302',
      '10-244-0-7.shop.pod.cluster.local.  A     NOERROR 10.244.0.7       NXDOMAIN',
      '',
      '1 of 2 questions were answered differently.',
      '',
    ].join('\n'));
  });

  test('with no difference the table says so', () => {
    assert.equal(renderTable(buildReport('a:53', 'b:53', [])), 'All 0 questions were answered the same.\n');
  });

  test('JSON carries the normalised answers for scripts', () => {
    const json = JSON.parse(renderJson(report)) as { asked: number; different: number; differences: Array<{ name: string; candidate: { rcode: string } }> };
    assert.equal(json.asked, 2);
    assert.equal(json.different, 1);
    const [first] = json.differences;
    assert.equal(first?.name, '10-244-0-7.shop.pod.cluster.local.');
    assert.equal(first.candidate.rcode, 'NXDOMAIN');
  });

  const nx = { rcode: 'NXDOMAIN', answer: [], authority: ['cluster.local. SOA x'] };
  const nodata = { rcode: 'NOERROR', answer: [], authority: ['cluster.local. SOA x'] };
  const txt = [
    { question: { name: 'svc.cluster.local.', type: 'TXT' as const }, baseline: nx, candidate: nodata },
    { question: { name: 'shop.svc.cluster.local.', type: 'TXT' as const }, baseline: nx, candidate: nodata },
    { question: { name: 'web.shop.svc.cluster.local.', type: 'A' as const }, baseline: same, candidate: same },
  ];

  test('list intended differences apart, by rule, and do not count them, between CoreDNS and the resolver', () => {
    const both = buildReport('a:53', 'b:53', txt, 'cluster.local', { baseline: 'other', candidate: 'clusterdns' });
    assert.deepEqual(both.differences, []);
    assert.deepEqual(both.intended.map((d) => d.rule.id), ['txt-at-existing-names', 'txt-at-existing-names']);
    assert.equal(renderTable(both), [
      'Intended differences of clusterdns\' resolver (the candidate) from CoreDNS (docs/coredns-differences.md), not counted:',
      '  txt-at-existing-names (2): TXT at the apex, svc, pod or a namespace: NXDOMAIN (CoreDNS) against NODATA (the names exist)',
      '      e.g. svc.cluster.local. TXT: NXDOMAIN against NODATA',
      '',
      'All 3 questions were answered the same, apart from 2 intended differences.',
      '',
    ].join('\n'));
    const json = JSON.parse(renderJson(both)) as { different: number; intended: Array<{ rule: string; name: string }> };
    assert.equal(json.different, 0);
    assert.deepEqual(json.intended.map((d) => [d.rule, d.name]), [['txt-at-existing-names', 'svc.cluster.local.'], ['txt-at-existing-names', 'shop.svc.cluster.local.']]);
  });

  test('count every difference between servers of one kind, or of kinds unknown, or the wrong way round', () => {
    for (const kinds of [undefined, { baseline: 'other', candidate: 'other' }, { baseline: 'clusterdns', candidate: 'clusterdns' }, { baseline: 'clusterdns', candidate: 'other' }] as const) {
      const report = buildReport('a:53', 'b:53', txt, 'cluster.local', kinds);
      assert.deepEqual([report.differences.length, report.intended.length], [2, 0], JSON.stringify(kinds));
    }
  });

  test('the progress bar fills in proportion', () => {
    assert.equal(progressBar(0, 10, 10), '[----------] 0/10');
    assert.equal(progressBar(5, 10, 10), '[#####-----] 5/10');
    assert.equal(progressBar(10, 10, 10), '[##########] 10/10');
  });
});
