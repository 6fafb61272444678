/** /metrics, /healthz and /readyz over real HTTP on loopback, and listen-address parsing. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Registry, Counter } from 'prom-client';
import { HttpEndpoint, healthRoutes, metricsRoutes, parseListenAddress } from '../../../src/controller/endpoints.ts';
import { httpRequest } from '../../../src/local/net.ts';

/** Runs `endpoint` on a free loopback port while `body` runs. */
async function serving(endpoint: HttpEndpoint, body: (base: string) => Promise<void>): Promise<void> {
  const stop = new AbortController();
  const running = endpoint.start(stop.signal);
  while (endpoint.port === 0) await new Promise((resolve) => setImmediate(resolve));
  try {
    await body(`http://127.0.0.1:${endpoint.port}`);
  } finally {
    stop.abort();
    await running;
  }
}

describe('parseListenAddress', () => {
  const rows: Array<[string, ReturnType<typeof parseListenAddress>]> = [
    [':8080', { host: undefined, port: 8080 }],
    ['127.0.0.1:9090', { host: '127.0.0.1', port: 9090 }],
    ['[::1]:8081', { host: '::1', port: 8081 }],
    ['0', undefined],
  ];
  for (const [input, expected] of rows) test(`reads ${input}`, () => { assert.deepEqual(parseListenAddress(input), expected); });
  for (const bad of ['8080', 'host', ':99999', '1.2.3.4:']) test(`refuses ${bad}`, () => { assert.throws(() => parseListenAddress(bad), /is not host:port/); });
});

describe('the HTTP endpoints', () => {
  test('/readyz answers 503 naming the failing check until it passes; /healthz answers 200', async () => {
    let ready = false;
    await serving(new HttpEndpoint('health', { host: '127.0.0.1', port: 0 }, healthRoutes({ manager: () => ready })), async (base) => {
      assert.deepEqual(await httpRequest({ url: `${base}/readyz` }), { status: 503, body: 'not ready: manager\n' });
      assert.equal((await httpRequest({ url: `${base}/healthz` })).status, 200);
      ready = true;
      assert.deepEqual(await httpRequest({ url: `${base}/readyz` }), { status: 200, body: 'ok\n' });
      assert.equal((await httpRequest({ url: `${base}/other` })).status, 404);
    });
  });

  test('/metrics serves the registry in the Prometheus text format', async () => {
    const registry = new Registry();
    new Counter({ name: 'probe_total', help: 'a probe', registers: [registry] }).inc(3);
    await serving(new HttpEndpoint('metrics', { host: '127.0.0.1', port: 0 }, metricsRoutes(registry)), async (base) => {
      const answer = await httpRequest({ url: `${base}/metrics` });
      assert.equal(answer.status, 200);
      assert.match(answer.body, /^probe_total 3$/m);
    });
  });

  test('fails to start, rather than run deaf, when its port is taken', async () => {
    await serving(new HttpEndpoint('first', { host: '127.0.0.1', port: 0 }, {}), async (base) => {
      const port = Number(new URL(base).port);
      await assert.rejects(new HttpEndpoint('second', { host: '127.0.0.1', port }, {}).start(new AbortController().signal), /EADDRINUSE/);
    });
  });
});
