/**
 * The webhook's HTTPS server attacked as any pod could attack it, in a process of its own:
 * oversized bodies, a slowloris, slow bodies, a flood of connections, broken reviews and old
 * TLS versions. After each attack an ordinary AdmissionReview is answered, the apiserver
 * still gets its pods injected, and the process stays within its memory bound. The timeouts
 * are shortened (the defaults are 10 s for handshakes and headers, 30 s per request) so that
 * the suite does not wait for them; the cap is lowered to make a flood cheap.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect as connectTcp } from 'node:net';
import type { Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { WEBHOOK_PATH } from '../../src/api/names.ts';
import { httpRequest } from '../../src/local/net.ts';
import type { ServerLimits } from '../../src/webhook/server.ts';
import { createNamespace } from '../support/cluster.ts';
import { createClusterDNS, deleteClusterDNS, installClusterDnsCrd } from '../support/clusterdns.ts';
import { createPod, deleteNamespace, injectedInto } from '../support/pods.ts';
import { startWebhookProcess } from '../support/webhook.ts';
import type { WebhookProcess } from '../support/webhook.ts';

const INSTANCE = `wh-hostile-${randomBytes(3).toString('hex')}`;
const LIMITS: Partial<ServerLimits> = { handshakeTimeoutMs: 2_000, headersTimeoutMs: 2_000, requestTimeoutMs: 4_000, maxConnections: 64 };
const MIB = 1 << 20;
/** The webhook process's RSS may grow by this much under any attack (a 10 MiB body must not be kept). */
const RSS_HEADROOM = 40 * MIB;

function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:')) ?? '';
  return Number(/(\d+)/.exec(line)?.[1] ?? 0) * 1024;
}

/** Resolves with the milliseconds until `socket` closes; rejects after `limitMs`. */
function closedWithin(socket: Socket, limitMs: number): Promise<number> {
  const began = performance.now();
  return new Promise((resolve, reject) => {
    if (socket.destroyed) {
      resolve(0);
      return;
    }
    const timer = setTimeout(() => { reject(new Error(`the connection was still open after ${limitMs} ms`)); }, limitMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(performance.now() - began);
    });
  });
}

