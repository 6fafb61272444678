/**
 * Forwarding of names outside the cluster zone, with a cache.
 *
 * A question is asked once however many clients ask it at the same time (later askers wait
 * for the first). Each attempt goes over UDP from a socket of its own, on a port the kernel
 * picks at random, with a random id; only an answer from the server and port asked, with
 * that id and that question, is taken (acceptance.ts), and anything else that arrives is
 * dropped, counted, and the wait goes on, so a forgery that arrives first changes nothing.
 * (Case randomisation of the name, "0x20", is not used: see docs/resolver.md.) A truncated
 * answer, or one larger than the 1232 bytes advertised, is asked again over TCP. A server
 * that does not answer within the timeout is given up for the next, and when every attempt
 * fails the client gets SERVFAIL. At most `maxConcurrent` exchanges are in flight; beyond
 * that a query is REFUSED at once, as CoreDNS's forward plugin does.
 */
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { nameToLabels } from '../../dns/names.ts';
import type { Query } from '../../dns/query-decoder.ts';
import { CLASS, RCODE, RCODE_NAMES } from '../../dns/records.ts';
import type { ResourceRecord } from '../../dns/records.ts';
import { encodeResponse } from '../../dns/response-encoder.ts';
import { answerRecords, relay, storable } from '../../dns/response-relay.ts';
import type { ScannedMessage, StoredMessage } from '../../dns/response-relay.ts';
import { exchangeOverTcp } from '../../dns/tcp-exchange.ts';
import type { Drops } from '../metrics/drops.ts';
import type { QueryStats } from '../metrics/query-stats.ts';
import { judgeAnswer } from './acceptance.ts';
import type { Asked } from './acceptance.ts';
import { ResponseCache } from './cache.ts';
import type { UpstreamRoutes } from './routes.ts';

export interface ForwarderOptions {
  readonly routes: UpstreamRoutes;
  readonly cache: ResponseCache;
  readonly stats: QueryStats;
  readonly drops: Drops;
  readonly timeoutMs: number;
  readonly maxConcurrent: number;
  /** Attempts per question, each to the next server of the route. */
  readonly attempts?: number;
}

export interface Forwarded {
  readonly response: Buffer;
  readonly rcode: number;
  readonly answerer: 'forward' | 'cache';
}

interface Exchanged {
  readonly stored: StoredMessage;
  readonly truncated: boolean;
}

interface Received {
  readonly message: Buffer;
  readonly scanned: ScannedMessage;
}

/** What one UDP attempt came to: an answer, "ask over TCP", or nothing (timeout, error). */
type UdpOutcome = Received | 'tcp' | undefined;

/** The UDP payload size the forwarder advertises upstream, as the server does to its clients. */
const UPSTREAM_UDP_SIZE = 1232;
const TCP_MAX_BYTES = 65535;

export class Forwarder {
  private readonly options: ForwarderOptions;
  private readonly inFlight = new Map<string, Promise<Exchanged | undefined>>();
  /** The UDP attempts waiting for an answer, so that close() can end them. */
  private readonly waiting = new Set<(outcome: UdpOutcome) => void>();
  private exchanges = 0;
  private closed = false;

  constructor(options: ForwarderOptions) {
    this.options = options;
  }

  /**
   * The response to `query`, at most `limit` bytes: from the cache (at once, without a
   * promise: the common case stays synchronous), else from upstream.
   */
  forward(query: Query, limit: number): Forwarded | Promise<Forwarded> {
    const key = ResponseCache.key(query.lowerName, query.type, query.class, query.edns?.dnssecOk ?? false, query.checkingDisabled);
    const hit = this.options.cache.get(key);
    this.options.stats.cacheLookup(hit?.kind);
    if (hit) return { response: relay(hit.stored, query, limit, hit.ttl), rcode: hit.stored.rcode, answerer: 'cache' };
    if (this.exchanges >= this.options.maxConcurrent && !this.inFlight.has(key)) {
      this.options.stats.concurrencyReject();
      return { response: encodeResponse(query, { rcode: RCODE.REFUSED, authoritative: false }, limit), rcode: RCODE.REFUSED, answerer: 'forward' };
    }
    const question = query.message.subarray(12, query.questionEnd);
    return this.ask(key, query.lowerName, question, query.edns?.dnssecOk ?? false, query.checkingDisabled).then((exchanged): Forwarded => {
      if (!exchanged) {
        return { response: encodeResponse(query, { rcode: RCODE.SERVFAIL, authoritative: false }, limit), rcode: RCODE.SERVFAIL, answerer: 'forward' };
      }
      return { response: relay(exchanged.stored, query, limit), rcode: exchanged.stored.rcode, answerer: 'forward' };
    });
  }

  /**
   * The answer records for `name` (an external CNAME target of the cluster zone), or
   * undefined when no server answered.
   */
  async resolve(name: string, type: number, dnssecOk: boolean): Promise<readonly ResourceRecord[] | undefined> {
    const lowerName = name.toLowerCase();
    const key = ResponseCache.key(lowerName, type, CLASS.IN, dnssecOk, false);
    const hit = this.options.cache.get(key);
    this.options.stats.cacheLookup(hit?.kind);
    if (hit) return answerRecords(hit.stored.message, hit.stored).map((r) => ({ ...r, ttl: hit.ttl }));
    const question = encodeQuestion(name, type);
    if (!question) return undefined;
    if (this.exchanges >= this.options.maxConcurrent && !this.inFlight.has(key)) {
      this.options.stats.concurrencyReject();
      return undefined;
    }
    const exchanged = await this.ask(key, lowerName, question, dnssecOk, false);
    return exchanged ? answerRecords(exchanged.stored.message, exchanged.stored) : undefined;
  }

