/**
 * The configuration files of the real node's daemons, as pure functions of its paths and
 * addresses: containerd's config.toml, the kubelet's and kube-proxy's configuration objects,
 * the CNI network and the resolv.conf the kubelet hands to `dnsPolicy: Default` pods.
 *
 * Each setting that departs from a daemon's default says why; most are what a small node
 * inside a network namespace of a shared machine needs (see docs on the real node in README).
 */

/** The node's directories and sockets; all private to one run (on disk or on the sandbox's own tmpfs). */
export interface NodePaths {
  readonly containerdRoot: string;
  readonly containerdState: string;
  readonly containerdSocket: string;
  readonly cniConfDir: string;
  readonly cniBinDir: string;
  readonly cniDataDir: string;
  readonly runc: string;
  readonly kubeletRoot: string;
  readonly podLogsDir: string;
  readonly resolvConf: string;
  readonly caFile: string;
  readonly kubeletKubeconfig: string;
  readonly kubeProxyKubeconfig: string;
}

export interface NodeSettings {
  readonly nodeName: string;
  readonly nodeIP: string;
  /** The cgroup under which the kubelet puts every pod (`/clusterdns-<run>`; pods go to its kubepods child). */
  readonly cgroupRoot: string;
  readonly podCidr: string;
  readonly serviceCidr: string;
  readonly clusterDns: readonly string[];
  readonly clusterDomain: string;
  readonly sandboxImage: string;
}

/** TOML string literal (paths here never hold quotes, but a config file must not break on one). */
const tomlString = (value: string): string => JSON.stringify(value);

/** containerd 2.x, config version 3. */
export function containerdConfig(paths: NodePaths, settings: NodeSettings): string {
  const runtime = "plugins.'io.containerd.cri.v1.runtime'";
  return [
    'version = 3',
    `root = ${tomlString(paths.containerdRoot)}`,
    `state = ${tomlString(paths.containerdState)}`,
    // Nothing but the CRI and the local image store is used; these would only add start-up
    // time or sockets (NRI's lives under /var/run/nri).
    "disabled_plugins = ['io.containerd.nri.v1.nri', 'io.containerd.snapshotter.v1.btrfs', 'io.containerd.snapshotter.v1.zfs', 'io.containerd.snapshotter.v1.devmapper', 'io.containerd.tracing.processor.v1.otlp', 'io.containerd.internal.v1.tracing']",
    '',
    '[grpc]',
    `  address = ${tomlString(paths.containerdSocket)}`,
    '',
    `[plugins.'io.containerd.cri.v1.images']`,
    "  snapshotter = 'overlayfs'",
    `[plugins.'io.containerd.cri.v1.images'.pinned_images]`,
    // Imported from the archive built here: there is no registry to pull it from.
    `  sandbox = ${tomlString(settings.sandboxImage)}`,
    '',
    `[${runtime}]`,
    // The root user of a small VM may lack CAP_SYS_RESOURCE: without this, runc's attempt to
    // give the pause container a negative oom_score_adj fails every sandbox.
    '  restrict_oom_score_adj = true',
    // No hugetlb hierarchy on such machines.
    '  tolerate_missing_hugetlb_controller = true',
    // Pod network namespaces under containerd's state directory, not /var/run/netns.
    '  netns_mounts_under_state_dir = true',
    `[${runtime}.containerd]`,
    "  default_runtime_name = 'runc'",
    `[${runtime}.containerd.runtimes.runc]`,
    "  runtime_type = 'io.containerd.runc.v2'",
    `[${runtime}.containerd.runtimes.runc.options]`,
    `  BinaryName = ${tomlString(paths.runc)}`,
    // cgroup v1 hierarchies managed by path (the kubelet's cgroupDriver: cgroupfs).
    '  SystemdCgroup = false',
    `[${runtime}.cni]`,
    `  bin_dirs = [${tomlString(paths.cniBinDir)}]`,
    `  conf_dir = ${tomlString(paths.cniConfDir)}`,
    '',
    `[plugins.'io.containerd.grpc.v1.cri']`,
    // kubectl exec and port-forward go through this server; it stays on the node's loopback.
    "  stream_server_address = '127.0.0.1'",
    "  stream_server_port = '0'",
    '',
  ].join('\n');
}

/** A bridge network with host-local addresses; pods reach Services through kube-proxy's rules. */
export function cniConfig(paths: NodePaths, settings: NodeSettings): object {
  return {
    cniVersion: '1.0.0',
    name: 'clusterdns-node',
    plugins: [
      {
        type: 'bridge',
        bridge: 'cni0',
        isGateway: true,
        // Nothing leaves the node's namespace, so there is nothing to masquerade for.
        ipMasq: false,
        // A pod that reaches itself through a Service clusterIP.
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: settings.podCidr }]],
          routes: [{ dst: '0.0.0.0/0' }],
          dataDir: paths.cniDataDir,
        },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
}

/** KubeletConfiguration for one small node on a shared machine. */
export function kubeletConfig(paths: NodePaths, settings: NodeSettings): object {
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    // Machines of this kind have cgroup v1 only; the kubelet refuses it since 1.35 unless told.
    failCgroupV1: false,
    cgroupDriver: 'cgroupfs',
    cgroupRoot: settings.cgroupRoot,
    cgroupsPerQOS: true,
    containerRuntimeEndpoint: `unix://${paths.containerdSocket}`,
    address: settings.nodeIP,
    healthzBindAddress: settings.nodeIP,
    healthzPort: 10248,
    readOnlyPort: 0,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: paths.caFile },
    },
    authorization: { mode: 'Webhook' },
    clusterDNS: settings.clusterDns,
    clusterDomain: settings.clusterDomain,
    resolvConf: paths.resolvConf,
    podLogsDir: paths.podLogsDir,
    // The machine's disk and memory are shared with other work: never evict or collect images
    // because of what others use (the images here cannot be pulled again).
    failSwapOn: false,
    evictionHard: { 'memory.available': '0%', 'nodefs.available': '0%', 'nodefs.inodesFree': '0%', 'imagefs.available': '0%', 'imagefs.inodesFree': '0%' },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    // Pods report status quickly: tests wait on it.
    nodeStatusUpdateFrequency: '4s',
    syncFrequency: '10s',
    serializeImagePulls: false,
    // Only what the node must do: no pods from files, no per-container log rotation surprises.
    staticPodPath: '',
    containerLogMaxSize: '10Mi',
    maxPods: 110,
  };
}

/** KubeProxyConfiguration: nftables mode inside the node's namespace. */
export function kubeProxyConfig(paths: NodePaths, settings: NodeSettings): object {
  return {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig: paths.kubeProxyKubeconfig },
    mode: 'nftables',
    hostnameOverride: settings.nodeName,
    bindAddress: settings.nodeIP,
    healthzBindAddress: `${settings.nodeIP}:10256`,
    metricsBindAddress: `${settings.nodeIP}:10249`,
    clusterCIDR: settings.podCidr,
    // The conntrack table and its timeouts are global to the machine: leave them alone.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
    // Services appear in the rules within a second (tests wait for it, not for a resync).
    nftables: { minSyncPeriod: '0s', syncPeriod: '30s' },
  };
}

/** What `dnsPolicy: Default` pods (the resolvers) get: the node's own upstream, inside its namespace. */
export function resolvConf(nameservers: readonly string[]): string {
  return nameservers.map((ip) => `nameserver ${ip}\n`).join('') + 'options timeout:1 attempts:2\n';
}
