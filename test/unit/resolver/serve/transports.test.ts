/**
 * The DNS transports on loopback with a handler that misbehaves on purpose: an exception,
 * thrown or as a rejected promise, drops that one message (counted as `exception`) and the
 * socket goes on answering; a TCP connection takes no more than MAX_IN_FLIGHT queries while
 * none is answered, whatever answers them, and reads the rest once answers go out.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FrameReader, frame } from '../../../../src/dns/tcp-framing.ts';
import { freePort } from '../../../../src/local/net.ts';
import { Drops, LimitedLog } from '../../../../src/resolver/metrics/drops.ts';
import type { DropReason, TcpCloseReason } from '../../../../src/resolver/metrics/drops.ts';
import type { HandlerResult } from '../../../../src/resolver/serve/query-handler.ts';
import { MAX_IN_FLIGHT } from '../../../../src/resolver/serve/tcp-connection.ts';
import { DnsTransports } from '../../../../src/resolver/serve/transports.ts';
import { tcpExchange, udpExchange } from '../../../dns/client.ts';

/** The first byte of a message says what the handler does with it. */
const THROW = 1;
const REJECT = 2;
const HOLD = 3;

class Counted {
  readonly dropped: DropReason[] = [];
  readonly closed: TcpCloseReason[] = [];
  readonly counters = {
    dropped: (reason: DropReason): void => { this.dropped.push(reason); },
    tcpClosed: (reason: TcpCloseReason): void => { this.closed.push(reason); },
  };
}

const quiet = { warn: () => undefined, error: () => undefined };
let counted: Counted;
let transports: DnsTransports;
let server: { host: string; port: number };
/** Answers the handler holds back (HOLD), to release at will. */
const held: Array<() => void> = [];

before(async () => {
  counted = new Counted();
  server = { host: '127.0.0.1', port: await freePort() };
  transports = new DnsTransports({
    address: server.host,
    port: server.port,
    drops: new Drops(counted.counters, new LimitedLog(quiet)),
    handler: {
      handle(message: Buffer): HandlerResult {
        switch (message[0]) {
          case THROW: throw new Error('a bug');
          case REJECT: return Promise.reject(new Error('a bug, later'));
          case HOLD: return new Promise((resolve) => { held.push(() => { resolve(Buffer.from(message)); }); });
          default: return Buffer.from(message);
        }
      },
    },
    tcp: { idleTimeoutMs: 10_000, readTimeoutMs: 5000, writeTimeoutMs: 5000, maxConnections: 100, bufferBytes: 8 << 20 },
    onError: (error) => { throw error; },
  });
  await transports.start();
});

after(async () => {
  await transports.close();
});

const message = (first: number, id: number): Buffer => Buffer.from([first, id, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

describe('an exception while handling a message', () => {
  for (const proto of ['udp', 'tcp'] as const) {
    const exchange = proto === 'udp' ? udpExchange : tcpExchange;
    test(`drops that ${proto === 'udp' ? 'datagram' : 'query'}, is counted, and the next one is answered`, async () => {
      const before = counted.dropped.length;
      assert.equal(await exchange(server, message(THROW, 1), 300), undefined);
      assert.equal(await exchange(server, message(REJECT, 2), 300), undefined);
      assert.deepEqual(await exchange(server, message(0, 3), 2000), message(0, 3));
      assert.deepEqual(counted.dropped.slice(before), ['exception', 'exception']);
    });
  }

  test('on a TCP connection, drops that query and answers the next ones on the same connection', async () => {
    const answers = await pipeline([message(THROW, 1), message(REJECT, 2), message(0, 3), message(0, 4)], 2);
    assert.deepEqual(answers.map((a) => a[1]), [3, 4]);
  });
});

test(`a TCP connection takes at most ${MAX_IN_FLIGHT} queries while none is answered, and the rest once answers go out`, async () => {
  const total = MAX_IN_FLIGHT + 36;
  const socket = await open();
  const reader = new FrameReader();
  const ids: number[] = [];
  socket.on('data', (chunk: Buffer) => {
    reader.push(chunk);
    for (let m = reader.next(); m; m = reader.next()) ids.push(m[1] ?? -1);
  });
  socket.write(Buffer.concat(Array.from({ length: total }, (_, i) => frame(message(HOLD, i)))));
  await until(() => held.length === MAX_IN_FLIGHT);
  await sleep(200);
  assert.equal(held.length, MAX_IN_FLIGHT, 'no more queries taken while the first ones wait');
  // Each answer that goes out makes room for the next query.
  for (let released = 0; released < total; released++) {
    await until(() => held.length > 0);
    held.shift()?.();
  }
  await until(() => ids.length === total);
  socket.destroy();
  assert.deepEqual([...ids].sort((x, y) => x - y), Array.from({ length: total }, (_, i) => i));
});

function open(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, server.host);
    socket.once('error', reject);
    socket.once('connect', () => { resolve(socket); });
  });
}

/** Sends `messages` pipelined on one connection; resolves with the first `expected` answers. */
async function pipeline(messages: readonly Buffer[], expected: number): Promise<Buffer[]> {
  const socket = await open();
  const reader = new FrameReader();
  const answers: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => {
    reader.push(chunk);
    for (let m = reader.next(); m; m = reader.next()) answers.push(m);
  });
  socket.write(Buffer.concat(messages.map(frame)));
  await until(() => answers.length >= expected);
  socket.destroy();
  return answers;
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(5);
  }
}
