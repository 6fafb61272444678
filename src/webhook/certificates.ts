/**
 * The webhook's self-managed CA and serving certificate, planned by a pure function of the
 * current material, the time and a policy.
 *
 * The serving certificate is renewed when a third of its life is left; it is signed by the
 * same CA, so the caBundle the apiserver trusts does not change. The CA itself is replaced
 * in two steps, so that the apiserver never meets a certificate it does not trust yet:
 * first a next CA is made and added to the bundle; only once that bundle has been in the
 * MutatingWebhookConfiguration for `handoverMs` does the next CA sign a new serving
 * certificate, and the old CA stays in the bundle until it expires.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { createCertificateAuthority, issueCertificate } from '../kube/x509.ts';

export interface CertificatePolicy {
  readonly caValidityMs: number;
  readonly servingValidityMs: number;
  /** Renew when less than this share of a certificate's life is left. */
  readonly renewFraction: number;
  /** How long the caBundle must have trusted a next CA before it signs anything. */
  readonly handoverMs: number;
  /** notBefore lies this far in the past, for clocks that lag ours. */
  readonly backdateMs: number;
}

const DAY = 24 * 3600 * 1000;
export const DEFAULT_CERTIFICATE_POLICY: CertificatePolicy = {
  caValidityMs: 5 * 365 * DAY,
  servingValidityMs: 90 * DAY,
  renewFraction: 1 / 3,
  handoverMs: 2 * 60 * 1000,
  backdateMs: 5 * 60 * 1000,
};

/** PEM material as kept in the Secret (the keys of its `data`). */
export interface CertificateMaterial {
  readonly 'ca.crt': string;
  readonly 'ca.key': string;
  readonly 'tls.crt': string;
  readonly 'tls.key': string;
  readonly 'next-ca.crt'?: string;
  readonly 'next-ca.key'?: string;
  /** The CA before the last handover, trusted until it expires. */
  readonly 'previous-ca.crt'?: string;
}

/** The names the serving certificate must carry. */
export interface ServingNames {
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
}

export interface CertificatePlan {
  readonly material: CertificateMaterial;
  /** What changed and why; empty when the material is kept as it is. */
  readonly changes: readonly string[];
  /** The CAs the apiserver must trust now: current, next, previous. */
  readonly caBundle: string;
  /** When the plan should be made again at the latest (a renewal or handover is due). */
  readonly recheckAt: Date;
}

export interface PlanInput {
  readonly current: Partial<CertificateMaterial> | undefined;
  readonly now: Date;
  readonly names: ServingNames;
  readonly policy: CertificatePolicy;
  /** Since when the applied caBundle has contained the current `next-ca.crt`, if it has. */
  readonly nextTrustedSince?: Date | undefined;
}

