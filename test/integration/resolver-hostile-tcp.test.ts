/**
 * Hostile traffic over TCP against a running resolver (two serving threads) while an
 * ordinary client asks, a quarter of its queries over TCP: truncated, oversized and empty
 * frames, clients that pipeline large answers and never read them, a slowloris (a byte a
 * second), and a flood of connections that send nothing. See test/resolver/hostile.ts for
 * what every attack must leave intact.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { frame } from '../../src/dns/tcp-framing.ts';
import { encodeQuery } from '../dns/client.ts';
import { establishedOn, startTarget, underAttack } from '../resolver/hostile.ts';

let target: Awaited<ReturnType<typeof startTarget>>;

describe('the resolver under hostile TCP clients', () => {
  before(async () => {
    // Short timeouts, so that each attack runs into them within a few seconds; everything else as deployed.
    target = await startTarget('hostile-tcp', { config: { tcp: { idleTimeoutSeconds: 10, readTimeoutSeconds: 2, writeTimeoutSeconds: 2 } } });
  });

  after(async () => {
    await target.stop();
  });


  /** Opens a connection (or gives up after a second: the server may be making room). */
  function open(): Promise<Socket | undefined> {
    return new Promise((resolve) => {
      const socket = connect(target.resolver.ports.port, '127.0.0.1');
      const timer = setTimeout(() => { socket.destroy(); resolve(undefined); }, 1000);
      socket.on('error', () => { clearTimeout(timer); resolve(undefined); });
      socket.once('connect', () => { clearTimeout(timer); resolve(socket); });
    });
  }

  /** Waits until the server holds at most `most` connections on its port (read from /proc), or `withinMs` passed; resolves with what it holds then. */
  async function serverHoldsAtMost(most: number, withinMs: number): Promise<number> {
    const until = Date.now() + withinMs;
    let held = establishedOn(target.resolver.ports.port);
    while (held > most && Date.now() < until) {
      await sleep(100);
      held = establishedOn(target.resolver.ports.port);
    }
    return held;
  }

  test('truncated, oversized and empty frames end their connection or get FORMERR; nothing else changes', async () => {
    const valid = encodeQuery('example.test', 'A', { id: 9 });
    const result = await underAttack('truncated, oversized and empty frames', target, async () => {
      const sockets: Socket[] = [];
      for (let round = 0; round < 30; round++) {
        const kinds = [
          // A frame that promises 65535 bytes and ends after 100.
          Buffer.concat([Buffer.from([0xff, 0xff]), Buffer.alloc(100, 0x41)]),
          // A whole frame of 65535 bytes of garbage, then a valid query.
          Buffer.concat([frame(Buffer.alloc(65_535, 0xc0)), frame(valid)]),
          // A zero-length frame.
          Buffer.from([0, 0]),
          // A frame whose length is one byte, and nothing after it.
          Buffer.from([0x01]),
        ];
        for (const bytes of kinds) {
          const socket = await open();
          if (!socket) continue;
          socket.on('error', () => undefined);
          socket.on('data', () => undefined);
          socket.write(bytes);
          sockets.push(socket);
        }
        await sleep(50);
      }
      // The half-sent frames run into the read timeout (2 s): only the connections that sent a whole query stay (until idle).
      const held = await serverHoldsAtMost(30, 6000);
      for (const socket of sockets) socket.destroy();
      assert.ok(held <= 30, `the server still holds ${held} connections`);
    });
    assert.ok((result.drops.get('closed:bad_frame') ?? 0) >= 25, 'zero-length frames close the connection');
    assert.ok((result.drops.get('closed:read_timeout') ?? 0) >= 50, 'half-sent frames run into the read timeout');
  });

  test('clients that pipeline large answers and never read are cut off; memory stays bounded', async () => {
    const query = frame(encodeQuery(target.bigName, 'A', { edns: 4096 }));
    const batch = Buffer.concat(Array.from({ length: 100 }, () => query));
    const clients = 12;
    const result = await underAttack(`${clients} never-reading clients pipelining 5 KB answers`, target, async () => {
      const sockets: Socket[] = [];
      for (let i = 0; i < clients; i++) {
        const socket = await open();
        if (!socket) continue;
        socket.on('error', () => undefined);
        // Never read: the client's receive buffer fills, then the kernel's send buffer (megabytes
        // on loopback: that memory is the kernel's, not the process's), then the server's.
        socket.pause();
        sockets.push(socket);
      }
      const until = Date.now() + 30_000;
      while (Date.now() < until && establishedOn(target.resolver.ports.port) > 0) {
        for (const socket of sockets) if (!socket.destroyed && socket.writableLength < 1 << 20) socket.write(batch);
        await sleep(20);
      }
      const held = establishedOn(target.resolver.ports.port);
      for (const socket of sockets) socket.destroy();
      assert.equal(held, 0, 'every never-reading client was cut off');
    });
    const cut = (result.drops.get('closed:write_timeout') ?? 0) + (result.drops.get('closed:memory') ?? 0);
    assert.ok(cut >= clients, `${cut} never-reading clients closed for their unread answers`);
  });

  test('a slowloris (a byte a second) is closed at the read timeout', async () => {
    const query = frame(encodeQuery(target.questions[0]?.name ?? '', 'A'));
    const result = await underAttack('slowloris: 300 connections, a byte a second', target, async () => {
      const sockets: Socket[] = [];
      for (let i = 0; i < 300; i++) {
        const socket = await open();
        if (!socket) continue;
        socket.on('error', () => undefined);
        sockets.push(socket);
      }
      const began = Date.now();
      for (let second = 0; second < 6 && establishedOn(target.resolver.ports.port) > 0; second++) {
        for (const socket of sockets) if (!socket.destroyed) socket.write(query.subarray(second, second + 1));
        await sleep(1000);
      }
      const held = await serverHoldsAtMost(0, 3000);
      const took = Date.now() - began;
      for (const socket of sockets) socket.destroy();
      assert.equal(held, 0, 'every slow connection was closed');
      assert.ok(took < 6000, `all closed after ${took} ms (read timeout 2 s)`);
    });
    assert.ok((result.drops.get('closed:read_timeout') ?? 0) >= 290);
  });

  test('a flood of connections that send nothing cannot lock out a client that asks', async () => {
    const result = await underAttack('a flood of 5,000 idle connections (cap 1,000 per thread)', target, async () => {
      const sockets: Socket[] = [];
      for (let i = 0; i < 5000; i++) {
        const socket = connect(target.resolver.ports.port, '127.0.0.1');
        socket.on('error', () => undefined);
        sockets.push(socket);
        if (i % 100 === 99) await sleep(10);
      }
      await sleep(3000);
      const held = establishedOn(target.resolver.ports.port);
      for (const socket of sockets) socket.destroy();
      assert.ok(held <= 2000, `the server holds ${held} connections, at most 1,000 per thread`);
    });
    assert.ok((result.drops.get('closed:evicted') ?? 0) >= 2500, 'connections beyond the cap made room by closing the quietest');
  });
});
