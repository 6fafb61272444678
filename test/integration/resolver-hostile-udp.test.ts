/**
 * Hostile traffic over UDP against a running resolver (two serving threads) while an
 * ordinary client asks: datagrams from source port 0 and from an address no answer can be
 * sent to (forged with a raw socket), a spoofed client asking a large answer with a
 * 65535-byte EDNS0 buffer (amplification), and garbage datagrams up to the largest UDP
 * payload. See test/resolver/hostile.ts for what every attack must leave intact.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeResponse, encodeQuery, render } from '../dns/client.ts';
import { BIG_ENDPOINTS, startTarget, underAttack } from '../resolver/hostile.ts';
import { RawUdpSender } from '../resolver/raw-udp.ts';

let target: Awaited<ReturnType<typeof startTarget>>;
let raw: RawUdpSender;

describe('the resolver under hostile UDP traffic', () => {
  before(async () => {
    raw = RawUdpSender.start();
    target = await startTarget('hostile-udp');
  });

  after(async () => {
    await target.stop();
    await raw.stop();
  });

  const DATAGRAMS = 6000;
  /** About 3,000 a second. */
  const GAP_MICROSECONDS = 300;

  test('datagrams from source port 0 are dropped and counted; nothing stops', async () => {
    const query = encodeQuery(target.questions[0]?.name ?? '', 'A');
    const result = await underAttack('queries from source port 0', target, async () => {
      await raw.send({ from: '127.0.0.1', fromPort: 0, to: '127.0.0.1', toPort: target.resolver.ports.port, payload: query, count: DATAGRAMS, gapMicroseconds: GAP_MICROSECONDS });
    });
    assert.equal(raw.stderr, '');
    const dropped = result.drops.get('dropped:unsendable') ?? 0;
    assert.ok(dropped >= DATAGRAMS / 2 && dropped <= DATAGRAMS, `${dropped} of ${DATAGRAMS} counted as unsendable`);
    assert.match(target.resolver.logs, /"reason":"unsendable".*"msg":"dropped a message"/);
  });

  test('answers the kernel refuses to send (to a broadcast address) are dropped and counted', async () => {
    const query = encodeQuery(target.questions[0]?.name ?? '', 'A');
    const result = await underAttack('queries from a broadcast address', target, async () => {
      await raw.send({ from: '127.255.255.255', fromPort: 53, to: '127.0.0.1', toPort: target.resolver.ports.port, payload: query, count: DATAGRAMS, gapMicroseconds: GAP_MICROSECONDS });
    });
    const failed = result.drops.get('dropped:send_failed') ?? 0;
    assert.ok(failed >= DATAGRAMS / 2 && failed <= DATAGRAMS, `${failed} of ${DATAGRAMS} counted as send_failed`);
    assert.match(target.resolver.logs, /"err":"send EACCES [^"]*","reason":"send_failed"/);
  });

  test('a spoofed client asking a large answer with a 65535-byte buffer gets at most 1232 bytes, truncated', async () => {
    // The victim: an address on loopback that the forged queries name as their source.
    const victim = createSocket('udp4');
    await new Promise<void>((resolve) => { victim.bind(0, '127.0.0.9', resolve); });
    const sizes: number[] = [];
    let truncated = 0;
    victim.on('message', (message) => {
      sizes.push(message.length);
      if (render(decodeResponse(message)).tc) truncated++;
    });
    const query = encodeQuery(target.bigName, 'A', { edns: 65535 });
    const count = 3000;
    try {
      await underAttack('amplification: 65535-byte EDNS0 buffer, large answer', target, async () => {
        await raw.send({ from: '127.0.0.9', fromPort: victim.address().port, to: '127.0.0.1', toPort: target.resolver.ports.port, payload: query, count, gapMicroseconds: GAP_MICROSECONDS });
      });
      await sleep(200);
    } finally {
      victim.close();
    }
    assert.ok(sizes.length >= count / 2, `${sizes.length} answers reached the victim`);
    assert.ok(Math.max(...sizes) <= 1232, `the largest answer was ${Math.max(...sizes)} bytes`);
    assert.equal(truncated, sizes.length, 'every answer has TC set');
    const factor = sizes.reduce((sum, n) => sum + n, 0) / (sizes.length * query.length);
    process.stderr.write(`# amplification: ${query.length}-byte queries, ${(factor).toFixed(1)}x in bytes (a full answer would be ${BIG_ENDPOINTS * 16 + 100} bytes)\n`);
  });

  test('garbage datagrams up to the largest UDP payload are answered FORMERR or dropped', async () => {
    const sockets = Array.from({ length: 4 }, () => createSocket('udp4'));
    for (const socket of sockets) socket.on('error', () => undefined);
    const valid = encodeQuery('example.test', 'A', { id: 77 });
    const garbage = [
      Buffer.alloc(65_507, 0xab),
      Buffer.concat([valid, Buffer.alloc(60_000, 0xc0)]),
      valid.subarray(0, 13),
      valid.subarray(0, 5),
      Buffer.from(valid.map((b, i) => (i === 2 ? b | 0x80 : b))),
    ];
    const result = await underAttack('garbage datagrams up to 65507 bytes', target, async () => {
      for (let i = 0; i < 3000; i++) {
        const packet = garbage[i % garbage.length] ?? valid;
        sockets[i % sockets.length]?.send(packet, target.resolver.ports.port, '127.0.0.1');
        if (i % 50 === 49) await sleep(20);
      }
    });
    for (const socket of sockets) socket.close();
    assert.ok((result.drops.get('dropped:malformed') ?? 0) > 0, 'short datagrams and responses are dropped as malformed');
  });
});