interface Pair {
  readonly cert: X509Certificate;
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

/** Decides what the Secret should hold now. Pure apart from generating keys. */
export function planCertificates(input: PlanInput): CertificatePlan {
  const { current, now, names, policy } = input;
  const authorities = planAuthorities(input);
  const { ca, next, previous } = authorities;
  const changes = [...authorities.changes];

  let serving = usablePair(current?.['tls.crt'], current?.['tls.key'], now);
  const servingProblem = !serving ? 'none usable'
    : !signedBy(serving.cert, ca.cert) ? 'not signed by the current CA'
      : !hasNames(serving.cert, names) ? 'names changed'
        : dueForRenewal(serving.cert, now, policy) ? 'due for renewal' : undefined;
  if (!serving || servingProblem) {
    serving = newServing(ca, names, now, policy);
    changes.push(`issued a serving certificate (${servingProblem ?? ''})`);
  }

  const material: CertificateMaterial = {
    'ca.crt': ca.certificatePem,
    'ca.key': ca.privateKeyPem,
    'tls.crt': serving.certificatePem,
    'tls.key': serving.privateKeyPem,
    ...(next ? { 'next-ca.crt': next.certificatePem, 'next-ca.key': next.privateKeyPem } : {}),
    ...(previous ? { 'previous-ca.crt': previous.toString() } : {}),
  };
  const bundle = [ca.cert, next?.cert, previous].filter((c) => c !== undefined);
  return { material, changes, caBundle: bundle.map((c) => c.toString()).join(''), recheckAt: recheckAt(material, input) };
}

interface Authorities {
  readonly ca: Pair;
  readonly next: Pair | undefined;
  readonly previous: X509Certificate | undefined;
  readonly changes: readonly string[];
}

/** The CA step: keep, start a next CA, hand over to it, or start afresh. */
function planAuthorities({ current, now, policy, nextTrustedSince }: PlanInput): Authorities {
  const ca = usablePair(current?.['ca.crt'], current?.['ca.key'], now);
  const next = usablePair(current?.['next-ca.crt'], current?.['next-ca.key'], now);
  const previous = usableCert(current?.['previous-ca.crt'], now);
  const dropped = [
    ...(current?.['previous-ca.crt'] && !previous ? ['dropped the expired previous CA'] : []),
    ...(current?.['next-ca.crt'] && !next ? ['dropped an unusable next CA'] : []),
  ];
  if (!ca && next) return { ca: next, next: undefined, previous, changes: ['promoted the next CA (the current one is unusable)', ...dropped] };
  if (!ca) return { ca: newAuthority(now, policy), next: undefined, previous: undefined, changes: ['created a CA (none usable)'] };
  if (next && nextTrustedSince && now.getTime() - nextTrustedSince.getTime() >= policy.handoverMs) {
    return { ca: next, next: undefined, previous: ca.cert, changes: ['handed over to the next CA, trusted by the caBundle', ...dropped] };
  }
  if (!next && dueForRenewal(ca.cert, now, policy)) {
    return { ca, next: newAuthority(now, policy), previous, changes: ['created the next CA and added it to the caBundle', ...dropped] };
  }
  return { ca, next, previous, changes: dropped };
}

/** The earliest moment something in `material` becomes due. */
function recheckAt(material: CertificateMaterial, { now, policy, nextTrustedSince }: PlanInput): Date {
  const times = [renewalTime(material['ca.crt'], policy), renewalTime(material['tls.crt'], policy)];
  const previous = material['previous-ca.crt'];
  if (previous) times.push(new X509Certificate(previous).validToDate.getTime());
  if (material['next-ca.crt']) times.push((nextTrustedSince ?? now).getTime() + policy.handoverMs);
  return new Date(Math.min(...times));
}

function renewalTime(pem: string, policy: CertificatePolicy): number {
  const cert = new X509Certificate(pem);
  const from = cert.validFromDate.getTime();
  const to = cert.validToDate.getTime();
  return to - (to - from) * policy.renewFraction;
}

function dueForRenewal(cert: X509Certificate, now: Date, policy: CertificatePolicy): boolean {
  return now.getTime() >= renewalTime(cert.toString(), policy);
}

function usablePair(certificatePem: string | undefined, privateKeyPem: string | undefined, now: Date): Pair | undefined {
  const cert = usableCert(certificatePem, now);
  if (!cert || !certificatePem || !privateKeyPem) return undefined;
  try {
    return cert.checkPrivateKey(createPrivateKey(privateKeyPem)) ? { cert, certificatePem, privateKeyPem } : undefined;
  } catch {
    return undefined;
  }
}

function usableCert(pem: string | undefined, now: Date): X509Certificate | undefined {
  if (!pem) return undefined;
  try {
    const cert = new X509Certificate(pem);
    return cert.validToDate.getTime() > now.getTime() ? cert : undefined;
  } catch {
    return undefined;
  }
}

function signedBy(cert: X509Certificate, ca: X509Certificate): boolean {
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

function hasNames(cert: X509Certificate, names: ServingNames): boolean {
  const wanted = [...names.dnsNames.map((n) => `DNS:${n}`), ...names.ipAddresses.map((ip) => `IP Address:${ip}`)].sort();
  const present = (cert.subjectAltName ?? '').split(', ').filter(Boolean).sort();
  return wanted.length === present.length && wanted.every((name, i) => name === present[i]);
}

function newAuthority(now: Date, policy: CertificatePolicy): Pair {
  const notBefore = new Date(now.getTime() - policy.backdateMs);
  const issued = createCertificateAuthority('clusterdns-webhook-ca', notBefore, new Date(now.getTime() + policy.caValidityMs));
  return { ...issued, cert: new X509Certificate(issued.certificatePem) };
}

function newServing(ca: Pair, names: ServingNames, now: Date, policy: CertificatePolicy): Pair {
  // A certificate outliving its CA would fail verification once the CA expires.
  const notAfter = Math.min(now.getTime() + policy.servingValidityMs, ca.cert.validToDate.getTime());
  const issued = issueCertificate(ca, {
    commonName: names.dnsNames[0] ?? names.ipAddresses[0] ?? 'clusterdns-webhook',
    dnsNames: names.dnsNames,
    ipAddresses: names.ipAddresses,
    usages: ['server'],
    notBefore: new Date(now.getTime() - policy.backdateMs),
    notAfter: new Date(notAfter),
  });
  return { ...issued, cert: new X509Certificate(issued.certificatePem) };
}

/**
 * The names of the webhook Service (`<service>.<namespace>.svc` is what the apiserver asks
 * for), plus the host of an explicit URL.
 */
export function servingNames(service: string, namespace: string, url?: string): ServingNames {
  const dnsNames = [`${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`, `${service}.${namespace}`, service];
  const ipAddresses: string[] = [];
  if (url) {
    const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
    if (isIP(host)) ipAddresses.push(host);
    else if (!dnsNames.includes(host)) dnsNames.push(host);
  }
  return { dnsNames, ipAddresses };
}
