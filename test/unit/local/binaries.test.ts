import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { locateBinaries } from '../../../src/local/binaries.ts';
import { COREDNS_RELEASES, NEWEST_COREDNS, OLDEST_COREDNS } from '../../../src/coredns/releases.ts';
import { parseVersionsEnv, readVersions } from '../../../src/local/repo.ts';

const versions = parseVersionsEnv('# pinned\nKUBERNETES_VERSION=v1.37.2\nETCD_VERSION=v3.7.3\n\nKWOK_VERSION=v0.8.0\nCOREDNS_VERSION=v1.15.0\n'
  + 'COREDNS_OLDEST_VERSION=v1.8.4\nKUBEADM_COREDNS_VERSION=v1.14.6\n');

describe('binaries', () => {
  test('versions.env is read key by key, ignoring comments', () => {
    assert.deepEqual(versions, { kubernetes: 'v1.37.2', etcd: 'v3.7.3', kwok: 'v0.8.0', coredns: 'v1.15.0', corednsOldest: 'v1.8.4', kubeadmCoredns: 'v1.14.6' });
  });

  test('the CoreDNS releases the tests build are the ends of the engine\'s range, and kubeadm\'s is in it', () => {
    const pinned = readVersions();
    assert.equal(pinned.coredns, `v${NEWEST_COREDNS}`, 'the reference CoreDNS is the newest the engine knows');
    assert.equal(pinned.corednsOldest, `v${OLDEST_COREDNS}`);
    assert.ok((COREDNS_RELEASES as readonly string[]).includes(pinned.kubeadmCoredns.replace(/^v/, '')));
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

  test('KUBEBUILDER_ASSETS wins for the binaries it has, the cache serves the rest', () => {
    const present = new Set(['/assets/kube-apiserver', '/assets/etcd', '/assets/kubectl']);
    const paths = locateBinaries(versions, { CLUSTERDNS_CACHE: '/cache', KUBEBUILDER_ASSETS: '/assets' }, (p) => present.has(p));
    assert.deepEqual([paths.kubeApiserver, paths.etcd, paths.kubectl], ['/assets/kube-apiserver', '/assets/etcd', '/assets/kubectl']);
    assert.equal(paths.kwok, '/cache/kwok-v0.8.0/kwok');
    assert.equal(paths.kubeScheduler, '/cache/kubernetes-v1.37.2/kube-scheduler');
  });
});
