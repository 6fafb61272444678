/** The Lease decision of leader election, as a pure function of the Lease, the clocks and the identity. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decideLease, microTime, retryDelayMs } from '../../../src/controller/leader-election.ts';
import type { LeaseSpec } from '../../../src/controller/leader-election.ts';

const LEASE_MS = 15_000;
const t0 = Date.parse('2026-01-01T00:00:00.000Z');

const held = (holder: string, overrides: Partial<LeaseSpec> = {}): LeaseSpec => ({
  holderIdentity: holder, leaseDurationSeconds: 15, acquireTime: microTime(t0 - 60_000), renewTime: microTime(t0 - 1000), leaseTransitions: 3, ...overrides,
});

describe('decideLease', () => {
  test('takes a Lease that does not exist yet, as the first holder', () => {
    assert.deepEqual(decideLease(undefined, t0, t0, 'me', LEASE_MS), {
      take: true,
      spec: { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: '2026-01-01T00:00:00.000000Z', renewTime: '2026-01-01T00:00:00.000000Z', leaseTransitions: 0 },
    });
  });

  test('leaves a Lease that another holder renewed less than a lease duration ago (by our clock)', () => {
    assert.deepEqual(decideLease(held('other'), t0, t0 + 14_999, 'me', LEASE_MS), { take: false });
  });

  test('takes a Lease whose holder has not renewed it for a lease duration, counting a transition', () => {
    const decision = decideLease(held('other'), t0, t0 + 15_000, 'me', LEASE_MS);
    assert.ok(decision.take);
    assert.equal(decision.spec.holderIdentity, 'me');
    assert.equal(decision.spec.leaseTransitions, 4);
    assert.equal(decision.spec.acquireTime, microTime(t0 + 15_000));
  });

  test('judges expiry by when this replica saw the Lease change, not by the holder\'s clock', () => {
    // The holder's renewTime says an hour ago (its clock is behind), but we saw it change just now.
    const skewed = held('other', { renewTime: microTime(t0 - 3_600_000) });
    assert.deepEqual(decideLease(skewed, t0, t0 + 1000, 'me', LEASE_MS), { take: false });
  });

  test('uses the duration written in the Lease: a released Lease (1 s) is free a second after release', () => {
    const released = held('', { leaseDurationSeconds: 1 });
    assert.ok(decideLease(released, t0, t0, 'me', LEASE_MS).take, 'an empty holder is free at once');
    assert.deepEqual(decideLease(held('other', { leaseDurationSeconds: 1 }), t0, t0 + 500, 'me', LEASE_MS), { take: false });
    assert.ok(decideLease(held('other', { leaseDurationSeconds: 1 }), t0, t0 + 1000, 'me', LEASE_MS).take);
  });

  test('renews its own Lease, keeping acquireTime and the transition count', () => {
    const decision = decideLease(held('me'), t0, t0 + 2000, 'me', LEASE_MS);
    assert.ok(decision.take);
    assert.equal(decision.spec.acquireTime, microTime(t0 - 60_000));
    assert.equal(decision.spec.renewTime, microTime(t0 + 2000));
    assert.equal(decision.spec.leaseTransitions, 3);
  });
});

describe('microTime', () => {
  test('writes RFC 3339 with microseconds, as metav1.MicroTime', () => {
    assert.equal(microTime(Date.parse('2026-03-04T05:06:07.089Z')), '2026-03-04T05:06:07.089000Z');
  });
});

describe('retryDelayMs', () => {
  test('waits the retry period, stretched by up to a fifth so that replicas do not ask in lockstep', () => {
    assert.equal(retryDelayMs(2000, () => 0), 2000);
    assert.equal(retryDelayMs(2000, () => 0.5), 2200);
    assert.equal(retryDelayMs(2000, () => 1), 2400);
  });
});
