/**
 * Leader election between real operator processes on a real Lease: one leads and only it
 * reconciles; when it is killed another takes over after the lease duration; a stopped
 * leader hands over at once; a leader that loses its Lease stops and exits non-zero.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { ClusterDNSStatus } from '../../src/api/clusterdns.ts';
import { CLUSTERDNS_PATH } from '../../src/api/names.ts';
import { LEASE_NAME, microTime } from '../../src/controller/leader-election.ts';
import { controlPlane, createNamespace, eventually, kubeClient, kubectl, kubectlOk } from '../support/cluster.ts';
import { OperatorProcess, SUITE_LABEL, installCrd, installRbac } from '../support/operator.ts';
import type { InstalledRbac } from '../support/operator.ts';

interface Lease {
  metadata: { resourceVersion: string };
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; renewTime?: string };
}

const name = `leader-${randomBytes(3).toString('hex')}`;

/** The identity a replica logged when it started. */
function identityOf(replica: OperatorProcess): string {
  const match = /"identity":"([^"]+)"[^\n]*"msg":"starting the operator"/.exec(replica.logs);
  assert.ok(match?.[1], 'the replica logs its identity');
  return match[1];
}

describe('operator replicas with leader election', () => {
  let ns = '';
  let rbac: InstalledRbac | undefined;
  const replicas: OperatorProcess[] = [];
  const client = kubeClient();
  const leasePath = (): string => `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${LEASE_NAME}`;
  const start = async (): Promise<OperatorProcess> => {
    const replica = await OperatorProcess.start({ kubeconfig: rbac!.operatorKubeconfig, namespace: ns, selector: `${SUITE_LABEL}=${ns}`, leaderElect: true });
    replicas.push(replica);
    return replica;
  };
  const leaders = async (among: readonly OperatorProcess[]): Promise<OperatorProcess[]> => {
    const leading = await Promise.all(among.map(async (r) => (r.exitCode === undefined ? r.leading() : false)));
    return among.filter((_, i) => leading[i]);
  };
  const status = async (): Promise<ClusterDNSStatus | undefined> => (await client.request<{ status?: ClusterDNSStatus }>('GET', `${CLUSTERDNS_PATH}/${name}`)).status;
  const waitReady = (replicasWanted: number): Promise<void> => eventually(async () => {
    const s = await status();
    assert.equal(s?.conditions?.find((c) => c.type === 'Available')?.status, 'True');
    assert.equal(s.readyReplicas, replicasWanted);
  }, { timeoutMs: 60_000, what: `${name} Available with ${replicasWanted} ready` });

  before(async () => {
    await installCrd(controlPlane());
    ns = await createNamespace('clusterdns-leader');
    rbac = await installRbac(controlPlane(), ns);
    await start();
    await start();
  });

  after(async () => {
    for (const replica of replicas) await replica.stop();
    await kubectl(['delete', 'cdns', name, '--ignore-not-found', '--wait=false']);
    await rbac?.uninstall();
    if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
  });

  test('one of two replicas leads, holds the Lease, and is the only one that reconciles', async () => {
    const [leader] = await eventually(async () => {
      const found = await leaders(replicas);
      assert.equal(found.length, 1, 'exactly one leader');
      return found;
    }, { timeoutMs: 30_000, what: 'one leader' });
    const follower = replicas.find((r) => r !== leader)!;
    assert.equal((await client.request<Lease>('GET', leasePath())).spec.holderIdentity, identityOf(leader!));

    await kubectlOk(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS',
      metadata: { name, labels: { [SUITE_LABEL]: ns } }, spec: { version: '0.1.0', replicas: 2 },
    }));
    await waitReady(2);
    assert.ok((await leader!.metric('controller_runtime_reconcile_total')) > 0, 'the leader reconciled');
    assert.equal(await follower.metric('controller_runtime_reconcile_total'), 0, 'the follower did not');
    assert.equal(await follower.metric('clusterdns_operator_apiserver_writes_total'), 0, 'nor wrote anything');
    assert.equal(await follower.leading(), false);
  });

  test('when the leader is killed, the other takes over and reconciles', async (t) => {
    const [leader] = await leaders(replicas);
    const follower = replicas.find((r) => r !== leader && r.exitCode === undefined)!;
    leader!.kill();
    const killedAt = Date.now();
    await eventually(async () => { assert.ok(await follower.leading()); }, { timeoutMs: 45_000, what: 'the follower leads' });
    t.diagnostic(`took over ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill (lease duration 15 s)`);
    assert.equal((await client.request<Lease>('GET', leasePath())).spec.holderIdentity, identityOf(follower));
    await kubectlOk(['patch', 'cdns', name, '--type=merge', '-p', '{"spec":{"replicas":1}}']);
    await waitReady(1);
    assert.ok((await follower.metric('controller_runtime_reconcile_total')) > 0);
  });

  test('a leader that is stopped hands the Lease over at once, and exits 0', async () => {
    const [leader] = await leaders(replicas);
    const successor = await start();
    assert.equal(await successor.leading(), false);
    await leader!.stop();
    assert.equal(leader!.exitCode, 0);
    const stoppedAt = Date.now();
    await eventually(async () => { assert.ok(await successor.leading()); }, { timeoutMs: 45_000, what: 'the successor leads' });
    assert.ok(Date.now() - stoppedAt < 12_000, 'sooner than the 15 s a dead leader\'s Lease takes to expire');
  });

  test('a leader whose Lease is taken from it stops and exits non-zero', async () => {
    const [leader] = await leaders(replicas);
    const lease = await client.request<Lease>('GET', leasePath());
    await client.request('PUT', leasePath(), {
      body: { ...lease, spec: { ...lease.spec, holderIdentity: 'intruder', leaseDurationSeconds: 60, renewTime: microTime(Date.now()) } },
    });
    const exit = await leader!.waitForExit(40_000);
    assert.equal(exit?.code, 1);
    assert.match(leader!.logs, /leadership lost/);
  });
});
