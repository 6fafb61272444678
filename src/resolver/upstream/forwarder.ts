/**
 * Forwarding of names outside the cluster zone, with a cache.
 *
 * A question is asked once however many clients ask it at the same time (later askers wait
 * for the first). It goes over UDP from a small pool of sockets on random ports with random
 * ids (a response must come from the server asked, with the id and question sent); a
 * truncated response is asked again over TCP; a server that does not answer within the
 * timeout is given up for the next, and when every attempt fails the client gets SERVFAIL.
 * At most `maxConcurrent` exchanges are in flight; beyond that a query is REFUSED at once,
 * as CoreDNS's forward plugin does.
 */
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { nameToLabels } from '../../dns/names.ts';
import type { Query } from '../../dns/query-decoder.ts';
import { CLASS, RCODE, RCODE_NAMES } from '../../dns/records.ts';
import type { ResourceRecord } from '../../dns/records.ts';
import { encodeResponse } from '../../dns/response-encoder.ts';
import { answerRecords, relay, scanMessage, storable } from '../../dns/response-relay.ts';
import type { ScannedMessage, StoredMessage } from '../../dns/response-relay.ts';
import { exchangeOverTcp } from '../../dns/tcp-exchange.ts';
import type { QueryStats } from '../metrics/query-stats.ts';
import { ResponseCache } from './cache.ts';
import type { ServerAddress, UpstreamRoutes } from './routes.ts';

export interface ForwarderOptions {
  readonly routes: UpstreamRoutes;
  readonly cache: ResponseCache;
  readonly stats: QueryStats;
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

interface Pending {
  readonly server: ServerAddress;
  readonly resolve: (message: Buffer | undefined) => void;
}

const UDP_SOCKETS_PER_FAMILY = 4;
const UPSTREAM_UDP_SIZE = 1232;

export class Forwarder {
  private readonly options: ForwarderOptions;
  private readonly sockets: Record<4 | 6, Socket[]> = { 4: [], 6: [] };
  private readonly pending = new Map<string, Pending>();
  private readonly inFlight = new Map<string, Promise<Exchanged | undefined>>();
  private exchanges = 0;
  private nextSocket = 0;
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
    for (const socket of [...this.sockets[4], ...this.sockets[6]]) socket.close();
    this.sockets[4] = [];
    this.sockets[6] = [];
    for (const pending of this.pending.values()) pending.resolve(undefined);
    this.pending.clear();
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
      const id = randomInt(65536);
      const message = encodeUpstreamQuery(id, question, dnssecOk, checkingDisabled);
      let response = await this.udp(server, id, message);
      let scanned = response && parse(response);
      if (response && scanned?.truncated) {
        response = await this.tcp(server, message);
        scanned = response && parse(response);
      }
      const seconds = (performance.now() - began) / 1000;
      if (!response || !scanned || scanned.id !== id || !sameQuestion(response, scanned, question)) {
        this.options.stats.upstream(`${server.host}:${server.port}`, 'timeout', seconds);
        continue;
      }
      this.options.stats.upstream(`${server.host}:${server.port}`, RCODE_NAMES[scanned.rcode] ?? String(scanned.rcode), seconds);
      return { stored: storable(response, scanned), truncated: scanned.truncated };
    }
    return undefined;
  }

  private udp(server: ServerAddress, id: number, message: Buffer): Promise<Buffer | undefined> {
    const sockets = this.socketsFor(server.family);
    const index = this.nextSocket++ % sockets.length;
    const socket = sockets[index];
    if (!socket) return Promise.resolve(undefined);
    const pendingKey = `${server.family}/${index}/${id}`;
    if (this.pending.has(pendingKey)) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => { finish(undefined); }, this.options.timeoutMs);
      const finish = (response: Buffer | undefined): void => {
        clearTimeout(timer);
        this.pending.delete(pendingKey);
        resolve(response);
      };
      this.pending.set(pendingKey, { server, resolve: finish });
      socket.send(message, server.port, server.host, (error) => {
        if (error) finish(undefined);
      });
    });
  }

  private socketsFor(family: 4 | 6): Socket[] {
    const sockets = this.sockets[family];
    while (sockets.length < UDP_SOCKETS_PER_FAMILY) {
      const index = sockets.length;
      const socket = createSocket(family === 4 ? 'udp4' : 'udp6');
      socket.on('message', (message, from) => {
        if (message.length < 12) return;
        const pending = this.pending.get(`${family}/${index}/${message.readUInt16BE(0)}`);
        if (!pending || from.address !== pending.server.host || from.port !== pending.server.port) return;
        pending.resolve(message);
      });
      socket.on('error', () => undefined);
      socket.unref();
      sockets.push(socket);
    }
    return sockets;
  }

  private tcp(server: ServerAddress, message: Buffer): Promise<Buffer | undefined> {
    return exchangeOverTcp(server.host, server.port, message, this.options.timeoutMs).catch(() => undefined);
  }
}

function parse(message: Buffer): ScannedMessage | undefined {
  try {
    const scanned = scanMessage(message);
    return (scanned.flags & 0x8000) !== 0 ? scanned : undefined;
  } catch {
    return undefined;
  }
}

/** The response must be to the question asked (compared without case: servers may fold it). */
function sameQuestion(response: Buffer, scanned: ScannedMessage, question: Buffer): boolean {
  if (scanned.questionEnd - 12 !== question.length) return false;
  return response.subarray(12, scanned.questionEnd).toString('latin1').toLowerCase() === question.toString('latin1').toLowerCase();
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
