/**
 * One query in, one response out: decode, route by zone, answer (from the index, the
 * cache or upstream), encode, count. The transports (transports.ts) only move bytes.
 *
 * Routing, as kubeadm's Corefile does it: the cluster zone is always answered here and never
 * forwarded; PTR names of cluster IPs and endpoints are answered here and every other
 * reverse name falls through to upstream; the rest goes upstream. ANY gets one synthesized
 * HINFO (RFC 8482) instead of a trip upstream. An answer that throws is SERVFAIL and
 * counted in `coredns_panics_total`; it never stops the server.
 *
 * No answer over UDP is larger than the client's EDNS0 size or the server's own advertised
 * 1232 bytes, whichever is smaller (512 without EDNS0): a spoofed query for a large answer
 * gets a truncated one, so the server cannot amplify an attack on the address it names.
 */
import { isSubdomain } from '../../dns/names.ts';
import { decodeQuery } from '../../dns/query-decoder.ts';
import type { Query } from '../../dns/query-decoder.ts';
import { RCODE, TYPE } from '../../dns/records.ts';
import type { ResourceRecord } from '../../dns/records.ts';
import { ADVERTISED_UDP_SIZE, encodeHeaderOnly, encodeResponse } from '../../dns/response-encoder.ts';
import type { ResponseParts } from '../../dns/response-encoder.ts';
import { build, lookup, lookupReverse } from '../cluster/answer.ts';
import type { AnswerConfig, Lookup } from '../cluster/answer.ts';
import type { ClusterIndex } from '../cluster/cluster-index.ts';
import type { Drops } from '../metrics/drops.ts';
import type { Answerer, Proto, QueryStats } from '../metrics/query-stats.ts';
import type { ShadowTap } from '../shadow/shadow.ts';
import type { Forwarded } from '../upstream/forwarder.ts';

/** What the handler needs from upstream (the Forwarder of upstream/forwarder.ts). */
export interface Upstream {
  /** Synchronous when it can answer from its cache. */
  forward(query: Query, limit: number): Forwarded | Promise<Forwarded>;
  resolve(name: string, type: number, dnssecOk: boolean): Promise<readonly ResourceRecord[] | undefined>;
}

export interface HandlerOptions {
  readonly index: ClusterIndex;
  readonly answers: AnswerConfig;
  readonly upstream: Upstream;
  readonly stats: QueryStats;
  /** Counts what is dropped, and logs it and failed answers at a limited rate. */
  readonly drops: Drops;
  /** Shadow comparison (src/resolver/shadow/): absent when off, which costs nothing per query. */
  readonly shadow?: ShadowTap;
}

/** A response now, a response later, or nothing (the query is dropped). */
export type HandlerResult = Buffer | undefined | Promise<Buffer | undefined>;

const TCP_LIMIT = 65535;

export class QueryHandler {
  private readonly options: HandlerOptions;
  private rotation = 0;

  constructor(options: HandlerOptions) {
    this.options = options;
  }

  handle(message: Buffer, proto: Proto, family: 4 | 6): HandlerResult {
    const began = performance.now();
    const decoded = decodeQuery(message);
    if (decoded.kind === 'drop') {
      this.options.drops.drop('malformed', { why: decoded.reason, proto });
      return undefined;
    }
    if (decoded.kind === 'reject') {
      const response = encodeHeaderOnly(decoded.id, decoded.opcode, decoded.recursionDesired, decoded.rcode, decoded.edns);
      this.options.stats.request(proto, family, 0, decoded.rcode, '', message.length, response.length, (performance.now() - began) / 1000, false);
      return response;
    }
    const query = decoded.query;
    const limit = proto === 'tcp' ? TCP_LIMIT : Math.min(query.edns?.udpSize ?? 512, ADVERTISED_UDP_SIZE);
    try {
      const answered = this.answer(query, limit);
      if (answered instanceof Promise) {
        return answered.then(
          ([response, answerer]) => this.done(query, response, answerer, proto, family, began),
          (error: unknown) => this.failed(query, limit, error, proto, family, began),
        );
      }
      return this.done(query, answered[0], answered[1], proto, family, began);
    } catch (error) {
      return this.failed(query, limit, error, proto, family, began);
    }
  }

