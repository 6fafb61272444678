/**
 * The connection cap on real loopback sockets: a full server closes its oldest idle
 * connection to make room, never one with a request in flight, and refuses a newcomer only
 * when every connection is busy.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect } from 'node:net';
import type { Server, Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ConnectionCap } from '../../../src/webhook/connections.ts';

describe('the connection cap', () => {
  let server: Server;
  let port = 0;
  const accepted: Socket[] = [];
  const clients: Socket[] = [];

  before(async () => {
    server = createServer((socket) => { accepted.push(socket); });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    port = typeof address === 'object' && address ? address.port : 0;
  });

  after(async () => {
    for (const socket of [...clients, ...accepted]) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  /** A new connection, as the server side sees it. */
  async function arrive(): Promise<Socket> {
    const count = accepted.length;
    const client = connect(port, '127.0.0.1');
    client.on('error', () => undefined);
    clients.push(client);
    while (accepted.length === count) await new Promise((resolve) => setImmediate(resolve));
    return accepted[accepted.length - 1]!;
  }

  test('evicts the oldest idle connection, never a busy one, and refuses only when all are busy', async () => {
    const cap = new ConnectionCap(2);
    const first = await arrive();
    const second = await arrive();
    assert.equal(cap.admit(first), undefined);
    assert.equal(cap.admit(second), undefined);
    const doneFirst = cap.busy(first);

    const third = await arrive();
    assert.equal(cap.admit(third), `127.0.0.1|${second.remotePort}`);
    assert.equal(second.destroyed, true);
    assert.equal(first.destroyed, false);
    assert.equal(cap.size, 2);

    const doneThird = cap.busy(third);
    const fourth = await arrive();
    assert.equal(cap.admit(fourth), undefined);
    assert.equal(fourth.destroyed, true, 'refused: every connection carries a request');
    assert.equal(cap.size, 2);

    doneFirst();
    doneFirst();
    const fifth = await arrive();
    cap.admit(fifth);
    assert.equal(first.destroyed, true, 'idle again, and the oldest');
    assert.equal(third.destroyed, false);
    doneThird();
  });

  test('forgets a connection when it closes', async () => {
    const cap = new ConnectionCap(1);
    const socket = await arrive();
    cap.admit(socket);
    socket.destroy();
    await once(socket, 'close');
    assert.equal(cap.size, 0);
  });
});
