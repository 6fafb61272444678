/** Which CoreDNS versions the coredns engine runs, and with which Corefile dialect. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { COREDNS_RELEASES, compareReleases, dialectOf, NEWEST_COREDNS, OLDEST_COREDNS, refuseCoreDNSVersion } from '../../../src/coredns/releases.ts';

describe('CoreDNS releases', () => {
  test('are listed oldest first, without duplicates', () => {
    const sorted = [...COREDNS_RELEASES].sort(compareReleases);
    assert.deepEqual(sorted, [...COREDNS_RELEASES]);
    assert.equal(new Set(COREDNS_RELEASES).size, COREDNS_RELEASES.length);
    assert.equal(OLDEST_COREDNS, COREDNS_RELEASES[0]);
    assert.equal(NEWEST_COREDNS, COREDNS_RELEASES.at(-1));
  });

  test('compare as numbers, not text', () => {
    assert.ok(compareReleases('1.10.0', '1.9.4') > 0);
    assert.ok(compareReleases('1.9.4', '1.9.10') < 0);
    assert.equal(compareReleases('1.11.1', '1.11.1'), 0);
  });

  const accepted: Array<[string, string, boolean]> = [
    ['the oldest supported', OLDEST_COREDNS, false],
    ['the newest known', NEWEST_COREDNS, false],
    ['kubeadm v1.37\'s', '1.14.6', false],
    ['a release after the newest known, with an image of its own', '1.16.0', true],
    ['a release without a published image, with an image of its own', '1.11.2', true],
  ];
  for (const [title, version, customImage] of accepted) {
    test(`runs ${title} (${version}${customImage ? ', spec.image set' : ''})`, () => { assert.equal(refuseCoreDNSVersion(version, customImage), undefined); });
  }

  const refused: Array<[string, string, boolean, 'UnsupportedVersion' | 'UnknownVersion', RegExp]> = [
    ['the newest release that reads only v1beta1 EndpointSlices', '1.8.3', false, 'UnsupportedVersion',
      /^spec\.version 1\.8\.3 is older than the oldest CoreDNS release this operator runs \(supported: CoreDNS 1\.8\.4 to 1\.15\.0\): .*v1beta1/],
    ['a release of the proxy plugin era', '1.2.6', false, 'UnsupportedVersion', /^spec\.version 1\.2\.6 is older/],
    ['an old release even with an image of its own', '1.6.7', true, 'UnsupportedVersion', /^spec\.version 1\.6\.7 is older/],
    ['a version between releases that was never released', '1.9.7', false, 'UnknownVersion', /^spec\.version 1\.9\.7 is not a CoreDNS release; the nearest are 1\.9\.4 and 1\.10\.0$/],
    ['a release newer than the operator knows, without an image', '1.16.0', false, 'UnknownVersion', /^spec\.version 1\.16\.0 is newer than the newest CoreDNS release this operator knows \(1\.15\.0\); set spec\.image/],
    ['a release whose image was never published', '1.11.2', false, 'UnknownVersion', /^spec\.version 1\.11\.2 was never published as an image .*use 1\.11\.3/],
    ['a version that is no X.Y.Z', 'v1.11.1', false, 'UnknownVersion', /^spec\.version v1\.11\.1 is not a CoreDNS release \(X\.Y\.Z/],
  ];
  for (const [title, version, customImage, reason, message] of refused) {
    test(`refuses ${title} (${version}): ${reason}, naming spec.version`, () => {
      const refusal = refuseCoreDNSVersion(version, customImage);
      assert.equal(refusal?.reason, reason);
      assert.match(refusal.message, message);
    });
  }

  test('every known release has a dialect of its own or of the release before it', () => {
    for (const release of COREDNS_RELEASES) assert.equal(dialectOf(release).release, release);
    assert.equal(dialectOf('1.99.0').release, NEWEST_COREDNS, 'newer: the newest known');
    assert.equal(dialectOf('1.9.7').release, '1.9.4', 'between releases: the one before');
    assert.equal(dialectOf('1.0.0').release, OLDEST_COREDNS, 'older: the oldest');
  });
});
