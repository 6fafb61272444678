/** planCertificates() in virtual time: creation, renewal, CA handover, repair. */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, test } from 'node:test';
import { planCertificates, servingNames } from '../../../src/webhook/certificates.ts';
import type { CertificateMaterial, CertificatePlan, CertificatePolicy } from '../../../src/webhook/certificates.ts';

const SECOND = 1000;
// Whole seconds: certificates keep their times to the second.
const policy: CertificatePolicy = { caValidityMs: 3000 * SECOND, servingValidityMs: 300 * SECOND, renewFraction: 1 / 3, handoverMs: 60 * SECOND, backdateMs: 0 };
const names = servingNames('clusterdns-webhook', 'clusterdns-system', 'https://127.0.0.1:9443/mutate-v1-pod');
const t0 = new Date('2030-01-01T00:00:00Z');
const at = (seconds: number): Date => new Date(t0.getTime() + seconds * SECOND);

const plan = (current: Partial<CertificateMaterial> | undefined, now: Date, nextTrustedSince?: Date): CertificatePlan =>
  planCertificates({ current, now, names, policy, nextTrustedSince });

const cert = (pem: string | undefined): X509Certificate => new X509Certificate(pem ?? '');
const bundleOf = (p: CertificatePlan): string[] => p.caBundle.split(/(?<=-----END CERTIFICATE-----\n)/).filter(Boolean);

describe('planCertificates', () => {
  test('with nothing, makes a CA and a serving certificate for the Service names and the URL host', () => {
    const p = plan(undefined, t0);
    assert.deepEqual(p.changes, ['created a CA (none usable)', 'issued a serving certificate (none usable)']);
    const serving = cert(p.material['tls.crt']);
    assert.ok(serving.checkIssued(cert(p.material['ca.crt'])));
    assert.equal(serving.subjectAltName,
      'DNS:clusterdns-webhook.clusterdns-system.svc, DNS:clusterdns-webhook.clusterdns-system.svc.cluster.local, '
      + 'DNS:clusterdns-webhook.clusterdns-system, DNS:clusterdns-webhook, IP Address:127.0.0.1');
    assert.deepEqual(bundleOf(p), [p.material['ca.crt']]);
    assert.deepEqual(p.recheckAt, at(200), 'the serving certificate is due when a third of its life is left');
  });

  test('keeps good material as it is', () => {
    const first = plan(undefined, t0);
    const again = plan(first.material, at(100));
    assert.deepEqual(again.changes, []);
    assert.deepEqual(again.material, first.material);
  });

  test('renews the serving certificate with a third of its life left, with the same CA', () => {
    const first = plan(undefined, t0);
    const renewed = plan(first.material, at(201));
    assert.deepEqual(renewed.changes, ['issued a serving certificate (due for renewal)']);
    assert.equal(renewed.material['ca.crt'], first.material['ca.crt']);
    assert.notEqual(renewed.material['tls.crt'], first.material['tls.crt']);
    assert.equal(renewed.caBundle, first.caBundle, 'the caBundle does not change');
  });

  test('reissues a serving certificate whose names no longer fit', () => {
    const first = plan(undefined, t0);
    const other = planCertificates({ current: first.material, now: at(1), names: servingNames('clusterdns-webhook', 'elsewhere'), policy });
    assert.deepEqual(other.changes, ['issued a serving certificate (names changed)']);
  });

  test('repairs a serving key that does not belong to the certificate', () => {
    const first = plan(undefined, t0);
    const second = plan(undefined, t0);
    const broken = { ...first.material, 'tls.key': second.material['tls.key'] };
    assert.deepEqual(plan(broken, at(1)).changes, ['issued a serving certificate (none usable)']);
  });

  test('hands the CA over in two steps: trusted first, signing only after the handover time', () => {
    const first = plan(undefined, t0);
    // Two thirds into the CA's life: a next CA joins the bundle, nothing is signed by it yet.
    const step1 = plan(first.material, at(2001));
    assert.ok(step1.changes.includes('created the next CA and added it to the caBundle'), step1.changes.join());
    const next = step1.material['next-ca.crt'];
    assert.deepEqual(bundleOf(step1), [first.material['ca.crt'], next]);
    assert.ok(cert(step1.material['tls.crt']).checkIssued(cert(first.material['ca.crt'])));

    // Not trusted for long enough yet: no handover.
    assert.equal(plan(step1.material, at(2030), at(2001)).material['ca.crt'], first.material['ca.crt']);
    // Unknown whether the bundle was ever applied: no handover either.
    assert.equal(plan(step1.material, at(2100)).material['ca.crt'], first.material['ca.crt']);

    const step2 = plan(step1.material, at(2062), at(2001));
    assert.ok(step2.changes.includes('handed over to the next CA, trusted by the caBundle'), step2.changes.join());
    assert.equal(step2.material['ca.crt'], next);
    assert.ok(cert(step2.material['tls.crt']).checkIssued(cert(next)), 'the serving certificate is signed by the new CA');
    assert.deepEqual(bundleOf(step2), [next, first.material['ca.crt']], 'the old CA is still trusted');

    const step3 = plan(step2.material, at(3001));
    assert.ok(step3.changes.includes('dropped the expired previous CA'), step3.changes.join());
    assert.deepEqual(bundleOf(step3), [next]);
  });

  test('a serving certificate never outlives its CA', () => {
    const short = { ...policy, caValidityMs: 100 * SECOND };
    const p = planCertificates({ current: undefined, now: t0, names, policy: short });
    assert.ok(cert(p.material['tls.crt']).validToDate <= cert(p.material['ca.crt']).validToDate);
  });

  test('garbage in the Secret is replaced, not trusted', () => {
    const p = plan({ 'ca.crt': 'not a certificate', 'ca.key': 'nor a key', 'tls.crt': '', 'tls.key': '' }, t0);
    assert.deepEqual(p.changes, ['created a CA (none usable)', 'issued a serving certificate (none usable)']);
  });
});
