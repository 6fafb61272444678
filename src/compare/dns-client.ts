/**
 * A small DNS client for `compare`: one question over UDP, asked again over TCP when the
 * answer is truncated, as a stub resolver does. No EDNS, so a server must fall back to TCP
 * for answers over 512 bytes exactly as it would for the simplest client.
 */
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { randomInt } from 'node:crypto';
import { decode, encode, RECURSION_DESIRED } from 'dns-packet';
import type { DecodedPacket, RecordType } from 'dns-packet';
import type { NormalisedAnswer } from '../dns/answers.ts';
import { normalise } from '../dns/answers.ts';
import type { Question } from './questions.ts';
import { exchangeOverTcp } from '../dns/tcp-exchange.ts';

export interface Server {
  readonly host: string;
  readonly port: number;
}

export interface QueryOptions {
  readonly timeoutMs: number;
  /** UDP attempts before giving up. */
  readonly attempts: number;
}

export const DEFAULT_QUERY_OPTIONS: QueryOptions = { timeoutMs: 2000, attempts: 2 };

/** `HOST[:PORT]`, `[IPv6]:PORT` or a bare IPv6 address; port 53 when absent. */
export function parseServer(text: string): Server {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) return { host: bracketed[1] ?? '', port: port(bracketed[2], text) };
  if (isIP(text) === 6) return { host: text, port: 53 };
  const [host = '', portText, ...rest] = text.split(':');
  if (host === '' || rest.length > 0) throw new Error(`"${text}" is not HOST[:PORT]`);
  return { host, port: port(portText, text) };
}

function port(text: string | undefined, whole: string): number {
  if (text === undefined) return 53;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw new Error(`"${whole}": the port must be 1-65535`);
  return value;
}

export function formatServer(server: Server): string {
  return server.host.includes(':') ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
}

/** Asks one question; never throws: failures are answers of their own (`{ error }`). */
export async function ask(server: Server, question: Question, options: QueryOptions = DEFAULT_QUERY_OPTIONS): Promise<NormalisedAnswer> {
  try {
    let packet = await udpQuery(server, question, options);
    if (packet.flag_tc) packet = await tcpQuery(server, question, options.timeoutMs);
    return normalise(packet);
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

function queryPacket(question: Question): { id: number; bytes: Buffer } {
  const id = randomInt(0, 65536);
  // dns-packet encodes ANY (255), which its type declarations leave out.
  const type = question.type as RecordType;
  return { id, bytes: encode({ type: 'query', id, flags: RECURSION_DESIRED, questions: [{ name: question.name.replace(/\.$/, ''), type, class: 'IN' }] }) };
}

async function udpQuery(server: Server, question: Question, options: QueryOptions): Promise<DecodedPacket> {
  let lastError: Error = new Error('no attempt made');
  for (let attempt = 0; attempt < options.attempts; attempt++) {
    try {
      return await udpOnce(server, question, options.timeoutMs);
    } catch (error) {
      lastError = error instanceof Error ? error : new Error(String(error));
    }
  }
  throw lastError;
}

function udpOnce(server: Server, question: Question, timeoutMs: number): Promise<DecodedPacket> {
  const { id, bytes } = queryPacket(question);
  const socket = createSocket(isIP(server.host) === 6 ? 'udp6' : 'udp4');
  return new Promise<DecodedPacket>((resolve, reject) => {
    const timer = setTimeout(() => { finish(new Error('timeout')); }, timeoutMs);
    const finish = (error: Error | undefined, packet?: DecodedPacket): void => {
      clearTimeout(timer);
      socket.close();
      if (packet) resolve(packet);
      else reject(error ?? new Error('no answer'));
    };
    socket.on('error', (error) => { finish(error); });
    socket.on('message', (message) => {
      try {
        const packet = decode(message);
        // Not ours (a late answer to an earlier attempt): keep waiting.
        if (packet.id === id) finish(undefined, packet);
      } catch (error) {
        finish(new Error(`undecodable answer: ${error instanceof Error ? error.message : String(error)}`));
      }
    });
    socket.send(bytes, server.port, server.host);
  });
}

async function tcpQuery(server: Server, question: Question, timeoutMs: number): Promise<DecodedPacket> {
  const { id, bytes } = queryPacket(question);
  const answer = await exchangeOverTcp(server.host, server.port, bytes, timeoutMs);
  let packet: DecodedPacket;
  try {
    packet = decode(answer);
  } catch (error) {
    throw new Error(`undecodable answer (TCP): ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (packet.id !== id) throw new Error('answer with another id (TCP)');
  return packet;
}

/** Runs `work` over `items` with at most `limit` at once; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
