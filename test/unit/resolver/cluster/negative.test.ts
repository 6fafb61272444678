/**
 * NXDOMAIN versus NODATA, as CoreDNS decides them: a name that exists with another type is
 * NODATA, the apex and the schema labels exist, a namespace exists once it does; everything
 * else is NXDOMAIN. Every negative answer is authoritative with the zone's SOA.
 */
import { describe } from 'node:test';
import { CLUSTER } from './fixture.ts';
import { fixtureIndex, makeHandler, rows, soa } from './rows.ts';

describe('names that exist without data are NODATA', () => {
  const handler = makeHandler(fixtureIndex(CLUSTER));
  const nodata = (qname: string, qtype = 'A'): { qname: string; qtype: string; ns: string[] } => ({ qname, qtype, ns: [soa()] });
  rows(() => handler, [
    nodata('cluster.local'),
    nodata('cluster.local', 'AAAA'),
    nodata('cluster.local', 'TXT'),
    nodata('svc.cluster.local'),
    nodata('svc.cluster.local', 'TXT'),
    nodata('pod.cluster.local'),
    nodata('testns.svc.cluster.local'),
    nodata('testns.svc.cluster.local', 'SRV'),
    nodata('testns.svc.cluster.local', 'TXT'),
    nodata('emptyns.svc.cluster.local'),
    nodata('dns-version.cluster.local'),
    nodata('svc1.testns.svc.cluster.local', 'MX'),
  ]);
});

describe('names that do not exist are NXDOMAIN', () => {
  const handler = makeHandler(fixtureIndex(CLUSTER));
  const nx = (qname: string, qtype = 'A'): { qname: string; qtype: string; rcode: string; ns: string[] } => ({ qname, qtype, rcode: 'NXDOMAIN', ns: [soa()] });
  rows(() => handler, [
    nx('nosuchns.svc.cluster.local'),
    nx('svc1.testns.nope.cluster.local'),
    nx('foo.cluster.local'),
    nx('foo.cluster.local', 'TXT'),
    nx('a.b.c.svc1.testns.svc.cluster.local'),
    nx('nosuch.testns.svc.cluster.local', 'SOA'),
    nx('nosuch.testns.svc.cluster.local', 'NS'),
    nx('nosuch.testns.svc.cluster.local', 'TXT'),
    nx('nosuch.testns.svc.cluster.local', 'CNAME'),
    nx('nosuch.testns.svc.cluster.local', 'PTR'),
  ]);
});

describe('before the first list, what would be NXDOMAIN is SERVFAIL', () => {
  const handler = makeHandler(fixtureIndex({ synced: false }));
  rows(() => handler, [
    { qname: 'svc1.testns.svc.cluster.local', qtype: 'A', rcode: 'SERVFAIL', ns: [soa()] },
    { qname: 'testns.svc.cluster.local', qtype: 'A', rcode: 'SERVFAIL', ns: [soa()] },
    { qname: '1-2-3-4.testns.pod.cluster.local', qtype: 'A', rcode: 'SERVFAIL', ns: [soa()] },
    // What exists without the cluster's objects is answered as usual.
    { qname: 'cluster.local', qtype: 'SOA', answer: [soa()] },
    { qname: 'cluster.local', qtype: 'A', ns: [soa()] },
    { qname: 'dns-version.cluster.local', qtype: 'TXT', answer: ['dns-version.cluster.local. 5 IN TXT "1.1.0"'] },
  ]);
});
