/** The question list: from a cluster snapshot, and from a names file. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clusterQuestions, dashed, parseNamesFile, reverseName } from '../../../src/compare/questions.ts';
import type { ClusterSnapshot } from '../../../src/compare/questions.ts';

const snapshot: ClusterSnapshot = {
  services: [
    { namespace: 'shop', name: 'web', type: 'ClusterIP', clusterIPs: ['10.96.5.5'], ports: [{ name: 'http', protocol: 'TCP' }, { protocol: 'TCP' }] },
    { namespace: 'shop', name: 'db', type: 'ClusterIP', clusterIPs: ['None'], ports: [{ name: 'pg', protocol: 'TCP' }] },
    { namespace: 'shop', name: 'ext', type: 'ExternalName', clusterIPs: [], ports: [] },
  ],
  endpointSlices: [
    { namespace: 'shop', service: 'db', endpoints: [{ addresses: ['10.244.0.7'], hostname: 'db-0' }, { addresses: ['10.244.0.8'] }] },
  ],
  pods: [{ namespace: 'shop', ips: ['10.244.0.7'] }, { namespace: 'shop', ips: ['fd00::1'] }],
};

const lines = (qs: Array<{ name: string; type: string }>): string[] => qs.map((q) => `${q.name} ${q.type}`);

describe('clusterQuestions', () => {
  test('asks every name the cluster implies, once, in a stable order', () => {
    assert.deepEqual(lines(clusterQuestions(snapshot, 'cluster.local', ['example.com'])), [
      'dns-version.cluster.local. TXT',
      'db.shop.svc.cluster.local. A',
      'db.shop.svc.cluster.local. AAAA',
      '_pg._tcp.db.shop.svc.cluster.local. SRV',
      'ext.shop.svc.cluster.local. CNAME',
      'web.shop.svc.cluster.local. A',
      'web.shop.svc.cluster.local. AAAA',
      '_http._tcp.web.shop.svc.cluster.local. SRV',
      '5.5.96.10.in-addr.arpa. PTR',
      'db-0.db.shop.svc.cluster.local. A',
      '7.0.244.10.in-addr.arpa. PTR',
      '10-244-0-8.db.shop.svc.cluster.local. A',
      '8.0.244.10.in-addr.arpa. PTR',
      '10-244-0-7.shop.pod.cluster.local. A',
      'fd00--1.shop.pod.cluster.local. AAAA',
      'svc.cluster.local. A',
      'clusterdns-compare-missing.svc.cluster.local. A',
      'clusterdns-compare.missing.cluster.local. A',
      'shop.svc.cluster.local. A',
      'clusterdns-compare-missing.shop.svc.cluster.local. A',
      'cluster.local. SOA',
      'cluster.local. NS',
      'svc.cluster.local. TXT',
      'shop.svc.cluster.local. TXT',
      'dns-version.cluster.local. A',
      'clusterdns-compare-missing.svc.cluster.local. SOA',
      'example.com. A',
    ]);
  });

  test('the same snapshot in another order gives the same list', () => {
    const shuffled = { ...snapshot, services: [...snapshot.services].reverse() };
    assert.deepEqual(clusterQuestions(shuffled, 'cluster.local'), clusterQuestions(snapshot, 'cluster.local'));
  });

  test('uses the cluster domain it is given', () => {
    assert.ok(lines(clusterQuestions(snapshot, 'corp.local')).includes('web.shop.svc.corp.local. A'));
  });
});

describe('names', () => {
  test('dashed IPs as CoreDNS names endpoints and pods', () => {
    assert.equal(dashed('10.244.1.13'), '10-244-1-13');
    assert.equal(dashed('fd00::'), 'fd00--0');
    assert.equal(dashed('::1'), '0--1');
  });

  test('reverse names of IPv4 and IPv6 addresses', () => {
    assert.equal(reverseName('10.96.0.10'), '10.0.96.10.in-addr.arpa');
    assert.equal(reverseName('fd00::1'), `1.${'0.'.repeat(27)}0.0.d.f.ip6.arpa`);
  });
});

describe('parseNamesFile', () => {
  test('reads NAME [TYPE] lines, comments and blanks; type A by default', () => {
    const text = '# services\nweb.shop.svc.cluster.local\n\n_http._tcp.web.shop.svc.cluster.local. srv  # its port\nWEB.shop.svc.cluster.local A\n';
    assert.deepEqual(lines(parseNamesFile(text)), ['web.shop.svc.cluster.local. A', '_http._tcp.web.shop.svc.cluster.local. SRV']);
  });

  const bad: Array<[string, RegExp]> = [
    ['web.shop BOGUS', /line 1: unknown type "BOGUS"/],
    ['ok.example\nweb shop A', /line 2: expected "NAME \[TYPE\]"/],
    ['bad..name', /line 1: "bad..name" is not a domain name/],
    ['exa mple!', /line 1: unknown type "mple!"/],
  ];
  for (const [text, message] of bad) {
    test(`refuses ${JSON.stringify(text)} with the line number`, () => {
      assert.throws(() => parseNamesFile(text), message);
    });
  }
});
