/** Pod records `a-b-c-d.<ns>.pod.<zone>` in each pods mode. */
import { describe } from 'node:test';
import { CLUSTER, pod } from './fixture.ts';
import { fixtureIndex, makeHandler, rows, soa } from './rows.ts';

describe('pods: insecure answers any address that parses, in an existing namespace', () => {
  const handler = makeHandler(fixtureIndex(CLUSTER), { pods: 'insecure' });
  rows(() => handler, [
    { qname: '1-2-3-4.testns.pod.cluster.local', qtype: 'A', answer: ['1-2-3-4.testns.pod.cluster.local. 5 IN A 1.2.3.4'] },
    { qname: '1-2-3-4.testns.pod.cluster.local', qtype: 'AAAA', ns: [soa()] },
    // As CoreDNS: a pod name has an SRV record with port 0.
    {
      qname: '1-2-3-4.testns.pod.cluster.local', qtype: 'SRV',
      answer: ['1-2-3-4.testns.pod.cluster.local. 5 IN SRV 0 100 0 1-2-3-4.testns.pod.cluster.local.'],
      extra: ['1-2-3-4.testns.pod.cluster.local. 5 IN A 1.2.3.4'],
    },
    { qname: 'fd00--1.testns.pod.cluster.local', qtype: 'AAAA', answer: ['fd00--1.testns.pod.cluster.local. 5 IN AAAA fd00::1'] },
    { qname: '1-2-3-4.nosuchns.pod.cluster.local', qtype: 'A', rcode: 'NXDOMAIN', ns: [soa()] },
    { qname: '1-2-3-999.testns.pod.cluster.local', qtype: 'A', rcode: 'NXDOMAIN', ns: [soa()] },
    { qname: '01-2-3-4.testns.pod.cluster.local', qtype: 'A', rcode: 'NXDOMAIN', ns: [soa()] },
    { qname: 'not-an-ip.testns.pod.cluster.local', qtype: 'A', rcode: 'NXDOMAIN', ns: [soa()] },
    { qname: 'testns.pod.cluster.local', qtype: 'A', ns: [soa()] },
    { qname: 'nosuchns.pod.cluster.local', qtype: 'A', rcode: 'NXDOMAIN', ns: [soa()] },
  ]);
});

describe('pods: disabled answers no pod names', () => {
  const handler = makeHandler(fixtureIndex(CLUSTER), { pods: 'disabled' });
  rows(() => handler, [
    { qname: '1-2-3-4.testns.pod.cluster.local', qtype: 'A', rcode: 'NXDOMAIN', ns: [soa()] },
    { qname: '10-244-1-1.testns.pod.cluster.local', qtype: 'A', rcode: 'NXDOMAIN', ns: [soa()] },
  ]);
});

describe('pods: verified answers only the addresses of pods in that namespace', () => {
  const cluster = { ...CLUSTER, pods: [...CLUSTER.pods ?? [], pod('testns', 'leaving', ['10.244.9.9'], true)] };
  const handler = makeHandler(fixtureIndex(cluster, 'verified'), { pods: 'verified' });
  rows(() => handler, [
    { qname: '10-244-1-1.testns.pod.cluster.local', qtype: 'A', answer: ['10-244-1-1.testns.pod.cluster.local. 5 IN A 10.244.1.1'] },
    { qname: 'fd00--1.testns.pod.cluster.local', qtype: 'AAAA', answer: ['fd00--1.testns.pod.cluster.local. 5 IN AAAA fd00::1'] },
    { qname: '10-244-1-1.emptyns.pod.cluster.local', qtype: 'A', rcode: 'NXDOMAIN', ns: [soa()] },
    { qname: '1-2-3-4.testns.pod.cluster.local', qtype: 'A', rcode: 'NXDOMAIN', ns: [soa()] },
    // Listed while terminating: it is on its way out and is not added.
    { qname: '10-244-9-9.testns.pod.cluster.local', qtype: 'A', rcode: 'NXDOMAIN', ns: [soa()] },
  ]);
});
