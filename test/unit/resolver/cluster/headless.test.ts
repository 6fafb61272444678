/** Headless services: one record per ready endpoint, endpoint names, SRV per endpoint and port. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CLUSTER } from './fixture.ts';
import { answer, fixtureIndex, makeHandler, rows, soa } from './rows.ts';

const handler = makeHandler(fixtureIndex(CLUSTER));
const HDLS = 'hdls1.testns.svc.cluster.local';

describe('a headless service', () => {
  rows(() => handler, [
    {
      // Ready and "ready absent" endpoints, each address once across slices; not-ready ones left out.
      qname: HDLS, qtype: 'A',
      answer: [`${HDLS}. 5 IN A 172.0.0.2`, `${HDLS}. 5 IN A 172.0.0.3`, `${HDLS}. 5 IN A 172.0.0.4`],
    },
    { qname: HDLS, qtype: 'AAAA', answer: [`${HDLS}. 5 IN AAAA 5678:abcd::1`, `${HDLS}. 5 IN AAAA 5678:abcd::2`] },
    { qname: 'hdlsempty.testns.svc.cluster.local', qtype: 'A', rcode: 'NXDOMAIN', ns: [soa()] },
    { qname: 'hdlsempty.testns.svc.cluster.local', qtype: 'SRV', rcode: 'NXDOMAIN', ns: [soa()] },
    { qname: 'hdlsnoports.testns.svc.cluster.local', qtype: 'A', answer: ['hdlsnoports.testns.svc.cluster.local. 5 IN A 172.0.0.20'] },
    // Without declared ports there is nothing to put in an SRV record.
    { qname: 'hdlsnoports.testns.svc.cluster.local', qtype: 'SRV', ns: [soa()] },
  ]);
});

describe('endpoint names of a headless service', () => {
  rows(() => handler, [
    { qname: `dup-name.${HDLS}`, qtype: 'A', answer: [`dup-name.${HDLS}. 5 IN A 172.0.0.2`, `dup-name.${HDLS}. 5 IN A 172.0.0.3`] },
    { qname: `172-0-0-4.${HDLS}`, qtype: 'A', answer: [`172-0-0-4.${HDLS}. 5 IN A 172.0.0.4`] },
    // An endpoint with a hostname is not known by its dashed address.
    { qname: `172-0-0-2.${HDLS}`, qtype: 'A', rcode: 'NXDOMAIN', ns: [soa()] },
    { qname: `172-0-0-5.${HDLS}`, qtype: 'A', rcode: 'NXDOMAIN', ns: [soa()] },
    { qname: `5678-abcd--1.${HDLS}`, qtype: 'AAAA', answer: [`5678-abcd--1.${HDLS}. 5 IN AAAA 5678:abcd::1`] },
    { qname: `v6host.${HDLS}`, qtype: 'AAAA', answer: [`v6host.${HDLS}. 5 IN AAAA 5678:abcd::2`] },
    { qname: `v6host.${HDLS}`, qtype: 'A', ns: [soa()] },
    { qname: `DUP-NAME.${HDLS.toUpperCase()}`, qtype: 'A', answer: [`DUP-NAME.${HDLS.toUpperCase()}. 5 IN A 172.0.0.2`, `DUP-NAME.${HDLS.toUpperCase()}. 5 IN A 172.0.0.3`] },
  ]);
});

describe('SRV records of a headless service', () => {
  const srv = (target: string): string => `_http._tcp.${HDLS}. 5 IN SRV 0 16 80 ${target}.${HDLS}.`;
  rows(() => handler, [
    {
      // Six (address, port) pairs across the slices, one of them a duplicate: weight 100/6.
      qname: `_http._tcp.${HDLS}`, qtype: 'SRV',
      answer: [srv('dup-name'), srv('172-0-0-4'), srv('5678-abcd--1'), srv('v6host')],
      extra: [
        `dup-name.${HDLS}. 5 IN A 172.0.0.2`, `dup-name.${HDLS}. 5 IN A 172.0.0.3`, `172-0-0-4.${HDLS}. 5 IN A 172.0.0.4`,
        `5678-abcd--1.${HDLS}. 5 IN AAAA 5678:abcd::1`, `v6host.${HDLS}. 5 IN AAAA 5678:abcd::2`,
      ],
    },
    {
      qname: `v6host.${HDLS}`, qtype: 'SRV',
      answer: [`v6host.${HDLS}. 5 IN SRV 0 100 80 v6host.${HDLS}.`], extra: [`v6host.${HDLS}. 5 IN AAAA 5678:abcd::2`],
    },
    { qname: `_https._tcp.${HDLS}`, qtype: 'SRV', rcode: 'NXDOMAIN', ns: [soa()] },
  ]);
});

describe('several addresses', () => {
  test('turn round robin from one answer to the next, as CoreDNS with loadbalance', async () => {
    const firsts = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const got = await answer(handler, HDLS, 'A');
      // The first answer record: a pointer to the question (c0 0c), type, class, TTL, length, then the address.
      const at = got.raw.indexOf(Buffer.from([0xc0, 0x0c]));
      firsts.add(got.raw.subarray(at + 12, at + 16).join('.'));
      assert.equal(got.answer.length, 3);
    }
    assert.equal(firsts.size, 3, 'each of the three addresses came first once');
  });
});
