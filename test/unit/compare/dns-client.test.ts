/**
 * The compare client against a small DNS server in this process (UDP and TCP on loopback):
 * real packets, truncation answered over TCP, silence reported as an error.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { decode, encode, TRUNCATED_RESPONSE } from 'dns-packet';
import type { Answer, DecodedPacket } from 'dns-packet';
import { ask, mapLimit, parseServer } from '../../../src/compare/dns-client.ts';
import { freePort } from '../../../src/local/net.ts';

const many = Array.from({ length: 60 }, (_, i): Answer => ({ name: 'big.test', type: 'A', ttl: 1, data: `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}` }));

/** `big.test` is too large for UDP; `silent.test` is never answered; the rest get 192.0.2.1. */
function answerFor(query: DecodedPacket, transport: 'udp' | 'tcp'): Buffer | undefined {
  const question = query.questions?.[0];
  if (question?.name === 'silent.test') return undefined;
  const big = question?.name === 'big.test';
  const answers: Answer[] = big ? (transport === 'tcp' ? many : []) : [{ name: question?.name ?? '', type: 'A', ttl: 1, data: '192.0.2.1' }];
  return encode({ type: 'response', id: query.id, flags: big && transport === 'udp' ? TRUNCATED_RESPONSE : 0, questions: query.questions, answers });
}

describe('the DNS client', () => {
  let port = 0;
  let udp: Socket;
  let tcp: Server;
  let tcpQueries = 0;

  before(async () => {
    port = await freePort();
    udp = createSocket('udp4');
    udp.on('message', (message, remote) => {
      const reply = answerFor(decode(message), 'udp');
      if (reply) udp.send(reply, remote.port, remote.address);
    });
    await new Promise<void>((resolve) => udp.bind(port, '127.0.0.1', resolve));
    tcp = createServer((socket) => {
      socket.once('data', (data: Buffer) => {
        tcpQueries++;
        const reply = answerFor(decode(data.subarray(2)), 'tcp');
        if (!reply) return;
        const length = Buffer.alloc(2);
        length.writeUInt16BE(reply.length);
        socket.end(Buffer.concat([length, reply]));
      });
    });
    await new Promise<void>((resolve) => tcp.listen(port, '127.0.0.1', resolve));
  });

  after(async () => {
    udp.close();
    await new Promise((resolve) => tcp.close(resolve));
  });

  test('asks over UDP', async () => {
    const answer = await ask({ host: '127.0.0.1', port }, { name: 'web.test.', type: 'A' });
    assert.deepEqual(answer, { rcode: 'NOERROR', answer: ['web.test. A 192.0.2.1'], authority: [] });
  });

  test('asks again over TCP when the UDP answer is truncated', async () => {
    const before = tcpQueries;
    const answer = await ask({ host: '127.0.0.1', port }, { name: 'big.test.', type: 'A' });
    assert.equal(tcpQueries, before + 1);
    assert.equal('answer' in answer ? answer.answer.length : 0, 60);
  });

  test('a server that stays silent is an error, after the attempts', async () => {
    const began = Date.now();
    const answer = await ask({ host: '127.0.0.1', port }, { name: 'silent.test.', type: 'A' }, { timeoutMs: 200, attempts: 2 });
    assert.deepEqual(answer, { error: 'timeout' });
    assert.ok(Date.now() - began >= 380);
  });

  test('mapLimit keeps the order and the limit', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapLimit([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 5 * (8 - n)));
      running--;
      return n * 2;
    });
    assert.deepEqual(out, [2, 4, 6, 8, 10, 12, 14]);
    assert.equal(peak, 3);
  });
});

describe('parseServer', () => {
  const rows: Array<[string, { host: string; port: number }]> = [
    ['10.96.0.10', { host: '10.96.0.10', port: 53 }],
    ['127.0.0.1:5353', { host: '127.0.0.1', port: 5353 }],
    ['[::1]:5353', { host: '::1', port: 5353 }],
    ['fd00::10', { host: 'fd00::10', port: 53 }],
    ['dns.example:53', { host: 'dns.example', port: 53 }],
  ];
  for (const [text, server] of rows) test(`reads ${text}`, () => { assert.deepEqual(parseServer(text), server); });

  for (const text of ['127.0.0.1:0', '127.0.0.1:99999', ':53', 'a:b:c', '127.0.0.1:x']) {
    test(`refuses ${text}`, () => { assert.throws(() => parseServer(text), /HOST\[:PORT\]|port must be/); });
  }
});
