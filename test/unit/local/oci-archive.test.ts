/**
 * Image archives written without a build tool: GNU tar (an independent reader) must read the
 * layer as written, extended attributes included, and the OCI layout must hold together
 * (every descriptor's digest and size is its blob's). CoreDNS's image is laid out as the
 * official one and rebuilt only when its binary changes.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { buildCorednsImage, corednsImageName, corednsLayer, NET_BIND_SERVICE_XATTR, releaseOf } from '../../../src/local/coredns-image.ts';
import { ociImageArchive, sha256, tarArchive } from '../../../src/local/oci-archive.ts';
import type { LayerEntry } from '../../../src/local/oci-archive.ts';

const work = mkdtempSync(join(tmpdir(), 'clusterdns-oci-test-'));
after(() => { rmSync(work, { recursive: true, force: true }); });

function write(name: string, data: Buffer): string {
  const path = join(work, name);
  writeFileSync(path, data);
  return path;
}

const tar = (args: readonly string[]): string => execFileSync('tar', args, { encoding: 'utf8' });

describe('tar archives', () => {
  const long = `${'d'.repeat(80)}/${'e'.repeat(60)}/file`;
  const veryLong = `${'x'.repeat(200)}/${'y'.repeat(120)}`;
  const entries: LayerEntry[] = [
    { type: 'dir', path: 'etc', mode: 0o755 },
    { type: 'file', path: 'etc/passwd', mode: 0o644, data: Buffer.from('root:x:0:0::/:/sbin/nologin\n') },
    { type: 'dir', path: 'home/nonroot', mode: 0o700, uid: 65532, gid: 65532 },
    { type: 'dir', path: 'tmp', mode: 0o1777 },
    { type: 'file', path: 'bin/tool', mode: 0o755, data: Buffer.alloc(1500, 7), xattrs: { 'security.capability': NET_BIND_SERVICE_XATTR } },
    { type: 'file', path: long, mode: 0o600, data: Buffer.from('split into prefix and name') },
    { type: 'file', path: veryLong, mode: 0o600, data: Buffer.from('a PAX path') },
  ];
  const archive = write('layer.tar', tarArchive(entries));

  test('GNU tar lists every entry with its type, mode and owner', () => {
    const lines = tar(['--numeric-owner', '-tvf', archive]).trim().split('\n');
    const listed = lines.map((line) => { const w = line.split(/\s+/); return `${w[0] ?? ''} ${w[1] ?? ''} ${w.at(-1) ?? ''}`; });
    assert.deepEqual(listed, [
      'drwxr-xr-x 0/0 etc/', '-rw-r--r-- 0/0 etc/passwd', 'drwx------ 65532/65532 home/nonroot/', 'drwxrwxrwt 0/0 tmp/',
      '-rwxr-xr-x 0/0 bin/tool', `-rw------- 0/0 ${long}`, `-rw------- 0/0 ${veryLong}`,
    ]);
  });

  test('file contents come back byte for byte, also past a block boundary and under a long name', () => {
    assert.equal(tar(['-xOf', archive, 'etc/passwd']), 'root:x:0:0::/:/sbin/nologin\n');
    assert.deepEqual(execFileSync('tar', ['-xOf', archive, 'bin/tool']), Buffer.alloc(1500, 7));
    assert.equal(tar(['-xOf', archive, long]), 'split into prefix and name');
    assert.equal(tar(['-xOf', archive, veryLong]), 'a PAX path');
  });

  test('extended attributes travel as SCHILY.xattr PAX records', () => {
    const listing = tar(['--xattrs', '--xattrs-include=*', '-tvvf', archive]);
    assert.match(listing, /bin\/tool\n\s+x: 20 security\.capability\n/);
  });

  test('the same entries give the same bytes', () => {
    assert.ok(tarArchive(entries).equals(readFileSync(archive)));
  });
});

describe('OCI image archives', () => {
  const { archive, manifestDigest } = ociImageArchive({
    name: 'registry.example/team/tool:v1.2.3',
    layer: [{ type: 'file', path: 'tool', mode: 0o755, data: Buffer.from('#!/bin/true\n') }],
    createdBy: 'a test',
    config: { user: 'nonroot:nonroot', entrypoint: ['/tool'], exposedPorts: ['53/udp'], labels: { a: 'b' } },
  });
  const dir = join(work, 'layout');
  mkdirSync(dir);
  execFileSync('tar', ['-xf', write('image.tar', archive), '-C', dir]);
  const blob = (digest: string): Buffer => readFileSync(join(dir, 'blobs', 'sha256', digest.replace(/^sha256:/, '')));
  interface Descriptor { digest: string; size: number; mediaType: string }

  test('index → manifest → config and layer: each descriptor names its blob by digest and size', () => {
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Array<Descriptor & { annotations: Record<string, string> }> };
    const [entry] = index.manifests;
    assert.ok(entry);
    assert.equal(entry.digest, manifestDigest);
    assert.equal(entry.annotations['io.containerd.image.name'], 'registry.example/team/tool:v1.2.3');
    assert.equal(entry.annotations['org.opencontainers.image.ref.name'], 'v1.2.3');
    const manifestBlob = blob(entry.digest);
    assert.equal(`sha256:${sha256(manifestBlob)}`, entry.digest);
    assert.equal(manifestBlob.length, entry.size);
    const manifest = JSON.parse(manifestBlob.toString()) as { config: Descriptor; layers: Descriptor[] };
    for (const d of [manifest.config, ...manifest.layers]) {
      assert.equal(`sha256:${sha256(blob(d.digest))}`, d.digest);
      assert.equal(blob(d.digest).length, d.size);
    }
    const config = JSON.parse(blob(manifest.config.digest).toString()) as { config: Record<string, unknown>; rootfs: { diff_ids: string[] } };
    assert.deepEqual(config.rootfs.diff_ids, manifest.layers.map((l) => l.digest), 'an uncompressed layer is its own diff id');
    assert.deepEqual(config.config, { User: 'nonroot:nonroot', Entrypoint: ['/tool'], WorkingDir: '/', ExposedPorts: { '53/udp': {} }, Labels: { a: 'b' } });
  });
});

describe('CoreDNS\'s image', () => {
  test('is named as kubeadm names it, with or without the v', () => {
    assert.equal(corednsImageName('1.15.0'), 'registry.k8s.io/coredns/coredns:v1.15.0');
    assert.equal(corednsImageName('v1.14.6'), 'registry.k8s.io/coredns/coredns:v1.14.6');
    assert.equal(releaseOf('v1.8.4'), '1.8.4');
  });

  test('has the official image\'s files: the binary with its capability, nonroot 65532, the CA bundle, /tmp', () => {
    const layer = corednsLayer(Buffer.from('binary'), Buffer.from('certs'));
    const byPath = new Map(layer.map((e) => [e.path, e]));
    const binary = byPath.get('coredns');
    assert.ok(binary?.type === 'file');
    assert.equal(binary.mode, 0o755);
    // struct vfs_cap_data revision 2 with the effective flag, permitted = bit 10 (CAP_NET_BIND_SERVICE).
    assert.equal(binary.xattrs?.['security.capability']?.toString('hex'), '0100000200040000000000000000000000000000');
    const passwd = byPath.get('etc/passwd');
    assert.ok(passwd?.type === 'file');
    assert.match(passwd.data.toString(), /^nonroot:x:65532:65532:/m);
    assert.equal(byPath.get('tmp')?.mode, 0o1777);
    assert.equal(byPath.get('home/nonroot')?.uid, 65532);
    assert.ok(byPath.has('etc/ssl/certs/ca-certificates.crt'));
    assert.ok(!corednsLayer(Buffer.from('binary'), undefined).some((e) => e.path.startsWith('etc/ssl')), 'no bundle where the machine has none');
  });

  test('is written once per binary: the same binary reuses the archive, a new one writes another', () => {
    const cache = join(work, 'cache');
    mkdirSync(join(cache, 'coredns-v9.8.7'), { recursive: true });
    const binary = join(cache, 'coredns-v9.8.7', 'coredns');
    writeFileSync(binary, 'first build');
    const first = buildCorednsImage({ version: '9.8.7', cacheDir: cache });
    assert.equal(first.name, 'registry.k8s.io/coredns/coredns:v9.8.7');
    assert.ok(first.archive.startsWith(join(cache, 'images', 'registry.k8s.io_coredns_coredns_v9.8.7-')));
    const again = buildCorednsImage({ version: 'v9.8.7', cacheDir: cache });
    assert.equal(again.archive, first.archive);
    assert.equal(again.buildMs, 0);
    writeFileSync(binary, 'second build');
    assert.notEqual(buildCorednsImage({ version: '9.8.7', cacheDir: cache }).archive, first.archive);
    assert.throws(() => buildCorednsImage({ version: '1.0.0', cacheDir: cache }), /no CoreDNS 1\.0\.0 binary at .*coredns-v1\.0\.0\/coredns: build it with hack\/build-binaries\.sh/);
  });
});
