import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { describe, test } from 'node:test';
import { createCertificateAuthority, derUnsignedInteger, issueCertificate } from '../../../src/kube/x509.ts';

const notBefore = new Date('2026-01-01T00:00:00Z');
const notAfter = new Date('2027-01-01T00:00:00Z');

describe('x509', () => {
  const ca = createCertificateAuthority('test-ca', notBefore, notAfter);

  test('a CA is self-signed, marked as a CA and valid for the window asked for', () => {
    const cert = new X509Certificate(ca.certificatePem);
    assert.equal(cert.subject, 'CN=test-ca');
    assert.equal(cert.issuer, 'CN=test-ca');
    assert.equal(cert.ca, true);
    assert.ok(cert.verify(cert.publicKey));
    assert.equal(new Date(cert.validFrom).toISOString(), notBefore.toISOString());
    assert.equal(new Date(cert.validTo).toISOString(), notAfter.toISOString());
  });

  test('a leaf carries its names, organizations and usages, and chains to its CA', () => {
    const leaf = issueCertificate(ca, {
      commonName: 'webhook.clusterdns-system.svc',
      organizations: ['system:masters'],
      dnsNames: ['webhook.clusterdns-system.svc', 'localhost'],
      ipAddresses: ['127.0.0.1', 'fd00::1'],
      usages: ['server', 'client'],
      notBefore,
      notAfter,
    });
    const cert = new X509Certificate(leaf.certificatePem);
    const caCert = new X509Certificate(ca.certificatePem);
    assert.equal(cert.subject, 'O=system:masters\nCN=webhook.clusterdns-system.svc');
    assert.equal(cert.subjectAltName, 'DNS:webhook.clusterdns-system.svc, DNS:localhost, IP Address:127.0.0.1, IP Address:FD00:0:0:0:0:0:0:1');
    assert.equal(cert.ca, false);
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    assert.ok(cert.checkIssued(caCert));
    assert.ok(cert.verify(caCert.publicKey));
    assert.ok(cert.checkPrivateKey(createPrivateKey(leaf.privateKeyPem)));
  });

  test('a leaf signed by another CA does not verify against this one', () => {
    const other = createCertificateAuthority('other-ca', notBefore, notAfter);
    const leaf = issueCertificate(other, { commonName: 'x', usages: ['server'], notBefore, notAfter });
    const cert = new X509Certificate(leaf.certificatePem);
    assert.equal(cert.verify(createPublicKey(new X509Certificate(ca.certificatePem).publicKey.export({ type: 'spki', format: 'pem' }))), false);
  });

  test('dates from 2050 on are encoded as GeneralizedTime and read back exactly', () => {
    const far = new Date('2051-06-01T12:00:00Z');
    const cert = new X509Certificate(createCertificateAuthority('far', notBefore, far).certificatePem);
    assert.equal(new Date(cert.validTo).toISOString(), far.toISOString());
  });
});

describe('DER integers', () => {
  test('are minimal: leading zero bytes go, a zero byte is added only before a high bit', () => {
    assert.equal(derUnsignedInteger(Buffer.from([0x00, 0x01])).toString('hex'), '020101');
    assert.equal(derUnsignedInteger(Buffer.from([0x00, 0x00, 0x80])).toString('hex'), '02020080');
    assert.equal(derUnsignedInteger(Buffer.from([0x80])).toString('hex'), '02020080');
    assert.equal(derUnsignedInteger(Buffer.from([0x00])).toString('hex'), '020100');
  });

  test('certificate serials are positive and minimally encoded, so Go parses them', () => {
    const ca = createCertificateAuthority('serials', notBefore, notAfter);
    assert.match(new X509Certificate(ca.certificatePem).serialNumber, /^[4-7][0-9A-F]{31}$/i);
    for (let i = 0; i < 300; i++) {
      const leaf = issueCertificate(ca, { commonName: `leaf-${i}`, usages: ['client'], notBefore, notAfter });
      assert.match(new X509Certificate(leaf.certificatePem).serialNumber, /^[4-7][0-9A-F]{31}$/i);
    }
  });
});
