/**
 * The wire codec on the hot path: the resolver's hand-written decoder and encoder against
 * dns-packet, on the same query and the same answer (one A record, EDNS0).
 */
import dnsPacket from 'dns-packet';
import type { Answer } from 'dns-packet';
import { decodeQuery } from '../../src/dns/query-decoder.ts';
import { encodeResponse } from '../../src/dns/response-encoder.ts';
import { encodeQuery } from '../../test/dns/client.ts';

export interface CodecResult {
  readonly handNs: number;
  readonly dnsPacketNs: number;
}

function timePerOp(iterations: number, work: () => void): number {
  for (let i = 0; i < iterations / 10; i++) work();
  const began = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) work();
  return Number(process.hrtime.bigint() - began) / iterations;
}

/** Nanoseconds to decode a query and encode its answer, each way. */
export function measureCodec(iterations = 200_000): CodecResult {
  const name = 'svc-42.bench-7.svc.cluster.local';
  const query = encodeQuery(name, 'A', { edns: 1232 });
  const record = { type: 'A' as const, name, ttl: 30, address: '10.96.12.34' };
  const handNs = timePerOp(iterations, () => {
    const decoded = decodeQuery(query);
    if (decoded.kind !== 'query') throw new Error('not a query');
    encodeResponse(decoded.query, { rcode: 0, authoritative: true, answer: [record] }, 1232);
  });
  const dnsPacketNs = timePerOp(iterations, () => {
    const decoded = dnsPacket.decode(query);
    const question = decoded.questions?.[0];
    if (!question) throw new Error('no question');
    const answer: Answer = { type: 'A', name: question.name, ttl: 30, data: '10.96.12.34' };
    dnsPacket.encode({
      type: 'response', id: decoded.id, flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED, questions: [question], answers: [answer],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [] } as unknown as Answer],
    });
  });
  return { handNs, dnsPacketNs };
}
