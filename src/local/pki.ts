/**
 * The certificates and keys of the local control plane, written to one directory: a CA, the
 * apiserver's serving certificate, a client certificate per component (each with the
 * identity the default RBAC roles expect) and the service-account signing key.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCertificateAuthority, issueCertificate, newKeyPairPem } from '../kube/x509.ts';
import type { IssuedCertificate } from '../kube/x509.ts';

export interface ClientIdentity {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

export interface Pki {
  readonly caFile: string;
  readonly caPem: string;
  readonly servingCertFile: string;
  readonly servingKeyFile: string;
  /** Signs service-account tokens (kube-apiserver, kube-controller-manager). */
  readonly serviceAccountKeyFile: string;
  /** Verifies them; Go reads public keys only from a PUBLIC KEY block, not from PKCS#8. */
  readonly serviceAccountPublicKeyFile: string;
  /** Clients by role: `admin` is system:masters; the others are the built-in component users. */
  readonly clients: Record<'admin' | 'controllerManager' | 'scheduler' | 'kwok', ClientIdentity>;
  /** With a real node: its kubelet, its kube-proxy, and the apiserver's client of the kubelet. */
  readonly node?: Record<'kubelet' | 'kubeProxy' | 'apiserverKubeletClient', ClientIdentity> & { readonly apiserverKubeletClientCertFile: string; readonly apiserverKubeletClientKeyFile: string };
}

export interface PkiOptions {
  /** More addresses the apiserver serves on (a real node's IP). */
  readonly addresses?: readonly string[];
  /** The real node whose identities to issue. */
  readonly nodeName?: string;
}

const YEAR_MS = 365 * 24 * 3600 * 1000;

/** Creates the PKI in `dir`. `serviceIP` is the first address of the service range. */
export function createPki(dir: string, serviceIP: string, options: PkiOptions = {}, now = new Date()): Pki {
  // Back-date a little so that clocks a second apart never see a certificate from the future.
  const notBefore = new Date(now.getTime() - 60_000);
  const notAfter = new Date(now.getTime() + YEAR_MS);
  const ca = createCertificateAuthority('clusterdns-local-ca', notBefore, notAfter);
  const client = (commonName: string, organizations: string[] = []): IssuedCertificate =>
    issueCertificate(ca, { commonName, organizations, usages: ['client'], notBefore, notAfter });
  const serving = issueCertificate(ca, {
    commonName: 'kube-apiserver',
    dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
    ipAddresses: ['127.0.0.1', serviceIP, ...(options.addresses ?? [])],
    usages: ['server'],
    notBefore,
    notAfter,
  });
  const serviceAccount = newKeyPairPem();
  const file = (name: string, contents: string): string => {
    const path = join(dir, name);
    writeFileSync(path, contents, { mode: 0o600 });
    return path;
  };
  const nodeIdentities = (nodeName: string): NonNullable<Pki['node']> => {
    // Names and groups that the Node authorizer and the bootstrap RBAC roles expect (as kubeadm issues them).
    const apiserverKubeletClient = client('kube-apiserver-kubelet-client', ['system:masters']);
    return {
      kubelet: client(`system:node:${nodeName}`, ['system:nodes']),
      kubeProxy: client('system:kube-proxy'),
      apiserverKubeletClient,
      apiserverKubeletClientCertFile: file('apiserver-kubelet-client.crt', apiserverKubeletClient.certificatePem),
      apiserverKubeletClientKeyFile: file('apiserver-kubelet-client.key', apiserverKubeletClient.privateKeyPem),
    };
  };
  return {
    ...(options.nodeName ? { node: nodeIdentities(options.nodeName) } : {}),
    caFile: file('ca.crt', ca.certificatePem),
    caPem: ca.certificatePem,
    servingCertFile: file('apiserver.crt', serving.certificatePem),
    servingKeyFile: file('apiserver.key', serving.privateKeyPem),
    serviceAccountKeyFile: file('sa.key', serviceAccount.privateKeyPem),
    serviceAccountPublicKeyFile: file('sa.pub', serviceAccount.publicKeyPem),
    clients: {
      admin: client('clusterdns-admin', ['system:masters']),
      controllerManager: client('system:kube-controller-manager'),
      scheduler: client('system:kube-scheduler'),
      // KWOK plays every kubelet and must write any node's and pod's status.
      kwok: client('kwok', ['system:masters']),
    },
  };
}

/** A self-contained kubeconfig (certificates embedded) for one client identity. */
export function kubeconfigYaml(server: string, caPem: string, identity: ClientIdentity, user: string): string {
  const b64 = (pem: string): string => Buffer.from(pem).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: clusterdns-local',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64(caPem)}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    client-certificate-data: ${b64(identity.certificatePem)}`,
    `    client-key-data: ${b64(identity.privateKeyPem)}`,
    'contexts:',
    '- name: clusterdns-local',
    '  context:',
    '    cluster: clusterdns-local',
    `    user: ${user}`,
    'current-context: clusterdns-local',
    '',
  ].join('\n');
}
