/**
 * A small authoritative DNS server on 127.0.0.1 that tests control: the upstream of the
 * resolver under test (nothing leaves the machine). Each name has a behaviour: answer with
 * records, NXDOMAIN with an SOA, stay silent, answer only over TCP (truncated over UDP),
 * or answer late; or, as a hostile upstream (or an attacker racing it), send a forgery
 * first and the real answer after it, answer over UDP larger than the asker can take, or
 * answer with a message whose names cannot be read. It counts the queries it gets.
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import dnsPacket from 'dns-packet';
import type { Answer } from 'dns-packet';
import { freePort } from '../../src/local/net.ts';

export type Behaviour =
  | { readonly kind: 'answer'; readonly records: readonly Answer[]; readonly delayMs?: number }
  | { readonly kind: 'nxdomain'; readonly soaTtl?: number; readonly minimum?: number }
  | { readonly kind: 'silent' }
  /** Over UDP: TC set and no records; over TCP: the records. */
  | { readonly kind: 'tcpOnly'; readonly records: readonly Answer[] }
  /** Over UDP: first a forgery (FORGED_ADDRESS), then, `delayMs` later (default 50), the real answer. */
  | { readonly kind: 'forged'; readonly forgery: Forgery; readonly records: readonly Answer[]; readonly delayMs?: number }
  /** The records whatever their size, over UDP too (no TC, beyond the asker's EDNS0 size). */
  | { readonly kind: 'oversized'; readonly records: readonly Answer[] }
  /** A response whose answer's owner name is a compression pointer to itself. */
  | { readonly kind: 'pointerLoop' };

/** What the forgery gets wrong: the id, the question, the port it comes from; or it is unreadable. */
export type Forgery = 'wrong-id' | 'wrong-question' | 'wrong-port' | 'pointer-loop';

/** The address every forgery claims. */
export const FORGED_ADDRESS = '203.0.113.66';

export class UpstreamServer {
  readonly host = '127.0.0.1';
  readonly port: number;
  /** Every query received: its name (lower case), type, transport, and the id and source port it came with. */
  readonly queries: Array<{ name: string; type: string; proto: 'udp' | 'tcp'; id: number; port: number }> = [];
  private readonly behaviours = new Map<string, Behaviour>();
  private readonly udp: Socket;
  /** Another port of the same address, where answers "from another port" come from. */
  private readonly otherPort: Socket;
  private readonly tcp: Server;