  /** Closes the sockets; questions in flight end as failures. */
  close(): void {
    this.closed = true;
    for (const finish of [...this.waiting]) finish(undefined);
  }

  /** Asks once per key at a time; later askers share the first one's answer. */
  private ask(key: string, lowerName: string, question: Buffer, dnssecOk: boolean, checkingDisabled: boolean): Promise<Exchanged | undefined> {
    const running = this.inFlight.get(key);
    if (running) return running;
    this.exchanges++;
    const asking = this.exchange(lowerName, question, dnssecOk, checkingDisabled)
      .then((exchanged) => {
        if (exchanged) this.options.cache.put(key, exchanged.stored, exchanged.truncated);
        return exchanged;
      })
      .finally(() => {
        this.exchanges--;
        this.inFlight.delete(key);
      });
    this.inFlight.set(key, asking);
    return asking;
  }

  private async exchange(lowerName: string, question: Buffer, dnssecOk: boolean, checkingDisabled: boolean): Promise<Exchanged | undefined> {
    const servers = this.options.routes.routeFor(lowerName).servers;
    if (servers.length === 0) return undefined;
    const attempts = this.options.attempts ?? 2;
    const first = randomInt(servers.length);
    for (let attempt = 0; attempt < attempts && !this.closed; attempt++) {
      const server = servers[(first + attempt) % servers.length];
      if (!server) break;
      const began = performance.now();
      const asked: Asked = { server, id: randomInt(65536), question };
      const message = encodeUpstreamQuery(asked.id, question, dnssecOk, checkingDisabled);
      const overUdp = await this.udp(asked, message);
      const received = overUdp === 'tcp' || overUdp?.scanned.truncated ? await this.tcp(asked, message) : overUdp;
      const seconds = (performance.now() - began) / 1000;
      if (!received) {
        this.options.stats.upstream(`${server.host}:${server.port}`, 'timeout', seconds);
        continue;
      }
      this.options.stats.upstream(`${server.host}:${server.port}`, RCODE_NAMES[received.scanned.rcode] ?? String(received.scanned.rcode), seconds);
      return { stored: storable(received.message, received.scanned), truncated: received.scanned.truncated };
    }
    return undefined;
  }

  /**
   * One attempt over UDP, from a socket of its own: a fresh random source port for each
   * exchange. Messages that are not the answer are dropped and the wait goes on.
   */
  private udp(asked: Asked, message: Buffer): Promise<UdpOutcome> {
    const { server } = asked;
    return new Promise((resolve) => {
      const socket = createSocket(server.family === 4 ? 'udp4' : 'udp6');
      const finish = (outcome: UdpOutcome): void => {
        if (!this.waiting.delete(finish)) return;
        clearTimeout(timer);
        socket.close();
        resolve(outcome);
      };
      this.waiting.add(finish);
      const timer = setTimeout(() => { finish(undefined); }, this.options.timeoutMs);
      socket.on('error', () => { finish(undefined); });
      socket.on('message', (response, from) => {
        const verdict = judgeAnswer(response, from, asked, UPSTREAM_UDP_SIZE);
        if (verdict.kind === 'answer') {
          finish({ message: response, scanned: verdict.scanned });
        } else if (verdict.kind === 'oversized') {
          this.options.drops.drop('upstream_oversized', { server: `${server.host}:${server.port}`, bytes: response.length });
          finish('tcp');
        } else {
          this.options.drops.drop(verdict.reason, { server: `${server.host}:${server.port}`, from: `${from.address}:${from.port}` });
        }
      });
      try {
        socket.send(message, server.port, server.host, (error) => { if (error) finish(undefined); });
      } catch {
        finish(undefined);
      }
    });
  }

  /** One attempt over TCP (after a truncated or oversized answer), judged as strictly. */
  private async tcp(asked: Asked, message: Buffer): Promise<Received | undefined> {
    const { server } = asked;
    let response: Buffer;
    try {
      response = await exchangeOverTcp(server.host, server.port, message, this.options.timeoutMs);
    } catch {
      return undefined;
    }
    const verdict = judgeAnswer(response, { address: server.host, port: server.port }, asked, TCP_MAX_BYTES);
    if (verdict.kind === 'answer') return { message: response, scanned: verdict.scanned };
    this.options.drops.drop(verdict.kind === 'drop' ? verdict.reason : 'upstream_oversized', { server: `${server.host}:${server.port}`, proto: 'tcp' });
    return undefined;
  }
}

/** A recursive query with our own EDNS0 record: header, the question bytes, OPT. */
function encodeUpstreamQuery(id: number, question: Buffer, dnssecOk: boolean, checkingDisabled: boolean): Buffer {
  const message = Buffer.alloc(12 + question.length + 11);
  message.writeUInt16BE(id, 0);
  message.writeUInt16BE(0x0100 | (checkingDisabled ? 0x0010 : 0), 2);
  message.writeUInt16BE(1, 4);
  message.writeUInt16BE(1, 10);
  question.copy(message, 12);
  const opt = 12 + question.length;
  message.writeUInt16BE(41, opt + 1);
  message.writeUInt16BE(UPSTREAM_UDP_SIZE, opt + 3);
  message.writeUInt16BE(dnssecOk ? 0x8000 : 0, opt + 7);
  return message;
}

/** The question section for a name and type (class IN); undefined for a name that cannot be encoded. */
function encodeQuestion(name: string, type: number): Buffer | undefined {
  const labels = nameToLabels(name);
  if (!labels) return undefined;
  const parts: Buffer[] = [];
  for (const label of labels) parts.push(Buffer.from([label.length]), label);
  const tail = Buffer.alloc(5);
  tail.writeUInt16BE(type, 1);
  tail.writeUInt16BE(CLASS.IN, 3);
  return Buffer.concat([...parts, tail]);
}
