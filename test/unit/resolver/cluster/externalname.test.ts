/** ExternalName services: a CNAME, chased inside the zone or upstream for A and AAAA. */
import { describe } from 'node:test';
import type { ResourceRecord } from '../../../../src/dns/records.ts';
import { TYPE } from '../../../../src/dns/records.ts';
import { CLUSTER } from './fixture.ts';
import { fixtureIndex, makeHandler, rows, soa } from './rows.ts';

const EXT = 'external.testns.svc.cluster.local';
const TO_SVC = 'external-to-service.testns.svc.cluster.local';

const upstreamAnswers = (name: string, type: number): readonly ResourceRecord[] | undefined => {
  if (name !== 'ext.interwebs.test') return undefined;
  return type === TYPE.A
    ? [{ type: 'CNAME', name: 'ext.interwebs.test', ttl: 300, target: 'www.interwebs.test' }, { type: 'A', name: 'www.interwebs.test', ttl: 300, address: '192.0.2.7' }]
    : [];
};

describe('an ExternalName service', () => {
  const handler = makeHandler(fixtureIndex(CLUSTER), { resolve: upstreamAnswers });
  rows(() => handler, [
    { qname: EXT, qtype: 'CNAME', answer: [`${EXT}. 5 IN CNAME ext.interwebs.test.`] },
    {
      qname: EXT, qtype: 'A',
      answer: [`${EXT}. 5 IN CNAME ext.interwebs.test.`, 'ext.interwebs.test. 300 IN CNAME www.interwebs.test.', 'www.interwebs.test. 300 IN A 192.0.2.7'],
    },
    // Upstream answered, with no address: the CNAME alone.
    { qname: EXT, qtype: 'AAAA', answer: [`${EXT}. 5 IN CNAME ext.interwebs.test.`] },
    { qname: TO_SVC, qtype: 'A', answer: [`${TO_SVC}. 5 IN CNAME svc1.testns.svc.cluster.local.`, 'svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1'] },
    // The target has no AAAA: neither the CNAME nor an address.
    { qname: TO_SVC, qtype: 'AAAA', ns: [soa()] },
    { qname: EXT, qtype: 'SRV', ns: [soa()] },
    { qname: EXT, qtype: 'TXT', ns: [soa()] },
    { qname: `_http._tcp.${EXT}`, qtype: 'SRV', rcode: 'NXDOMAIN', ns: [soa()] },
    { qname: `endpoint.${EXT}`, qtype: 'A', rcode: 'NXDOMAIN', ns: [soa()] },
    // An IP address is not a name to point at.
    { qname: 'external-ip.testns.svc.cluster.local', qtype: 'A', rcode: 'NXDOMAIN', ns: [soa()] },
    // A CNAME to itself is never followed.
    { qname: 'loop.testns.svc.cluster.local', qtype: 'A', ns: [soa()] },
  ]);
});

describe('an ExternalName service whose target upstream does not answer', () => {
  const handler = makeHandler(fixtureIndex(CLUSTER), { resolve: () => undefined });
  rows(() => handler, [
    { qname: EXT, qtype: 'A', ns: [soa()] },
    { qname: EXT, qtype: 'CNAME', answer: [`${EXT}. 5 IN CNAME ext.interwebs.test.`] },
  ]);
});
