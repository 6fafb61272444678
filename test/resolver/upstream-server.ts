/**
 * A small authoritative DNS server on 127.0.0.1 that tests control: the upstream of the
 * resolver under test (nothing leaves the machine). Each name has a behaviour: answer with
 * records, NXDOMAIN with an SOA, stay silent, answer only over TCP (truncated over UDP),
 * or answer late. It counts the queries it gets.
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
  | { readonly kind: 'tcpOnly'; readonly records: readonly Answer[] };

export class UpstreamServer {
  readonly host = '127.0.0.1';
  readonly port: number;
  readonly queries: Array<{ name: string; type: string; proto: 'udp' | 'tcp' }> = [];
  private readonly behaviours = new Map<string, Behaviour>();
  private readonly udp: Socket;
  private readonly tcp: Server;

  private constructor(port: number) {
    this.port = port;
    this.udp = createSocket('udp4');
    this.udp.on('message', (message, remote) => {
      void this.respond(message, 'udp').then((response) => {
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
          void this.respond(message, 'tcp').then((response) => {
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
    await new Promise<void>((resolve) => { this.tcp.close(() => { resolve(); }); });
  }

  private async respond(message: Buffer, proto: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    let query: dnsPacket.DecodedPacket;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return undefined;
    }
    const question = query.questions?.[0];
    if (!question) return undefined;
    const name = question.name.toLowerCase();
    this.queries.push({ name, type: question.type, proto });
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
    }
  }
}
