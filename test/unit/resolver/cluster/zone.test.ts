/** The zone itself: SOA and NS at the apex, the schema version, transfers, ANY. */
import { describe } from 'node:test';
import { CLUSTER } from './fixture.ts';
import { fixtureIndex, makeHandler, rows, soa } from './rows.ts';

describe('the apex of the cluster zone', () => {
  const handler = makeHandler(fixtureIndex(CLUSTER));
  rows(() => handler, [
    { qname: 'cluster.local', qtype: 'SOA', answer: [soa()] },
    // The zone in the SOA is in the case asked, as CoreDNS writes it.
    { qname: 'Cluster.Local', qtype: 'SOA', answer: [soa().replaceAll('cluster.local.', 'Cluster.Local.')] },
    // Without a non-loopback address of its own, the nameserver is named without glue.
    { qname: 'cluster.local', qtype: 'NS', answer: ['cluster.local. 5 IN NS ns.dns.cluster.local.'] },
    { qname: 'ns.dns.cluster.local', qtype: 'A', ns: [soa()] },
    { qname: 'dns-version.cluster.local', qtype: 'TXT', answer: ['dns-version.cluster.local. 5 IN TXT "1.1.0"'] },
    { qname: 'dns-version.cluster.local', qtype: 'CNAME', ns: [soa()] },
    { qname: 'dns-version.cluster.local', qtype: 'SRV', ns: [soa()] },
    { qname: 'ns.dns.cluster.local', qtype: 'CNAME', ns: [soa()] },
    { qname: 'cluster.local', qtype: 'AXFR', rcode: 'REFUSED' },
    { qname: 'cluster.local', qtype: 'IXFR', rcode: 'REFUSED' },
    { qname: 'svc1.testns.svc.cluster.local', qtype: 'ANY', answer: ['svc1.testns.svc.cluster.local. 5 IN HINFO "RFC8482" ""'] },
    { qname: 'nosuch.testns.svc.cluster.local', qtype: 'ANY', rcode: 'NXDOMAIN', ns: [soa()] },
  ]);
});

describe('the zone nameserver is the service whose endpoint this server is', () => {
  const handler = makeHandler(fixtureIndex(CLUSTER), { localAddresses: ['10.244.0.53'] });
  rows(() => handler, [
    {
      qname: 'cluster.local', qtype: 'NS',
      answer: ['cluster.local. 5 IN NS kube-dns.kube-system.svc.cluster.local.'],
      extra: ['kube-dns.kube-system.svc.cluster.local. 5 IN A 10.96.0.10'],
    },
    { qname: 'ns.dns.cluster.local', qtype: 'A', answer: ['ns.dns.cluster.local. 5 IN A 10.96.0.10'] },
  ]);
});

describe('a nameserver that is no service endpoint is ns.dns.<zone> at its own address', () => {
  const handler = makeHandler(fixtureIndex(CLUSTER), { localAddresses: ['192.0.2.53'] });
  rows(() => handler, [
    { qname: 'cluster.local', qtype: 'NS', answer: ['cluster.local. 5 IN NS ns.dns.cluster.local.'], extra: ['ns.dns.cluster.local. 5 IN A 192.0.2.53'] },
    { qname: 'ns.dns.cluster.local', qtype: 'A', answer: ['ns.dns.cluster.local. 5 IN A 192.0.2.53'] },
    { qname: 'ns.dns.cluster.local', qtype: 'AAAA', ns: [soa()] },
  ]);
});

describe('the TTL of the zone', () => {
  const handler = makeHandler(fixtureIndex(CLUSTER), { ttl: 600 });
  rows(() => handler, [
    { qname: 'svc1.testns.svc.cluster.local', qtype: 'A', answer: ['svc1.testns.svc.cluster.local. 600 IN A 10.0.0.1'] },
    // The SOA's own TTL stays at most 300; its minimum (the negative TTL) is the zone TTL.
    { qname: 'svc1.testns.svc.cluster.local', qtype: 'AAAA', ns: [soa(600).replace(' 600 IN SOA', ' 300 IN SOA')] },
  ]);
});

describe('names outside the cluster zone go upstream; ANY is answered without it', () => {
  const handler = makeHandler(fixtureIndex(CLUSTER));
  rows(() => handler, [
    { qname: 'example.com', qtype: 'A', rcode: 'REFUSED', aa: false },
    { qname: 'local', qtype: 'SOA', rcode: 'REFUSED', aa: false },
    { qname: 'xcluster.local', qtype: 'A', rcode: 'REFUSED', aa: false },
    { qname: 'example.com', qtype: 'ANY', aa: false, answer: ['example.com. 5 IN HINFO "RFC8482" ""'] },
    { qname: 'example.com', qtype: 'AXFR', rcode: 'REFUSED', aa: false },
  ]);
});
