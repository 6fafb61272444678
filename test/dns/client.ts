/**
 * DNS helpers for the resolver's tests: encode a query, send it over UDP or TCP to a real
 * server, and render answers as zone-file text (`name. ttl IN TYPE data`), the form the
 * test rows are written in.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, RecordType } from 'dns-packet';

export interface QueryOptions {
  readonly id?: number;
  /** EDNS0 UDP payload size; undefined sends no OPT record. */
  readonly edns?: number;
  readonly dnssecOk?: boolean;
  readonly recursionDesired?: boolean;
  readonly class?: 'IN' | 'CH' | 'ANY';
}

export function encodeQuery(name: string, type: string, options: QueryOptions = {}): Buffer {
  const packet: dnsPacket.Packet = {
    type: 'query',
    id: options.id ?? Math.floor(Math.random() * 65536),
    flags: options.recursionDesired === false ? 0 : dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: type as RecordType, class: options.class ?? 'IN' }],
  };
  if (options.edns !== undefined) {
    packet.additionals = [{ type: 'OPT', name: '.', udpPayloadSize: options.edns, flags: options.dnssecOk ? dnsPacket.DNSSEC_OK : 0, options: [] } as unknown as Answer];
  }
  return dnsPacket.encode(packet);
}

export interface Response extends DecodedPacket {
  readonly raw: Buffer;
}

export function decodeResponse(raw: Buffer): Response {
  return { ...dnsPacket.decode(raw), raw };
}

export interface Server {
  readonly host: string;
  readonly port: number;
}

/** Sends raw bytes over UDP; resolves with the response bytes, or undefined after `timeoutMs`. */
export function udpExchange(server: Server, message: Buffer, timeoutMs = 3000): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket(server.host.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => { finish(undefined); }, timeoutMs);
    const finish = (response: Buffer | undefined): void => {
      clearTimeout(timer);
      socket.close();
      resolve(response);
    };
    socket.on('message', (response) => { finish(response); });
    socket.on('error', () => { finish(undefined); });
    socket.send(message, server.port, server.host);
  });
}

/** Sends one framed message over a new TCP connection; resolves with the response bytes. */
export function tcpExchange(server: Server, message: Buffer, timeoutMs = 3000): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = connect(server.port, server.host);
    let received = Buffer.alloc(0);
    const finish = (response: Buffer | undefined): void => {
      socket.destroy();
      resolve(response);
    };
    socket.setTimeout(timeoutMs, () => { finish(undefined); });
    socket.on('error', () => { finish(undefined); });
    socket.on('close', () => { finish(undefined); });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) finish(received.subarray(2, 2 + received.readUInt16BE(0)));
    });
    const frame = Buffer.alloc(2 + message.length);
    frame.writeUInt16BE(message.length, 0);
    message.copy(frame, 2);
    socket.write(frame);
  });
}

/** Asks `server` one question; throws when no response arrives. */
export async function ask(server: Server, name: string, type: string, options: QueryOptions & { readonly tcp?: boolean; readonly timeoutMs?: number } = {}): Promise<Response> {
  const message = encodeQuery(name, type, options);
  const raw = options.tcp ? await tcpExchange(server, message, options.timeoutMs) : await udpExchange(server, message, options.timeoutMs);
  if (!raw) throw new Error(`no response to ${name} ${type} from ${server.host}:${server.port}`);
  return decodeResponse(raw);
}

/** One record as zone-file text. */
export function renderRecord(record: Answer): string {
  const data = renderData(record);
  const klass = 'class' in record && record.class ? record.class : 'IN';
  return `${record.name}. ${'ttl' in record ? record.ttl ?? 0 : 0} ${klass} ${record.type} ${data}`.trimEnd();
}

function renderData(record: Answer): string {
  const r = record as unknown as { type: string; data: unknown };
  switch (r.type) {
    case 'A':
    case 'AAAA':
      return String(r.data);
    case 'CNAME':
    case 'PTR':
    case 'NS':
      return `${String(r.data)}.`;
    case 'SRV': {
      const d = r.data as { priority: number; weight: number; port: number; target: string };
      return `${d.priority} ${d.weight} ${d.port} ${d.target}.`;
    }
    case 'TXT':
      return (r.data as Buffer[]).map((b) => JSON.stringify(b.toString())).join(' ');
    case 'HINFO': {
      const d = r.data as { cpu: string; os: string };
      return `${JSON.stringify(d.cpu)} ${JSON.stringify(d.os)}`;
    }
    case 'SOA': {
      const d = r.data as { mname: string; rname: string; serial: number; refresh: number; retry: number; expire: number; minimum: number };
      return `${d.mname}. ${d.rname}. ${d.serial} ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`;
    }
    case 'OPT':
      return '';
    default:
      return Buffer.isBuffer(r.data) ? r.data.toString('hex') : JSON.stringify(r.data);
  }
}

/** Sections as sorted zone-file lines (OPT left out), the rcode and the flags that matter. */
export interface Rendered {
  readonly rcode: string;
  readonly aa: boolean;
  readonly tc: boolean;
  readonly ra: boolean;
  readonly answer: string[];
  readonly ns: string[];
  readonly extra: string[];
}

export function render(response: DecodedPacket): Rendered {
  const lines = (records: Answer[] | undefined): string[] => (records ?? []).filter((r) => r.type !== 'OPT').map(renderRecord).sort();
  return {
    // dns-packet decodes the rcode, but its types do not declare it.
    rcode: (response as { rcode?: string }).rcode ?? 'NOERROR',
    aa: ((response.flags ?? 0) & dnsPacket.AUTHORITATIVE_ANSWER) !== 0,
    tc: ((response.flags ?? 0) & dnsPacket.TRUNCATED_RESPONSE) !== 0,
    ra: ((response.flags ?? 0) & dnsPacket.RECURSION_AVAILABLE) !== 0,
    answer: lines(response.answers),
    ns: lines(response.authorities),
    extra: lines(response.additionals),
  };
}
