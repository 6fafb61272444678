/**
 * Fuzzing the resolver command: tens of thousands of random and mutated packets over UDP
 * and TCP. The seed is fixed and printed; FUZZ_SEED=<n> replays another run. Every response
 * must be a well-formed DNS response, every well-formed query sent among the garbage gets
 * one (a client's retries allowed: a loaded machine drops datagrams), nothing may throw
 * inside the server (`coredns_panics_total` stays 0), and afterwards the process is alive and
 * answers correctly. How many of the garbage packets get a response depends on the load of
 * the machine, so it is printed, not asserted.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import dnsPacket from 'dns-packet';
import { controlPlane, createNamespace, eventually, kubeClient } from '../support/cluster.ts';
import { ask, encodeQuery, render, udpExchange } from '../dns/client.ts';
import { ResolverProcess } from '../resolver/process.ts';
import { UpstreamServer } from '../resolver/upstream-server.ts';

const DEFAULT_SEED = 860_989_282;
const SEED = Number(process.env['FUZZ_SEED'] ?? DEFAULT_SEED);
process.stderr.write(`# fuzz seed ${SEED} (FUZZ_SEED=${SEED} replays this run)\n`);
const UDP_PACKETS = 24_000;
const TCP_FRAMES = 8_000;

/** mulberry32: a small seeded generator. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = generator(SEED);
const int = (n: number): number => Math.floor(random() * n);

let resolver: ResolverProcess;
let upstream: UpstreamServer;
let ns = '';

describe('the resolver under fuzzed packets', () => {
  before(async () => {
    upstream = await UpstreamServer.start();
    ns = await createNamespace('fuzz');
    await kubeClient().request('POST', `/api/v1/namespaces/${ns}/services`, { body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'target' }, spec: { ports: [{ name: 'http', port: 80 }] } } });
    resolver = await ResolverProcess.start({ kubeconfig: controlPlane().kubeconfigPath, config: { upstream: { nameservers: [upstream.address], timeoutSeconds: 0.2 } } });
  });

  after(async () => {
    await resolver.stop();
    await upstream.stop();
  });

  function corpus(): Buffer[] {
    const names = [`target.${ns}.svc.cluster.local`, `_http._tcp.target.${ns}.svc.cluster.local`, 'cluster.local', `1-2-3-4.${ns}.pod.cluster.local`,
      'dns-version.cluster.local', '1.0.96.10.in-addr.arpa', 'fuzz.example.test', `${'a'.repeat(63)}.cluster.local`];
    const types = ['A', 'AAAA', 'SRV', 'TXT', 'PTR', 'ANY', 'SOA', 'NS', 'AXFR', 'CNAME'];
    // Ids from the seeded generator too, so that a replay sends the same bytes.
    return names.flatMap((name) => types.flatMap((type) => [encodeQuery(name, type, { id: int(65536) }), encodeQuery(name, type, { id: int(65536), edns: 1232, dnssecOk: true })]));
  }

  /** One of the ways a packet goes wrong on the wire. */
  function mutate(base: Buffer): Buffer {
    const packet = Buffer.from(base);
    switch (int(8)) {
      case 0:
        for (let i = int(8) + 1; i > 0; i--) {
          const at = int(packet.length);
          packet[at] = (packet[at] ?? 0) ^ (1 << int(8));
        }
        return packet;
      case 1:
        for (let i = int(4) + 1; i > 0; i--) packet[int(packet.length)] = int(256);
        return packet;
      case 2:
        return packet.subarray(0, int(packet.length));
      case 3:
        return Buffer.concat([packet, Buffer.from(Array.from({ length: int(64) }, () => int(256)))]);
      case 4:
        packet.writeUInt16BE(int(65536), 4 + 2 * int(4));
        return packet;
      case 5: {
        // A compression pointer (often a loop) where a label starts.
        const at = 12 + int(Math.max(1, packet.length - 13));
        packet[at] = 0xc0 | int(64);
        if (at + 1 < packet.length) packet[at + 1] = int(256);
        return packet;
      }
      case 6:
        packet[12] = [0x40, 0x80, 63, 64, 255][int(5)] ?? 0;
        return packet;
      default:
        packet[2] = int(256);
        packet[3] = int(256);
        return packet;
    }
  }

  function randomPacket(): Buffer {
    return Buffer.from(Array.from({ length: int(600) }, () => int(256)));
  }

  function packets(count: number, seeds: Buffer[]): Buffer[] {
    return Array.from({ length: count }, () => (random() < 0.3 ? randomPacket() : mutate(seeds[int(seeds.length)] ?? randomPacket())));
  }

  /** Every response must be a DNS message another implementation can read, and a response. */
  function checkResponse(response: Buffer, problems: string[]): void {
    try {
      const decoded = dnsPacket.decode(response);
      if (decoded.type !== 'response') problems.push(`not a response: ${response.toString('hex').slice(0, 80)}`);
    } catch (error) {
      problems.push(`undecodable response ${response.toString('hex').slice(0, 80)}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /**
   * A well-formed query must get a response with its id: three tries, waiting 1, 2 and 4 s (a
   * client's resolver retries too; the last try comes after the flood, which a loaded machine
   * cannot take without dropping some datagrams in the kernel).
   */
  async function answeredWithRetries(query: Buffer, problems: string[]): Promise<boolean> {
    for (const timeoutMs of [1000, 2000, 4000]) {
      const response = await udpExchange(resolver.server, query, timeoutMs);
      if (!response) continue;
      checkResponse(response, problems);
      if (response.readUInt16BE(0) === query.readUInt16BE(0)) return true;
    }
    return false;
  }

  async function fuzzUdp(all: Buffer[], wellFormed: Buffer[], problems: string[]): Promise<{ responses: number; checked: number; unanswered: string[] }> {
    const sockets = Array.from({ length: 8 }, () => createSocket('udp4'));
    let responses = 0;
    for (const socket of sockets) {
      socket.on('message', (response) => {
        responses++;
        checkResponse(response, problems);
      });
      socket.bind(0, '127.0.0.1');
    }
    await Promise.all(sockets.map((socket) => new Promise((resolve) => socket.once('listening', resolve))));
    const checks: Array<Promise<string | undefined>> = [];
    for (let i = 0; i < all.length; i++) {
      const packet = all[i] ?? Buffer.alloc(0);
      sockets[i % sockets.length]?.send(packet, resolver.ports.port, '127.0.0.1');
      // Among the garbage, now and then a well-formed query that must be answered.
      if (i % 50 === 0) {
        const query = wellFormed[int(wellFormed.length)] ?? Buffer.alloc(12);
        checks.push(answeredWithRetries(query, problems).then((ok) => (ok ? undefined : query.toString('hex'))));
      }
      // Bursts of 250, then a breath: the point is odd input, not overload.
      if (i % 250 === 249) await sleep(15);
    }
    const unanswered = (await Promise.all(checks)).filter((hex): hex is string => hex !== undefined);
    await sleep(1000);
    for (const socket of sockets) socket.close();
    return { responses, checked: checks.length, unanswered };
  }

  async function fuzzTcp(all: Buffer[], problems: string[]): Promise<number> {
    const connections = 20;
    const perConnection = Math.ceil(all.length / connections);
    let responses = 0;
    await Promise.all(Array.from({ length: connections }, (_, c) => new Promise<void>((resolve) => {
      const socket = connect(resolver.ports.port, '127.0.0.1');
      let buffered = Buffer.alloc(0);
      socket.on('error', () => undefined);
      socket.on('close', () => { resolve(); });
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
          const response = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
          buffered = buffered.subarray(2 + response.length);
          responses++;
          checkResponse(response, problems);
        }
      });
      socket.on('connect', () => {
        void (async () => {
          for (const packet of all.slice(c * perConnection, (c + 1) * perConnection)) {
            const frame = Buffer.alloc(2 + packet.length);
            frame.writeUInt16BE(packet.length, 0);
            packet.copy(frame, 2);
            // Split some frames across writes, as TCP may deliver them.
            if (random() < 0.2) {
              const cut = int(frame.length);
              socket.write(frame.subarray(0, cut));
              await sleep(0);
              socket.write(frame.subarray(cut));
            } else {
              socket.write(frame);
            }
          }
          // Some connections end with a frame that never completes, or one of length zero.
          if (c % 3 === 0) socket.write(Buffer.from([0xff, 0xff, 1, 2, 3]));
          if (c % 3 === 1) socket.write(Buffer.from([0, 0]));
          await sleep(1500);
          socket.destroy();
        })();
      });
    })));
    return responses;
  }

  test(`survives ${UDP_PACKETS + TCP_FRAMES} random and mutated packets (seed ${SEED}) and then answers correctly`, async () => {
    const name = `target.${ns}.svc.cluster.local`;
    const expected = await eventually(async () => {
      const got = render(await ask(resolver.server, name, 'A'));
      assert.equal(got.answer.length, 1);
      return got.answer;
    }, { timeoutMs: 30_000 });
    const seeds = corpus();
    const problems: string[] = [];
    const udp = await fuzzUdp(packets(UDP_PACKETS, seeds), seeds, problems);
    const tcpResponses = await fuzzTcp(packets(TCP_FRAMES, seeds), problems);
    process.stderr.write(`# fuzz seed ${SEED}: ${udp.responses} UDP and ${tcpResponses} TCP responses to the garbage\n`);

    assert.equal(resolver.hasExited, false, 'the process is alive');
    assert.deepEqual(problems.slice(0, 10), []);
    assert.deepEqual(udp.unanswered.slice(0, 10), [], `${udp.unanswered.length} of ${udp.checked} well-formed queries among the garbage unanswered`);
    assert.deepEqual(render(await ask(resolver.server, name, 'A')).answer, expected);
    assert.deepEqual(render(await ask(resolver.server, name, 'A', { tcp: true })).answer, expected);
    assert.equal(render(await ask(resolver.server, 'dns-version.cluster.local', 'TXT')).answer.length, 1);
    assert.equal((await resolver.http(resolver.ports.healthPort, '/health')).status, 200);
    assert.match(await resolver.metrics(), /^coredns_panics_total 0$/m);
  });
});
