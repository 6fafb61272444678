/** The fake nodes that KWOK plays the kubelet for. */

export interface FakeNodeOptions {
  /** Extra labels (tests mark their own nodes, to find and delete them). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Taints, to keep other pods off a node. */
  readonly taints?: ReadonlyArray<{ readonly key: string; readonly value?: string; readonly effect: 'NoSchedule' | 'NoExecute' }>;
  /** CPU capacity and allocatable, such as `4` or `3500m`; KWOK's default (1000 cores) when absent. */
  readonly cpu?: string;
}

/** A Node that KWOK manages (by its annotation); without taints, any pod may land on it. */
export function fakeNode(name: string, options: FakeNodeOptions = {}): object {
  const { labels = {}, taints, cpu } = options;
  // KWOK keeps the allocatable and capacity a node already reports.
  const resources = cpu === undefined ? undefined : { cpu, memory: '32Gi', pods: '110' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'node.kubernetes.io/instance-type': 'kwok',
        type: 'kwok',
        ...labels,
      },
    },
    ...(taints ? { spec: { taints } } : {}),
    ...(resources ? { status: { capacity: resources, allocatable: resources } } : {}),
  };
}

interface NodeLike {
  spec?: { taints?: Array<{ key?: string; effect?: string }> };
  status?: { conditions?: Array<{ type?: string; status?: string }> };
}

/**
 * Ready, and rid of the `node.kubernetes.io/not-ready` taint that admission puts on every new
 * Node (the node lifecycle controller lifts it a moment after Ready): pods can land on it.
 */
export function isNodeSchedulable(node: unknown): boolean {
  const { spec, status } = node as NodeLike;
  const ready = (status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  return ready && !(spec?.taints ?? []).some((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute');
}
