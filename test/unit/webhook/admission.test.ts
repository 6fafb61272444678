/**
 * The webhook's HTTP surface, in-process: reviews in, responses out, bad input refused
 * with 400, the uid stamped on every response.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { allowed, patched } from '../../../src/webhook/admission.ts';
import type { ReviewContext } from '../../../src/webhook/admission.ts';
import type { InstanceFacts } from '../../../src/webhook/instances.ts';
import { applyPatch } from '../../../src/webhook/patch.ts';
import type { PatchOperation } from '../../../src/webhook/patch.ts';
import { handleRequest } from '../../../src/webhook/server.ts';

const instances = new Map<string, InstanceFacts>([
  ['kube-dns-2', { name: 'kube-dns-2', version: '0.1.0', clusterIP: '10.96.0.20', clusterDomain: 'cluster.local', injection: { percent: 100 }, serving: 'Instance', deleting: false }],
]);
const context: ReviewContext = {
  instances,
  namespace: (name) => {
    const labels: Record<string, string> = name === 'opted' ? { 'clusterdns.io/instance': 'kube-dns-2' } : {};
    return Promise.resolve({ name, labels });
  },
  protectedNamespaces: ['clusterdns-system', 'kube-system'],
};

const pod = (labels: Record<string, string> = {}) => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'web-', labels }, spec: { containers: [{ name: 'app', image: 'app' }] },
});

const review = (object: unknown, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: { uid: 'u-1', kind: { group: '', version: 'v1', kind: 'Pod' }, namespace: 'shop', operation: 'CREATE', object, ...extra },
});

interface Reply {
  status: number;
  text: string;
  json: { response?: { uid: string; allowed: boolean; patchType?: string; patch?: string; warnings?: string[] } };
}

describe('the admission HTTP handler', () => {
  let server: Server;
  let base = '';

  before(async () => {
    server = createServer((req, res) => { void handleRequest(req, res, context, pino({ level: 'silent' })); });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });

  after(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  async function post(body: unknown, path = '/mutate-v1-pod', method = 'POST'): Promise<Reply> {
    const res = await fetch(base + path, { method, body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    const text = await res.text();
    let json = {};
    try {
      json = JSON.parse(text) as object;
    } catch {
      // a plain-text message
    }
    return { status: res.status, text, json };
  }

  test('a labelled pod gets a JSONPatch that points it at the instance', async () => {
    const reply = await post(review(pod({ 'clusterdns.io/instance': 'kube-dns-2' })));
    assert.equal(reply.status, 200);
    const response = reply.json.response!;
    assert.equal(response.uid, 'u-1');
    assert.equal(response.allowed, true);
    assert.equal(response.patchType, 'JSONPatch');
    const ops = JSON.parse(Buffer.from(response.patch!, 'base64').toString()) as PatchOperation[];
    const result = applyPatch(pod({ 'clusterdns.io/instance': 'kube-dns-2' }), ops) as { spec: { dnsPolicy: string; dnsConfig: { nameservers: string[] } } };
    assert.equal(result.spec.dnsPolicy, 'None');
    assert.deepEqual(result.spec.dnsConfig.nameservers, ['10.96.0.20']);
  });

  test('a pod in a labelled namespace is patched too (namespace labels are looked up)', async () => {
    const reply = await post(review(pod(), { namespace: 'opted' }));
    assert.equal(reply.json.response?.patchType, 'JSONPatch');
  });

  test('an unlabelled pod is allowed untouched, with no patch type', async () => {
    const reply = await post(review(pod()));
    assert.deepEqual(reply.json.response, { uid: 'u-1', allowed: true });
  });

  test('an unknown instance is allowed untouched with a warning', async () => {
    const reply = await post(review(pod({ 'clusterdns.io/instance': 'ghost' })));
    assert.equal(reply.json.response?.patch, undefined);
    assert.deepEqual(reply.json.response?.warnings, ['clusterdns: ClusterDNS ghost (from the pod label clusterdns.io/instance=ghost) does not exist; the pod keeps the cluster DNS']);
  });

  test('a dry-run request is answered like any other', async () => {
    const reply = await post(review(pod({ 'clusterdns.io/instance': 'kube-dns-2' }), { dryRun: true }));
    assert.equal(reply.json.response?.patchType, 'JSONPatch');
  });

  test('an UPDATE is allowed untouched', async () => {
    const reply = await post(review(pod({ 'clusterdns.io/instance': 'kube-dns-2' }), { operation: 'UPDATE' }));
    assert.deepEqual(reply.json.response, { uid: 'u-1', allowed: true });
  });

  const bad: Array<{ title: string; body: unknown; message: RegExp }> = [
    { title: 'malformed JSON', body: '{"apiVersion": ', message: /the body is not JSON/ },
    { title: 'an empty body', body: '', message: /the body is not JSON/ },
    { title: 'JSON that is not an object', body: '[1,2]', message: /not an AdmissionReview v1 for a Pod/ },
    { title: 'an AdmissionReview v1beta1', body: { ...review(pod()), apiVersion: 'admission.k8s.io/v1beta1' }, message: /apiVersion must be admission.k8s.io\/v1/ },
    { title: 'a review without a request', body: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, message: /request/ },
    { title: 'a review of a Deployment', body: review({}, { kind: { group: 'apps', version: 'v1', kind: 'Deployment' } }), message: /must be Pod/ },
    { title: 'a review without a uid', body: review(pod(), { uid: '' }), message: /request.uid/ },
    { title: 'a pod without a spec', body: review({ metadata: {} }), message: /request.object is not a Pod: spec/ },
    { title: 'a pod whose labels are not strings', body: review({ metadata: { labels: { a: 1 } }, spec: {} }), message: /metadata.labels.a/ },
  ];
  for (const row of bad) {
    test(`400 with a message for ${row.title}`, async () => {
      const reply = await post(row.body);
      assert.equal(reply.status, 400);
      assert.match(reply.text, row.message);
    });
  }

  test('other paths are 404 and other methods 405; /healthz answers', async () => {
    assert.equal((await post(review(pod()), '/mutate')).status, 404);
    assert.equal((await fetch(`${base}/mutate-v1-pod`)).status, 405);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
  });

  test('a body over 1 MiB is refused with 413, and the server keeps serving', async () => {
    const reply = await post('x'.repeat((1 << 20) + 10));
    assert.equal(reply.status, 413);
    assert.equal((await post(review(pod()))).status, 200);
  });

  test('a body of just 1 MiB is still read (and refused as JSON, not as too large)', async () => {
    assert.equal((await post(' '.repeat(1 << 20))).status, 400);
  });
});

describe('response constructors', () => {
  test('stamp the uid, and set a patch type only when there are operations', () => {
    assert.deepEqual(allowed('a'), { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'a', allowed: true } });
    assert.deepEqual(patched('b', []), allowed('b'));
    const withOps = patched('c', [{ op: 'add', path: '/x', value: 1 }], ['careful']);
    assert.equal(withOps.response.uid, 'c');
    assert.equal(withOps.response.patchType, 'JSONPatch');
    assert.deepEqual(withOps.response.warnings, ['careful']);
    assert.deepEqual(JSON.parse(Buffer.from(withOps.response.patch ?? '', 'base64').toString()), [{ op: 'add', path: '/x', value: 1 }]);
  });
});
