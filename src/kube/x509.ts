/**
 * X.509 certificates for the local control plane and the webhook's self-managed CA.
 *
 * Node can make and use keys but has no API that creates certificates, and the image
 * must not depend on an `openssl` binary. A certificate is only a DER structure signed
 * with the issuer's key, so we encode the small subset that TLS between Kubernetes parts
 * needs: ECDSA P-256 keys, a subject, a validity window, SANs, key usages and the key
 * identifiers that let Go's verifier chain a leaf to its CA.
 */
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

/** A certificate with its private key, both PEM. */
export interface IssuedCertificate {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

export type Usage = 'server' | 'client';

export interface CertificateRequest {
  readonly commonName: string;
  readonly organizations?: readonly string[];
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly usages: readonly Usage[];
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** Creates a self-signed CA that may sign leaf certificates (and nothing below them). */
export function createCertificateAuthority(commonName: string, notBefore: Date, notAfter: Date): IssuedCertificate {
  const key = newKey();
  const subject = encodeName(commonName, []);
  const spki = key.publicKey.export({ type: 'spki', format: 'der' });
  const keyId = subjectKeyId(spki);
  const extensions = [
    extension(OID.basicConstraints, true, seq(bool(true), derUnsignedInteger(Buffer.from([0])))),
    extension(OID.keyUsage, true, bitString(KEY_USAGE.digitalSignature, KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign)),
    extension(OID.subjectKeyIdentifier, false, octets(keyId)),
  ];
  const tbs = tbsCertificate(subject, subject, spki, notBefore, notAfter, extensions);
  return { certificatePem: signCertificate(tbs, key.privateKey), privateKeyPem: pemKey(key.privateKey) };
}

/** Issues a leaf certificate signed by `ca`. */
export function issueCertificate(ca: IssuedCertificate, request: CertificateRequest): IssuedCertificate {
  const caCert = new X509Certificate(ca.certificatePem);
  const caKey = createPrivateKey(ca.privateKeyPem);
  const key = newKey();
  const spki = key.publicKey.export({ type: 'spki', format: 'der' });
  const caSpki = caCert.publicKey.export({ type: 'spki', format: 'der' });
  const extensions = [
    extension(OID.basicConstraints, true, seq()),
    extension(OID.keyUsage, true, bitString(KEY_USAGE.digitalSignature, KEY_USAGE.keyEncipherment)),
    extension(OID.extKeyUsage, false, seq(...request.usages.map((u) => oid(u === 'server' ? OID.serverAuth : OID.clientAuth)))),
    extension(OID.subjectKeyIdentifier, false, octets(subjectKeyId(spki))),
    extension(OID.authorityKeyIdentifier, false, seq(tlv(0x80, subjectKeyId(caSpki)))),
  ];
  const altNames = [
    ...(request.dnsNames ?? []).map((name) => tlv(0x82, Buffer.from(name, 'ascii'))),
    ...(request.ipAddresses ?? []).map((ip) => tlv(0x87, ipBytes(ip))),
  ];
  if (altNames.length > 0) extensions.push(extension(OID.subjectAltName, false, seq(...altNames)));
  const issuer = subjectOf(caCert.raw);
  const subject = encodeName(request.commonName, request.organizations ?? []);
  const tbs = tbsCertificate(issuer, subject, spki, request.notBefore, request.notAfter, extensions);
  return { certificatePem: signCertificate(tbs, caKey), privateKeyPem: pemKey(key.privateKey) };
}

/** A new P-256 key pair: private key in PKCS#8 PEM, public key in SPKI PEM. */
export function newKeyPairPem(): { privateKeyPem: string; publicKeyPem: string } {
  const key = newKey();
  return { privateKeyPem: pemKey(key.privateKey), publicKeyPem: key.publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

/** Bit positions of RFC 5280's KeyUsage. */
const KEY_USAGE = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 } as const;

function newKey(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

function pemKey(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

function tbsCertificate(issuer: Buffer, subject: Buffer, spki: Buffer, notBefore: Date, notAfter: Date, extensions: Buffer[]): Buffer {
  // A random positive 16-byte serial: RFC 5280 asks for uniqueness per CA, not order.
  // The first byte stays in 0x40..0x7f: positive, and never a zero that would make the
  // DER integer non-minimal, which Go's x509 parser refuses ("malformed serial number").
  const serial = randomBytes(16);
  serial[0] = ((serial[0] ?? 0) & 0x3f) | 0x40;
  return seq(
    tlv(0xa0, derUnsignedInteger(Buffer.from([2]))), // version v3
    derUnsignedInteger(serial),
    seq(oid(OID.ecdsaWithSha256)),
    issuer,
    seq(time(notBefore), time(notAfter)),
    subject,
    spki,
    tlv(0xa3, seq(...extensions)),
  );
}

function signCertificate(tbs: Buffer, key: KeyObject): string {
  const signature = sign('sha256', tbs, key);
  const der = seq(tbs, seq(oid(OID.ecdsaWithSha256)), tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const base64 = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${base64}-----END CERTIFICATE-----\n`;
}

function encodeName(commonName: string, organizations: readonly string[]): Buffer {
  const attribute = (type: string, value: string): Buffer => set(seq(oid(type), tlv(0x0c, Buffer.from(value, 'utf8'))));
  return seq(...organizations.map((o) => attribute(OID.organization, o)), attribute(OID.commonName, commonName));
}

/** SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2, method 1). */
function subjectKeyId(spki: Buffer): Buffer {
  const keyBits = elements(spki)[1];
  if (!keyBits) throw new Error('malformed SubjectPublicKeyInfo');
  return createHash('sha1').update(contents(keyBits).subarray(1)).digest();
}

/** The subject Name of a DER certificate we issued (TBS field 5, after the explicit version). */
function subjectOf(der: Buffer): Buffer {
  const tbs = elements(der)[0];
  const subject = tbs ? elements(tbs)[5] : undefined;
  if (!subject) throw new Error('malformed certificate: no subject');
  return Buffer.from(subject);
}

/** Each element (tag, length and contents) inside a constructed DER value. */
function elements(value: Buffer): Buffer[] {
  const inner = contents(value);
  const found: Buffer[] = [];
  for (let at = 0; at < inner.length; ) {
    const rest = inner.subarray(at);
    const size = headerLength(rest) + contentLength(rest);
    found.push(rest.subarray(0, size));
    at += size;
  }
  return found;
}

function contents(value: Buffer): Buffer {
  const start = headerLength(value);
  return value.subarray(start, start + contentLength(value));
}

function headerLength(value: Buffer): number {
  const first = value[1] ?? 0;
  return first < 0x80 ? 2 : 2 + (first & 0x7f);
}

function contentLength(value: Buffer): number {
  const first = value[1] ?? 0;
  if (first < 0x80) return first;
  let length = 0;
  for (let i = 0; i < (first & 0x7f); i++) length = length * 256 + (value[2 + i] ?? 0);
  return length;
}

function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let length: Buffer;
  if (n < 0x80) length = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let rest = n; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
    length = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), length, content]);
}

const seq = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items));
const octets = (bytes: Buffer): Buffer => tlv(0x04, bytes);
const bool = (value: boolean): Buffer => tlv(0x01, Buffer.from([value ? 0xff : 0]));

/** A DER INTEGER of an unsigned big-endian value, minimally encoded as DER demands. */
export function derUnsignedInteger(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const magnitude = bytes.subarray(start);
  // Two's complement: a leading 1 bit needs a zero byte in front to stay positive.
  return tlv(0x02, (magnitude[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), magnitude]) : magnitude);
}

function oid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [first * 40 + second];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

function bitString(...bits: number[]): Buffer {
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bits) bytes[Math.floor(bit / 8)] = (bytes[Math.floor(bit / 8)] ?? 0) | (0x80 >> bit % 8);
  const unused = 7 - (highest % 8);
  return tlv(0x03, Buffer.concat([Buffer.from([unused]), bytes]));
}

function time(date: Date): Buffer {
  const iso = date.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  // RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
  return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2), 'ascii')) : tlv(0x18, Buffer.from(iso, 'ascii'));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));
}

function ipBytes(ip: string): Buffer {
  const family = isIP(ip);
  if (family === 4) return Buffer.from(ip.split('.').map(Number));
  if (family === 6) return ipv6Bytes(ip);
  throw new Error(`not an IP address: ${ip}`);
}

function ipv6Bytes(ip: string): Buffer {
  const [head = '', tail] = ip.split('::');
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const missing = 8 - left.length - right.length;
  const all = [...left, ...Array<string>(missing).fill('0'), ...right];
  const bytes = Buffer.alloc(16);
  all.forEach((group, i) => bytes.writeUInt16BE(parseInt(group, 16), i * 2));
  return bytes;
}