  private constructor(port: number) {
    this.port = port;
    this.udp = createSocket('udp4');
    this.otherPort = createSocket('udp4');
    this.udp.on('message', (message, remote) => {
      void this.respond(message, 'udp', remote.port, (forged, fromOtherPort) => {
        (fromOtherPort ? this.otherPort : this.udp).send(forged, remote.port, remote.address);
      }).then((response) => {
        if (response) this.udp.send(response, remote.port, remote.address);
      });
    });
    this.tcp = createServer((socket) => {
      let buffered = Buffer.alloc(0);
      socket.on('error', () => undefined);
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
          const message = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
          buffered = buffered.subarray(2 + message.length);
          void this.respond(message, 'tcp', socket.remotePort ?? 0).then((response) => {
            if (!response) return;
            const frame = Buffer.alloc(2 + response.length);
            frame.writeUInt16BE(response.length, 0);
            response.copy(frame, 2);
            socket.write(frame);
          });
        }
      });
    });
  }

  static async start(): Promise<UpstreamServer> {
    const server = new UpstreamServer(await freePort());
    await new Promise<void>((resolve) => { server.udp.bind(server.port, server.host, resolve); });
    await new Promise<void>((resolve) => { server.otherPort.bind(0, server.host, resolve); });
    await new Promise<void>((resolve) => { server.tcp.listen(server.port, server.host, resolve); });
    return server;
  }

  /** `host:port`, as the resolver config names a server. */
  get address(): string {
    return `${this.host}:${this.port}`;
  }

  set(name: string, type: string, behaviour: Behaviour): void {
    this.behaviours.set(`${name.toLowerCase()}|${type}`, behaviour);
  }

  count(name: string, type?: string, proto?: 'udp' | 'tcp'): number {
    return this.queries.filter((q) => q.name === name.toLowerCase() && (!type || q.type === type) && (!proto || q.proto === proto)).length;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => { this.udp.close(() => { resolve(); }); });
    await new Promise<void>((resolve) => { this.otherPort.close(() => { resolve(); }); });
    await new Promise<void>((resolve) => { this.tcp.close(() => { resolve(); }); });
  }

  private async respond(message: Buffer, proto: 'udp' | 'tcp', port: number, sendForged: (forged: Buffer, fromOtherPort: boolean) => void = () => undefined): Promise<Buffer | undefined> {
    let query: dnsPacket.DecodedPacket;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return undefined;
    }
    const question = query.questions?.[0];
    if (!question) return undefined;
    const name = question.name.toLowerCase();
    this.queries.push({ name, type: question.type, proto, id: query.id ?? 0, port });
    const behaviour = this.behaviours.get(`${name}|${question.type}`) ?? { kind: 'nxdomain' };
    const base = { id: query.id, type: 'response' as const, questions: query.questions, flags: dnsPacket.RECURSION_AVAILABLE };
    switch (behaviour.kind) {
      case 'silent':
        return undefined;
      case 'nxdomain': {
        const soa: Answer = {
          type: 'SOA', name: 'test', ttl: behaviour.soaTtl ?? 60,
          data: { mname: 'ns.test', rname: 'hostmaster.test', serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: behaviour.minimum ?? 60 },
        };
        return dnsPacket.encode({ ...base, flags: base.flags | 3, authorities: [soa] });
      }
      case 'tcpOnly':
        if (proto === 'udp') return dnsPacket.encode({ ...base, flags: base.flags | dnsPacket.TRUNCATED_RESPONSE });
        return dnsPacket.encode({ ...base, answers: [...behaviour.records] });
      case 'answer':
        if (behaviour.delayMs) await new Promise((resolve) => setTimeout(resolve, behaviour.delayMs));
        return dnsPacket.encode({ ...base, answers: [...behaviour.records] });
      case 'forged': {
        if (proto === 'udp') {
          sendForged(behaviour.forgery === 'pointer-loop' ? pointerLoop(message) : forgery(behaviour.forgery, query, question), behaviour.forgery === 'wrong-port');
          await new Promise((resolve) => setTimeout(resolve, behaviour.delayMs ?? 50));
        }
        return dnsPacket.encode({ ...base, answers: [...behaviour.records] });
      }
      case 'oversized':
        return dnsPacket.encode({ ...base, answers: [...behaviour.records] });
      case 'pointerLoop':
        return pointerLoop(message);
    }
  }
}

/** A forged answer to `query`, claiming FORGED_ADDRESS for the name. */
function forgery(kind: Exclude<Forgery, 'pointer-loop'>, query: dnsPacket.DecodedPacket, question: dnsPacket.Question): Buffer {
  const evil: Answer = { type: 'A', name: question.name, ttl: 3600, data: FORGED_ADDRESS };
  const base = { id: query.id, type: 'response' as const, questions: query.questions, flags: dnsPacket.RECURSION_AVAILABLE, answers: [evil] };
  switch (kind) {
    case 'wrong-id':
      return dnsPacket.encode({ ...base, id: ((query.id ?? 0) + 1) & 0xffff });
    case 'wrong-question':
      return dnsPacket.encode({ ...base, questions: [{ ...question, name: `other-${question.name}` }], answers: [{ ...evil, name: `other-${question.name}` }] });
    case 'wrong-port':
      return dnsPacket.encode(base);
  }
}

/** The query turned into a response (same id and question) with one answer record whose owner name points at itself. */
function pointerLoop(message: Buffer): Buffer {
  let at = 12;
  while ((message[at] ?? 0) !== 0) at += (message[at] ?? 0) + 1;
  at += 5;
  const response = Buffer.alloc(at + 2 + 10 + 4);
  message.copy(response, 0, 0, at);
  response.writeUInt16BE(0x8180, 2);
  response.writeUInt16BE(1, 6);
  response.writeUInt16BE(0, 8);
  response.writeUInt16BE(0, 10);
  response.writeUInt16BE(0xc000 | at, at);
  response.writeUInt16BE(1, at + 2);
  response.writeUInt16BE(1, at + 4);
  response.writeUInt32BE(60, at + 6);
  response.writeUInt16BE(4, at + 10);
  response.writeUInt32BE(0xcb007142, at + 12);
  return response;
}
