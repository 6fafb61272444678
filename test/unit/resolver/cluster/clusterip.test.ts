/** ClusterIP services: A/AAAA from spec.clusterIPs, SRV for ports, endpoint names below them. */
import { describe } from 'node:test';
import { CLUSTER } from './fixture.ts';
import { fixtureIndex, makeHandler, rows, soa } from './rows.ts';

const handler = makeHandler(fixtureIndex(CLUSTER));
const SVC1 = 'svc1.testns.svc.cluster.local';
const DUAL = 'dual.testns.svc.cluster.local';

describe('a ClusterIP service', () => {
  rows(() => handler, [
    { qname: SVC1, qtype: 'A', answer: [`${SVC1}. 5 IN A 10.0.0.1`] },
    { qname: SVC1, qtype: 'AAAA', ns: [soa()] },
    { qname: 'svc6.testns.svc.cluster.local', qtype: 'AAAA', answer: ['svc6.testns.svc.cluster.local. 5 IN AAAA 1234:abcd::1'] },
    { qname: 'svc6.testns.svc.cluster.local', qtype: 'A', ns: [soa()] },
    { qname: DUAL, qtype: 'A', answer: [`${DUAL}. 5 IN A 10.0.0.3`] },
    { qname: DUAL, qtype: 'AAAA', answer: [`${DUAL}. 5 IN AAAA 1234:abcd::3`] },
    { qname: 'nosuchsvc.testns.svc.cluster.local', qtype: 'A', rcode: 'NXDOMAIN', ns: [soa()] },
    { qname: 'svc1.nosuchns.svc.cluster.local', qtype: 'A', rcode: 'NXDOMAIN', ns: [soa()] },
  ]);
});

describe('names are matched without case and answered in the case asked', () => {
  rows(() => handler, [
    { qname: 'SVC1.TestNS.svc.Cluster.Local', qtype: 'A', answer: ['SVC1.TestNS.svc.Cluster.Local. 5 IN A 10.0.0.1'] },
    { qname: 'Svc1.testns.SVC.cluster.local', qtype: 'AAAA', ns: ['cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1700000000 7200 1800 86400 5'] },
  ]);
});

describe('SRV records of a ClusterIP service', () => {
  rows(() => handler, [
    {
      qname: `_http._tcp.${SVC1}`, qtype: 'SRV',
      answer: [`_http._tcp.${SVC1}. 5 IN SRV 0 100 80 ${SVC1}.`], extra: [`${SVC1}. 5 IN A 10.0.0.1`],
    },
    { qname: SVC1, qtype: 'SRV', answer: [`${SVC1}. 5 IN SRV 0 100 80 ${SVC1}.`], extra: [`${SVC1}. 5 IN A 10.0.0.1`] },
    {
      // Two ports × two cluster IPs: the weight is split four ways before duplicates go.
      qname: DUAL, qtype: 'SRV',
      answer: [`${DUAL}. 5 IN SRV 0 25 80 ${DUAL}.`, `${DUAL}. 5 IN SRV 0 25 53 ${DUAL}.`],
      extra: [`${DUAL}. 5 IN A 10.0.0.3`, `${DUAL}. 5 IN AAAA 1234:abcd::3`],
    },
    {
      qname: `_dns._udp.${DUAL}`, qtype: 'SRV',
      answer: [`_dns._udp.${DUAL}. 5 IN SRV 0 50 53 ${DUAL}.`],
      extra: [`${DUAL}. 5 IN A 10.0.0.3`, `${DUAL}. 5 IN AAAA 1234:abcd::3`],
    },
    { qname: `_DNS._UDP.${DUAL}`, qtype: 'SRV', answer: [`_DNS._UDP.${DUAL}. 5 IN SRV 0 50 53 ${DUAL}.`], extra: [`${DUAL}. 5 IN A 10.0.0.3`, `${DUAL}. 5 IN AAAA 1234:abcd::3`] },
    { qname: `_dns._tcp.${DUAL}`, qtype: 'SRV', rcode: 'NXDOMAIN', ns: [soa()] },
    { qname: `_https._tcp.${SVC1}`, qtype: 'SRV', rcode: 'NXDOMAIN', ns: [soa()] },
    { qname: `_http._udp.${SVC1}`, qtype: 'SRV', rcode: 'NXDOMAIN', ns: [soa()] },
    {
      qname: 'unnamed.testns.svc.cluster.local', qtype: 'SRV',
      answer: ['unnamed.testns.svc.cluster.local. 5 IN SRV 0 100 8080 unnamed.testns.svc.cluster.local.'],
      extra: ['unnamed.testns.svc.cluster.local. 5 IN A 10.0.0.4'],
    },
    { qname: '_http._tcp.unnamed.testns.svc.cluster.local', qtype: 'SRV', rcode: 'NXDOMAIN', ns: [soa()] },
    // As in CoreDNS, a port name in front of a service also answers its address.
    { qname: `_http._tcp.${SVC1}`, qtype: 'A', answer: [`_http._tcp.${SVC1}. 5 IN A 10.0.0.1`] },
  ]);
});

describe('endpoint names below a ClusterIP service', () => {
  rows(() => handler, [
    { qname: `172-0-0-10.${SVC1}`, qtype: 'A', answer: [`172-0-0-10.${SVC1}. 5 IN A 172.0.0.10`] },
    { qname: `172-0-0-11.${SVC1}`, qtype: 'A', rcode: 'NXDOMAIN', ns: [soa()] },
    { qname: `a.b.${SVC1}`, qtype: 'A', rcode: 'NXDOMAIN', ns: [soa()] },
  ]);
});

describe('other types of an existing service name are NODATA', () => {
  rows(() => handler, ['TXT', 'MX', 'CNAME', 'PTR', 'NAPTR', 'SOA', 'NS'].map((qtype) => ({ qname: SVC1, qtype, ns: [soa()] })));
});
