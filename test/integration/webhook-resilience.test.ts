/**
 * The webhook never stands in the way of pod creation: with the webhook process gone, pods
 * are created untouched; while its certificates are renewed and its CA handed over under a
 * steady stream of pod creations, not one creation fails and every pod is injected.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { WEBHOOK_SECRET } from '../../src/api/names.ts';
import type { CertificatePolicy } from '../../src/webhook/certificates.ts';
import { createNamespace, kubeClient } from '../support/cluster.ts';
import { createClusterDNS, deleteClusterDNS, installClusterDnsCrd } from '../support/clusterdns.ts';
import { createPod, deleteNamespace, injectedInto } from '../support/pods.ts';
import { startWebhook } from '../support/webhook.ts';
import type { RunningWebhook } from '../support/webhook.ts';

const INSTANCE = `wh-res-${randomBytes(3).toString('hex')}`;
const label = { 'clusterdns.io/instance': INSTANCE };

describe('the webhook under failure and rotation', () => {
  let ns = '';
  const webhooks: RunningWebhook[] = [];

  before(async () => {
    await installClusterDnsCrd();
    await createClusterDNS(INSTANCE, { version: '0.1.0' }, { clusterIP: '10.96.0.45', version: '0.1.0' });
    ns = await createNamespace('wh-res');
  });

  after(async () => {
    for (const webhook of webhooks) await webhook.remove();
    await deleteClusterDNS(INSTANCE);
    await deleteNamespace(ns);
    for (const webhook of webhooks) await deleteNamespace(webhook.namespace);
  });

  test('with the webhook stopped, pods are still created, untouched; after a restart they are injected again', async () => {
    const webhook = await startWebhook();
    webhooks.push(webhook);
    assert.equal(injectedInto(await createPod(ns, { labels: label })), `${INSTANCE}@0.1.0`);

    await webhook.stop();
    for (let i = 0; i < 5; i++) {
      const pod = await createPod(ns, { labels: label });
      assert.equal(pod.spec.dnsPolicy, 'ClusterFirst');
      assert.equal(injectedInto(pod), undefined);
    }

    // A new process finds the certificate in the Secret and serves it on the same URL.
    const port = Number(new URL(webhook.url).port);
    const again = await startWebhook({ namespace: webhook.namespace, port });
    webhooks.push(again);
    assert.equal(injectedInto(await createPod(ns, { labels: label })), `${INSTANCE}@0.1.0`);
    await again.remove();
  });

  test('serving certificates renewed and the CA handed over while pods are created: none fails, all are injected', async () => {
    // Short lives: the serving certificate is renewed every 4 s, the CA handed over after ~19 s.
    const policy: CertificatePolicy = { caValidityMs: 24_000, servingValidityMs: 6_000, renewFraction: 1 / 3, handoverMs: 3_000, backdateMs: 0 };
    const webhook = await startWebhook({ certificatePolicy: policy });
    webhooks.push(webhook);
    const servingCerts = new Set<string>();
    const authorities = new Set<string>();
    const failures: string[] = [];
    let created = 0;
    let untouched = 0;

    const deadline = Date.now() + 30_000;
    const watchSecret = (async () => {
      while (Date.now() < deadline) {
        const secret = await kubeClient().request<{ data: Record<string, string> }>('GET', `/api/v1/namespaces/${webhook.namespace}/secrets/${WEBHOOK_SECRET}`);
        servingCerts.add(secret.data['tls.crt'] ?? '');
        authorities.add(secret.data['ca.crt'] ?? '');
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    })();
    while (Date.now() < deadline) {
      const batch = await Promise.allSettled(Array.from({ length: 4 }, () => createPod(ns, { labels: label })));
      for (const result of batch) {
        if (result.status === 'rejected') failures.push(String(result.reason));
        else {
          created++;
          if (injectedInto(result.value) === undefined) untouched++;
        }
      }
    }
    await watchSecret;

    assert.deepEqual(failures, []);
    assert.ok(servingCerts.size >= 4, `${servingCerts.size} serving certificates seen`);
    assert.ok(authorities.size >= 2, `${authorities.size} CAs seen`);
    assert.ok(created > 40, `${created} pods created`);
    assert.equal(untouched, 0, `${untouched} of ${created} pods were admitted without injection`);
  });
});
