import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { locateBinaries } from '../../../src/local/binaries.ts';
import { COREDNS_RELEASES, NEWEST_COREDNS, OLDEST_COREDNS } from '../../../src/coredns/releases.ts';
import { dockerfileNodeVersion, parseVersionsEnv, readVersions } from '../../../src/local/repo.ts';

const pinned = parseVersionsEnv('# pinned\nKUBERNETES_VERSION=v1.37.2\nETCD_VERSION=v3.7.3\n\nKWOK_VERSION=v0.8.0\nCOREDNS_VERSION=v1.15.0\nCONTAINERD_VERSION=v2.4.2\nPAUSE_IMAGE=registry.k8s.io/pause:3.10.2\n'
  + 'COREDNS_OLDEST_VERSION=v1.8.4\nKUBEADM_COREDNS_VERSION=v1.14.6\n');
const versions = { ...pinned, node: '24.21.0' };

describe('binaries', () => {
  test('versions.env is read key by key, ignoring comments', () => {
    assert.deepEqual(pinned, {
      kubernetes: 'v1.37.2', etcd: 'v3.7.3', kwok: 'v0.8.0', coredns: 'v1.15.0', containerd: 'v2.4.2', pauseImage: 'registry.k8s.io/pause:3.10.2',
      corednsOldest: 'v1.8.4', kubeadmCoredns: 'v1.14.6',
    });
  });

  test('the CoreDNS releases the tests build are the ends of the engine\'s range, and kubeadm\'s is in it', () => {
    const fromFile = readVersions();
    assert.equal(fromFile.coredns, `v${NEWEST_COREDNS}`, 'the reference CoreDNS is the newest the engine knows');
    assert.equal(fromFile.corednsOldest, `v${OLDEST_COREDNS}`);
    assert.ok((COREDNS_RELEASES as readonly string[]).includes(fromFile.kubeadmCoredns.replace(/^v/, '')));
  });

  test('a missing version is an error that names the key', () => {
    assert.throws(() => parseVersionsEnv('KUBERNETES_VERSION=v1.37.2\n'), /ETCD_VERSION/);
  });

  test('binaries live in the cache under <component>-<version>', () => {
    const paths = locateBinaries(versions, { CLUSTERDNS_CACHE: '/cache' }, () => false);
    assert.equal(paths.kubeApiserver, '/cache/kubernetes-v1.37.2/kube-apiserver');
    assert.equal(paths.kubectl, '/cache/kubernetes-v1.37.2/kubectl');
    assert.equal(paths.etcd, '/cache/etcd-v3.7.3/etcd');
    assert.equal(paths.kwokStages, '/cache/kwok-v0.8.0/stages.yaml');
  });

  test('the real node\'s parts have cache directories of their own, beside the control plane\'s', () => {
    const paths = locateBinaries(versions, { CLUSTERDNS_CACHE: '/cache' }, () => false);
    assert.equal(paths.kubelet, '/cache/kubernetes-node-v1.37.2/kubelet');
    assert.equal(paths.pauseArchive, '/cache/kubernetes-node-v1.37.2/pause.oci.tar');
    assert.equal(paths.ctr, '/cache/containerd-v2.4.2/ctr');
    assert.equal(paths.nodeBaseRootfs, '/cache/node-base-24.21.0-bookworm/rootfs.tar');
  });

  test('the image base follows the Node.js release the Dockerfile names', () => {
    assert.equal(dockerfileNodeVersion('FROM x\nARG NODE_IMAGE=node:24.21.0-bookworm-slim\n'), '24.21.0');
    assert.throws(() => dockerfileNodeVersion('ARG NODE_IMAGE=node:24-alpine\n'), /NODE_IMAGE/);
  });

  test('KUBEBUILDER_ASSETS wins for the binaries it has, the cache serves the rest', () => {
    const present = new Set(['/assets/kube-apiserver', '/assets/etcd', '/assets/kubectl']);
    const paths = locateBinaries(versions, { CLUSTERDNS_CACHE: '/cache', KUBEBUILDER_ASSETS: '/assets' }, (p) => present.has(p));
    assert.deepEqual([paths.kubeApiserver, paths.etcd, paths.kubectl], ['/assets/kube-apiserver', '/assets/etcd', '/assets/kubectl']);
    assert.equal(paths.kwok, '/cache/kwok-v0.8.0/kwok');
    assert.equal(paths.kubeScheduler, '/cache/kubernetes-v1.37.2/kube-scheduler');
  });
});