describe('the webhook under hostile traffic', () => {
  let webhook: WebhookProcess;
  let ns = '';
  let host = '';
  let port = 0;
  let rssBefore = 0;
  const sockets: Socket[] = [];

  const tls = (): Promise<TLSSocket> => new Promise((resolve, reject) => {
    const socket = connectTls({ host, port, ca: webhook.ca, ALPNProtocols: ['http/1.1'] }, () => { resolve(socket); });
    socket.on('error', reject);
    sockets.push(socket);
  });

  /** Sends `head` and `body` on a fresh connection and resolves with the response's status line. */
  const rawExchange = async (head: string, body: Buffer[] = []): Promise<string> => {
    const socket = await tls();
    socket.on('error', () => undefined);
    const status = new Promise<string>((resolve, reject) => {
      let text = '';
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
        const end = text.indexOf('\r\n');
        if (end >= 0) resolve(text.slice(0, end));
      });
      socket.once('close', () => { reject(new Error(`closed without an answer: ${JSON.stringify(text)}`)); });
      setTimeout(() => { reject(new Error('no answer within 5 s')); }, 5_000);
    });
    socket.write(head);
    for (const chunk of body) socket.write(chunk);
    try {
      return await status;
    } finally {
      socket.destroy();
    }
  };

  const review = (uid: string): unknown => ({
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: { uid, kind: { group: '', version: 'v1', kind: 'Pod' }, namespace: ns, operation: 'CREATE',
      object: { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'p-', labels: { 'clusterdns.io/instance': INSTANCE } }, spec: { containers: [{ name: 'app', image: 'app' }] } } },
  });

  /** An ordinary review straight to the webhook, and a pod created through the apiserver. */
  const assertServing = async (): Promise<void> => {
    const uid = randomBytes(4).toString('hex');
    const reply = await httpRequest({ url: webhook.url, method: 'POST', json: review(uid), tls: { ca: webhook.ca }, timeoutMs: 5_000 });
    assert.equal(reply.status, 200, reply.body);
    const answer = JSON.parse(reply.body) as { response: { uid: string; allowed: boolean; patchType?: string } };
    assert.equal(answer.response.uid, uid);
    assert.equal(answer.response.allowed, true);
    assert.equal(answer.response.patchType, 'JSONPatch');
    assert.equal(injectedInto(await createPod(ns, { labels: { 'clusterdns.io/instance': INSTANCE } })), `${INSTANCE}@0.1.0`);
    const grown = rssOf(webhook.pid) - rssBefore;
    assert.ok(grown < RSS_HEADROOM, `the webhook's RSS grew by ${(grown / MIB).toFixed(1)} MiB`);
  };

  before(async () => {
    await installClusterDnsCrd();
    await createClusterDNS(INSTANCE, { version: '0.1.0' }, { clusterIP: '10.96.0.47', version: '0.1.0' });
    ns = await createNamespace('wh-hostile');
    webhook = await startWebhookProcess({ serverLimits: LIMITS });
    ({ hostname: host } = new URL(webhook.url));
    port = Number(new URL(webhook.url).port);
    rssBefore = rssOf(webhook.pid);
    await assertServing();
  });

  after(async () => {
    for (const socket of sockets) socket.destroy();
    await webhook.remove();
    await deleteClusterDNS(INSTANCE);
    await deleteNamespace(ns);
    await deleteNamespace(webhook.namespace);
  });

  test('a 10 MiB body gets 413', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(webhook.url, { method: 'POST', ca: webhook.ca, headers: { 'content-type': 'application/json' } }, (res) => {
        resolve(res.statusCode ?? 0);
        res.resume();
      });
      // The server answers and closes before the client has sent it all.
      req.on('error', (error) => { setTimeout(() => { reject(error); }, 1_000); });
      req.end(Buffer.alloc(10 * MIB, 0x20));
    });
    assert.equal(status, 413);
    await assertServing();
  });

  test('an oversized body is refused without waiting for the rest of it, declared or chunked', async () => {
    const head = `POST ${WEBHOOK_PATH} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n`;
    // Declares 10 MiB, sends 64 KiB: the answer comes from the Content-Length alone.
    assert.match(await rawExchange(`${head}Content-Length: ${10 * MIB}\r\n\r\n`, [Buffer.alloc(64 << 10, 0x20)]), /^HTTP\/1\.1 413 /);
    // Chunked, no length: 2 MiB sent of a body that never ends; refused once past 1 MiB.
    const chunk = Buffer.alloc(256 << 10, 0x20);
    const chunks = Array.from({ length: 8 }, () => Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]));
    assert.match(await rawExchange(`${head}Transfer-Encoding: chunked\r\n\r\n`, chunks), /^HTTP\/1\.1 413 /);
    await assertServing();
  });

  test('a broken review gets 400, and so does a review of something else than a pod', async () => {
    const reply = await httpRequest({ url: webhook.url, method: 'POST', json: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, tls: { ca: webhook.ca } });
    assert.equal(reply.status, 400);
    const text = `POST ${WEBHOOK_PATH} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{"kind":[`;
    assert.match(await rawExchange(text), /^HTTP\/1\.1 400 /);
    await assertServing();
  });

  test('a slowloris (headers a byte at a time) is cut off, and so is a body that trickles', async () => {
    const loris = await tls();
    loris.write(`POST ${WEBHOOK_PATH} HTTP/1.1\r\nHost: ${host}\r\nX-Slow: `);
    const drip = setInterval(() => { if (!loris.destroyed) loris.write('a'); }, 200);
    const trickle = await tls();
    trickle.write(`POST ${WEBHOOK_PATH} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n`);
    const dripBody = setInterval(() => { if (!trickle.destroyed) trickle.write(' '); }, 200);
    const silent = await tls();
    const untouched = connectTcp({ host, port });
    sockets.push(untouched);
    // Read whatever comes (a 408, the end): a paused socket would not see its peer close.
    for (const socket of [loris, trickle, silent, untouched]) socket.resume();
    try {
      // headers 2 s / request 4 s / handshake 2 s, checked every second, with room for a busy machine.
      const [headers, body, idle, handshake] = await Promise.all([
        closedWithin(loris, 10_000), closedWithin(trickle, 12_000), closedWithin(silent, 10_000), closedWithin(untouched, 10_000),
      ]);
      console.log(`# closed after: slow headers ${headers.toFixed(0)} ms, slow body ${body.toFixed(0)} ms, silent after the handshake ${idle.toFixed(0)} ms, no handshake ${handshake.toFixed(0)} ms`);
    } finally {
      clearInterval(drip);
      clearInterval(dripBody);
    }
    await assertServing();
  });

  test('a flood of connections (three times the cap, handshaken and not) does not stop service', async () => {
    // Each reads what comes: a paused socket would not see its peer close it.
    const raw = Array.from({ length: 120 }, () => {
      const socket = connectTcp({ host, port });
      socket.on('error', () => undefined);
      socket.resume();
      sockets.push(socket);
      return socket;
    });
    const handshaken = await Promise.all(Array.from({ length: 72 }, () => tls().then((s) => {
      s.on('error', () => undefined);
      s.resume();
      return s;
    }, () => undefined)));
    // Served while the flood holds its connections open.
    await assertServing();
    const flood = [...raw, ...handshaken.filter((s) => s !== undefined)];
    const open = flood.filter((s) => !s.destroyed).length;
    assert.ok(open <= 64, `${open} flood connections still open, above the cap of 64`);
    for (const socket of flood) socket.destroy();
    await assertServing();
  });

  test('TLS older than 1.2 is refused; 1.2 is served', async () => {
    const handshake = (version: 'TLSv1.1' | 'TLSv1.2'): Promise<string> => new Promise((resolve, reject) => {
      // SECLEVEL=0 lets the client offer TLS 1.1 at all, so that the refusal is the server's.
      const socket = connectTls({ host, port, ca: webhook.ca, minVersion: 'TLSv1', maxVersion: version, ciphers: 'DEFAULT@SECLEVEL=0' }, () => {
        resolve(socket.getProtocol() ?? '');
        socket.destroy();
      });
      socket.on('error', reject);
    });
    await assert.rejects(handshake('TLSv1.1'), /protocol|version/i);
    assert.equal(await handshake('TLSv1.2'), 'TLSv1.2');
    await assertServing();
  });
});
