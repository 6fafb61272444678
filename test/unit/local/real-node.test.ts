/**
 * The real node's pure parts: what each daemon is told, what the machine must have, where the
 * veth's addresses come from, and which files key the image build.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { containerdConfig, cniConfig, kubeletConfig, kubeProxyConfig, resolvConf } from '../../../src/local/node-config.ts';
import type { NodePaths, NodeSettings } from '../../../src/local/node-config.ts';
import { missingRequirements, NODE_COMMANDS } from '../../../src/local/node-requirements.ts';
import type { HostFacts } from '../../../src/local/node-requirements.ts';
import { overlaps, pickAddresses } from '../../../src/local/node-sandbox.ts';
import { dockerfileInputs } from '../../../src/local/node-images.ts';

const paths: NodePaths = {
  containerdRoot: '/run-dir/containerd/root', containerdState: '/run-dir/containerd/state', containerdSocket: '/run-dir/containerd/containerd.sock',
  cniConfDir: '/run-dir/cni/net.d', cniBinDir: '/usr/lib/cni', cniDataDir: '/run-dir/cni/ipam', runc: '/usr/sbin/runc',
  kubeletRoot: '/run-dir/kubelet', podLogsDir: '/run-dir/pod-logs', resolvConf: '/run-dir/resolv.conf', caFile: '/run-dir/ca.crt',
  kubeletKubeconfig: '/run-dir/kubelet.kubeconfig', kubeProxyKubeconfig: '/run-dir/kube-proxy.kubeconfig',
};
const settings: NodeSettings = {
  nodeName: 'clusterdns-node', nodeIP: '198.18.0.2', cgroupRoot: '/clusterdns-abc123', podCidr: '10.244.0.0/24', serviceCidr: '10.96.0.0/12',
  clusterDns: [], clusterDomain: 'cluster.local', sandboxImage: 'registry.k8s.io/pause:3.10.2',
};

describe('real node configuration', () => {
  test('containerd keeps everything under the run directory and works around a root without CAP_SYS_RESOURCE', () => {
    const toml = containerdConfig(paths, settings);
    for (const line of [
      'version = 3', 'root = "/run-dir/containerd/root"', 'state = "/run-dir/containerd/state"', '  address = "/run-dir/containerd/containerd.sock"',
      '  sandbox = "registry.k8s.io/pause:3.10.2"', '  restrict_oom_score_adj = true', '  netns_mounts_under_state_dir = true',
      '  SystemdCgroup = false', '  BinaryName = "/usr/sbin/runc"', '  bin_dirs = ["/usr/lib/cni"]', '  conf_dir = "/run-dir/cni/net.d"',
    ]) assert.ok(toml.split('\n').includes(line), `config.toml has: ${line}`);
  });

  test('the kubelet runs cgroup v1 by path under the run\'s own cgroup, and never evicts for what others use', () => {
    const config = kubeletConfig(paths, settings) as Record<string, unknown>;
    assert.equal(config['failCgroupV1'], false);
    assert.equal(config['cgroupDriver'], 'cgroupfs');
    assert.equal(config['cgroupRoot'], '/clusterdns-abc123');
    assert.equal(config['containerRuntimeEndpoint'], 'unix:///run-dir/containerd/containerd.sock');
    assert.deepEqual(Object.values(config['evictionHard'] as object), ['0%', '0%', '0%', '0%', '0%']);
    assert.equal(config['imageGCHighThresholdPercent'], 100);
    assert.equal(config['failSwapOn'], false);
    assert.equal(config['resolvConf'], '/run-dir/resolv.conf');
    assert.equal(config['podLogsDir'], '/run-dir/pod-logs');
  });

  test('kube-proxy leaves the machine-wide conntrack settings alone', () => {
    const config = kubeProxyConfig(paths, settings) as { conntrack: Record<string, unknown>; mode: string; clusterCIDR: string };
    assert.deepEqual(config.conntrack, { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' });
    assert.equal(config.clusterCIDR, '10.244.0.0/24');
  });

  test('the CNI network is a bridge with addresses from the pod range, allocated where the node keeps its data', () => {
    const { plugins } = cniConfig(paths, settings) as { plugins: Array<{ type: string; ipam?: { ranges: unknown; dataDir: string } }> };
    const bridge = plugins.find((p) => p.type === 'bridge');
    assert.deepEqual(bridge?.ipam, { type: 'host-local', ranges: [[{ subnet: '10.244.0.0/24' }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: '/run-dir/cni/ipam' });
  });

  test('resolv.conf names the node\'s upstream', () => {
    assert.equal(resolvConf(['198.18.0.2']), 'nameserver 198.18.0.2\noptions timeout:1 attempts:2\n');
  });
});

describe('real node requirements', () => {
  const ready: HostFacts = {
    platform: 'linux', uid: 0, commands: new Set(Object.keys(NODE_COMMANDS)), cniPlugins: new Set(['bridge', 'host-local', 'loopback', 'portmap']),
    filesystems: new Set(['overlay', 'ext4']), cgroupControllers: new Set(['cpu', 'cpuset', 'memory', 'pids']), bridgeNetfilter: true,
  };
  const rows: Array<[string, Partial<HostFacts>, RegExp | undefined]> = [
    ['a machine that has everything', {}, undefined],
    ['not Linux', { platform: 'darwin' }, /a Linux machine \(this is darwin\)/],
    ['not root', { uid: 1000 }, /^root: /],
    ['no runc', { commands: new Set(Object.keys(NODE_COMMANDS).filter((c) => c !== 'runc')) }, /the command runc \(Debian package runc/],
    ['no portmap plugin', { cniPlugins: new Set(['bridge', 'host-local', 'loopback']) }, /the CNI plugins portmap in \/usr\/lib\/cni/],
    ['no overlay', { filesystems: new Set(['ext4']) }, /overlay file system/],
    ['no memory controller', { cgroupControllers: new Set(['cpu', 'cpuset', 'pids']) }, /cgroup controllers memory/],
    ['no br_netfilter', { bridgeNetfilter: false }, /br_netfilter/],
  ];
  for (const [title, change, expected] of rows) {
    test(`${title}: ${expected ? 'names what is missing' : 'nothing is missing'}`, () => {
      const missing = missingRequirements({ ...ready, ...change });
      if (!expected) assert.deepEqual(missing, []);
      else assert.ok(missing.some((m) => expected.test(m)), missing.join('\n'));
    });
  }
});

describe('real node sandbox addresses', () => {
  test('a /30 in 198.18.0.0/15: the machine\'s end first, the node\'s second', () => {
    assert.deepEqual(pickAddresses([], () => 0), { host: '198.18.0.1', node: '198.18.0.2', prefixLength: 30 });
    assert.deepEqual(pickAddresses([], () => 2 ** 15 - 1), { host: '198.19.255.253', node: '198.19.255.254', prefixLength: 30 });
  });

  test('a block that a route of this machine covers is skipped', () => {
    let call = 0;
    const picked = pickAddresses(['198.18.0.0/24', '192.0.2.0/24'], () => (call++ === 0 ? 1 : 64));
    assert.equal(picked.host, '198.18.1.1');
  });

  test('overlaps compares the shorter prefix', () => {
    assert.equal(overlaps('10.0.0.0/8', '10.244.0.0/16'), true);
    assert.equal(overlaps('198.18.0.4/30', '198.18.0.0/30'), false);
    assert.equal(overlaps('0.0.0.0/0', '198.18.0.0/30'), true);
  });
});

describe('image build inputs', () => {
  test('the files that the Dockerfile\'s COPY steps take from the context, not from a stage', () => {
    const dockerfile = 'FROM x AS build\nCOPY package.json package-lock.json ./\nCOPY src ./src\nCOPY --chown=1:1 tsconfig.json \\\n  tsconfig.build.json ./\nFROM x\nCOPY --from=build /src/dist ./dist\n';
    assert.deepEqual(dockerfileInputs(dockerfile), ['package-lock.json', 'package.json', 'src', 'tsconfig.build.json', 'tsconfig.json']);
  });
});
