/**
 * Table tests of answers, written as CoreDNS's handler_test.go writes them: a question, the
 * rcode, and the expected records as zone-file text. Each row is answered by the real
 * handler (decode, lookup, build, encode) over an index built from Kubernetes objects, and
 * the response is decoded with dns-packet.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import type { PodsMode } from '../../../../src/api/clusterdns.ts';
import type { RawObject, WatchEvent } from '../../../../src/kube/watcher.ts';
import { QueryHandler } from '../../../../src/resolver/serve/query-handler.ts';
import type { Upstream } from '../../../../src/resolver/serve/query-handler.ts';
import { ClusterIndex } from '../../../../src/resolver/cluster/cluster-index.ts';
import { Drops, LimitedLog } from '../../../../src/resolver/metrics/drops.ts';
import { QueryStats } from '../../../../src/resolver/metrics/query-stats.ts';
import { shrinkEndpointSlice, shrinkNamespace, shrinkPod, shrinkService } from '../../../../src/resolver/cluster/objects.ts';
import type { ResourceRecord } from '../../../../src/dns/records.ts';
import { RCODE } from '../../../../src/dns/records.ts';
import { encodeResponse } from '../../../../src/dns/response-encoder.ts';
import { decodeResponse, encodeQuery, render } from '../../../dns/client.ts';
import type { QueryOptions, Rendered } from '../../../dns/client.ts';

export interface Row {
  readonly qname: string;
  readonly qtype: string;
  readonly rcode?: string;
  readonly answer?: readonly string[];
  readonly ns?: readonly string[];
  readonly extra?: readonly string[];
  /** Defaults to true unless the rcode is REFUSED. */
  readonly aa?: boolean;
  readonly options?: QueryOptions;
}

export interface Fixture {
  readonly namespaces?: readonly string[];
  readonly services?: readonly RawObject[];
  readonly slices?: readonly RawObject[];
  readonly pods?: readonly RawObject[];
  /** False leaves the index as it is before the first list. */
  readonly synced?: boolean;
}

/** The fixed clock of the tests: the SOA serial is 1700000000. */
export const NOW = 1_700_000_000_000;
export const SERIAL = 1_700_000_000;

export function fixtureIndex(fixture: Fixture, pods: PodsMode = 'insecure'): ClusterIndex {
  const kinds = pods === 'verified' ? ['services', 'endpointslices', 'namespaces', 'pods'] as const : ['services', 'endpointslices', 'namespaces'] as const;
  const index = new ClusterIndex(kinds, { now: () => NOW });
  if (fixture.synced === false) return index;
  const restarted = <T>(objects: T[]): WatchEvent<T> => ({ type: 'restarted', objects });
  index.applyNamespaces(restarted((fixture.namespaces ?? []).map((name) => shrinkNamespace({ metadata: { name } }))));
  index.applyServices(restarted((fixture.services ?? []).map(shrinkService)));
  index.applySlices(restarted((fixture.slices ?? []).map(shrinkEndpointSlice)));
  if (pods === 'verified') index.applyPods(restarted((fixture.pods ?? []).map(shrinkPod)));
  return index;
}

export interface HandlerSetup {
  readonly pods?: PodsMode;
  readonly ttl?: number;
  readonly localAddresses?: readonly string[];
  /** What an external CNAME target resolves to; undefined: upstream does not answer. */
  readonly resolve?: (name: string, type: number) => readonly ResourceRecord[] | undefined;
}

/**
 * What a forwarded query gets from the upstream stand-in: REFUSED without AA, so that a row
 * can tell that the name left the zone.
 */
export const FORWARDED = { rcode: 'REFUSED', aa: false } as const;

export function makeHandler(index: ClusterIndex, setup: HandlerSetup = {}): QueryHandler {
  const upstream: Upstream = {
    forward: (query, limit) => Promise.resolve({
      response: encodeResponse(query, { rcode: RCODE.REFUSED, authoritative: false, recursionAvailable: true }, limit),
      rcode: RCODE.REFUSED,
      answerer: 'forward',
    }),
    resolve: (name, type) => Promise.resolve(setup.resolve?.(name, type)),
  };
  const stats = new QueryStats('dns://:1053');
  return new QueryHandler({
    index,
    answers: { zone: 'cluster.local', ttl: setup.ttl ?? 5, pods: setup.pods ?? 'insecure', localAddresses: setup.localAddresses ?? [] },
    upstream,
    stats,
    drops: new Drops(stats, new LimitedLog(pino({ level: 'silent' }))),
  });
}

export async function answer(handler: QueryHandler, qname: string, qtype: string, options: QueryOptions = {}, proto: 'udp' | 'tcp' = 'udp'): Promise<Rendered & { raw: Buffer }> {
  const raw = await handler.handle(encodeQuery(qname, qtype, options), proto, 4);
  if (!raw) throw new Error(`no response to ${qname} ${qtype}`);
  return { ...render(decodeResponse(raw)), raw };
}

/** One test per row. */
export function rows(handler: () => QueryHandler, table: readonly Row[]): void {
  for (const row of table) {
    const rcode = row.rcode ?? 'NOERROR';
    test(`${row.qname} ${row.qtype} → ${rcode}${row.answer?.length ? ` with ${row.answer.length} record(s)` : ''}`, async () => {
      const got = await answer(handler(), row.qname, row.qtype, row.options);
      assert.deepEqual(
        { rcode: got.rcode, aa: got.aa, answer: got.answer, ns: got.ns, extra: got.extra },
        { rcode, aa: row.aa ?? rcode !== 'REFUSED', answer: [...row.answer ?? []].sort(), ns: [...row.ns ?? []].sort(), extra: [...row.extra ?? []].sort() },
      );
    });
  }
}

/** The zone's SOA as every negative answer carries it. */
export function soa(ttl = 5): string {
  return `cluster.local. ${Math.min(ttl, 300)} IN SOA ns.dns.cluster.local. hostmaster.cluster.local. ${SERIAL} 7200 1800 86400 ${ttl}`;
}
