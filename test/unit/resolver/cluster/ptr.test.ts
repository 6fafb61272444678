/** PTR for cluster IPs and endpoint IPs in in-addr.arpa and ip6.arpa; every other reverse name goes upstream. */
import { describe } from 'node:test';
import { ipv6ToBytes } from '../../../../src/dns/ip.ts';
import { CLUSTER } from './fixture.ts';
import { FORWARDED, fixtureIndex, makeHandler, rows } from './rows.ts';

const handler = makeHandler(fixtureIndex(CLUSTER));

function ip6arpa(ip: string): string {
  const hex = Buffer.from(ipv6ToBytes(ip)).toString('hex');
  return `${hex.split('').reverse().join('.')}.ip6.arpa`;
}

describe('PTR records', () => {
  const v6 = ip6arpa('1234:abcd::1');
  const v6endpoint = ip6arpa('5678:abcd::2');
  rows(() => handler, [
    { qname: '1.0.0.10.in-addr.arpa', qtype: 'PTR', answer: ['1.0.0.10.in-addr.arpa. 5 IN PTR svc1.testns.svc.cluster.local.'] },
    { qname: '1.0.0.10.IN-ADDR.ARPA', qtype: 'PTR', answer: ['1.0.0.10.IN-ADDR.ARPA. 5 IN PTR svc1.testns.svc.cluster.local.'] },
    { qname: '3.0.0.10.in-addr.arpa', qtype: 'PTR', answer: ['3.0.0.10.in-addr.arpa. 5 IN PTR dual.testns.svc.cluster.local.'] },
    { qname: v6, qtype: 'PTR', answer: [`${v6}. 5 IN PTR svc6.testns.svc.cluster.local.`] },
    // Endpoints, of headless and of ClusterIP services alike, by hostname or dashed address.
    { qname: '10.0.0.172.in-addr.arpa', qtype: 'PTR', answer: ['10.0.0.172.in-addr.arpa. 5 IN PTR 172-0-0-10.svc1.testns.svc.cluster.local.'] },
    { qname: '2.0.0.172.in-addr.arpa', qtype: 'PTR', answer: ['2.0.0.172.in-addr.arpa. 5 IN PTR dup-name.hdls1.testns.svc.cluster.local.'] },
    { qname: '4.0.0.172.in-addr.arpa', qtype: 'PTR', answer: ['4.0.0.172.in-addr.arpa. 5 IN PTR 172-0-0-4.hdls1.testns.svc.cluster.local.'] },
    { qname: v6endpoint, qtype: 'PTR', answer: [`${v6endpoint}. 5 IN PTR v6host.hdls1.testns.svc.cluster.local.`] },
  ]);
});

describe('reverse names that are not cluster addresses go upstream', () => {
  rows(() => handler, [
    // Not ready: not an answer of the cluster.
    { qname: '5.0.0.172.in-addr.arpa', qtype: 'PTR', ...FORWARDED },
    { qname: '9.9.9.9.in-addr.arpa', qtype: 'PTR', ...FORWARDED },
    { qname: '0.10.in-addr.arpa', qtype: 'PTR', ...FORWARDED },
    { qname: '1.0.0.10.in-addr.arpa', qtype: 'A', ...FORWARDED },
    { qname: '1.0.0.10.in-addr.arpa', qtype: 'TXT', ...FORWARDED },
    { qname: 'in-addr.arpa', qtype: 'SOA', ...FORWARDED },
  ]);
});