  private answer(query: Query, limit: number): [Buffer, Answerer] | Promise<[Buffer, Answerer]> {
    const { index, answers } = this.options;
    const question = { name: query.lowerName, type: query.type };
    if (isSubdomain(query.lowerName, answers.zone)) {
      const result = lookup(question, index, answers);
      if (result.kind === 'chase') return this.chase(query, result, limit);
      return [encodeResponse(query, this.rotate(build(result, index, answers)), limit), 'kubernetes'];
    }
    if (query.type === TYPE.ANY) {
      const hinfo: ResourceRecord = { type: 'HINFO', name: query.lowerName, ttl: answers.ttl, cpu: 'RFC8482', os: '' };
      return [encodeResponse(query, { rcode: RCODE.NOERROR, authoritative: false, answer: [hinfo] }, limit), 'any'];
    }
    if (query.type === TYPE.AXFR || query.type === TYPE.IXFR) {
      return [encodeResponse(query, { rcode: RCODE.REFUSED, authoritative: false }, limit), ''];
    }
    if (isSubdomain(query.lowerName, 'in-addr.arpa') || isSubdomain(query.lowerName, 'ip6.arpa')) {
      const reverse = lookupReverse(question, index, answers);
      if (reverse && reverse.kind !== 'chase') return [encodeResponse(query, build(reverse, index, answers), limit), 'kubernetes'];
    }
    const forwarded = this.options.upstream.forward(query, limit);
    if (forwarded instanceof Promise) return forwarded.then((f) => [f.response, f.answerer]);
    return [forwarded.response, forwarded.answerer];
  }

  /** Completes a CNAME to an external name: its records from upstream, or NODATA when upstream fails (as CoreDNS). */
  private async chase(query: Query, result: Extract<Lookup, { kind: 'chase' }>, limit: number): Promise<[Buffer, Answerer]> {
    const { index, answers } = this.options;
    const records = await this.options.upstream.resolve(result.target, result.type, query.edns?.dnssecOk ?? false);
    const parts: ResponseParts = records
      ? { rcode: RCODE.NOERROR, authoritative: true, answer: [...result.answer, ...records] }
      : build({ kind: 'nodata' }, index, answers);
    return [encodeResponse(query, parts, limit), 'kubernetes'];
  }

  /**
   * Turns the address records of a multi-address answer round robin, as CoreDNS's
   * `loadbalance` plugin in kubeadm's Corefile does, so that clients that take the first
   * address spread over a headless service's endpoints.
   */
  private rotate(parts: ResponseParts): ResponseParts {
    const answer = parts.answer;
    if (!answer || answer.length < 2 || !answer.every((r) => r.type === 'A' || r.type === 'AAAA')) return parts;
    const shift = this.rotation++ % answer.length;
    return { ...parts, answer: [...answer.slice(shift), ...answer.slice(0, shift)] };
  }

  private done(query: Query, response: Buffer, answerer: Answerer, proto: Proto, family: 4 | 6, began: number): Buffer {
    const rcode = response.readUInt8(3) & 0xf;
    this.options.stats.request(proto, family, query.type, rcode, answerer, query.message.length, response.length, (performance.now() - began) / 1000, query.edns?.dnssecOk ?? false);
    this.options.shadow?.offer(query, response, answerer);
    return response;
  }

  private failed(query: Query, limit: number, error: unknown, proto: Proto, family: 4 | 6, began: number): Buffer {
    this.options.stats.panic();
    this.options.drops.log.write('error', 'panic', { err: error instanceof Error ? error.stack : String(error), name: query.name, type: query.type }, 'answering a query failed');
    const response = encodeResponse(query, { rcode: RCODE.SERVFAIL, authoritative: false }, limit);
    return this.done(query, response, '', proto, family, began);
  }
}
