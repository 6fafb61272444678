/**
 * A memory cgroup with a limit, for running a resolver as its pod would run: with the
 * Deployment's memory limit, so that Node.js sizes its heap to it (it reads the cgroup's
 * limit at start) and the kernel OOM-kills it if it does not fit. cgroup v2 (the unified
 * root with the memory controller) or the v1 memory hierarchy; undefined where neither can
 * be written (not root, no memory controller): the benchmark then reports RSS only.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface MemoryLimit {
  readonly limitBytes: number;
  /** The file a process writes its pid to, to join. */
  readonly procsFile: string;
  /** The highest memory charged so far (v1 includes page cache), in bytes. */
  peakBytes(): number;
  /** Processes the kernel OOM-killed in it so far. */
  oomKills(): number;
  remove(): void;
}

const CGROUP_FS = '/sys/fs/cgroup';

export function createMemoryLimit(name: string, limitBytes: number): MemoryLimit | undefined {
  try {
    const v2 = existsSync(join(CGROUP_FS, 'cgroup.controllers')) && read(join(CGROUP_FS, 'cgroup.controllers')).split(' ').includes('memory');
    const root = v2 ? CGROUP_FS : join(CGROUP_FS, 'memory');
    if (!v2 && !existsSync(join(root, 'memory.limit_in_bytes'))) return undefined;
    if (v2 && !read(join(root, 'cgroup.subtree_control')).split(' ').includes('memory')) writeFileSync(join(root, 'cgroup.subtree_control'), '+memory');
    const dir = join(root, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, v2 ? 'memory.max' : 'memory.limit_in_bytes'), String(limitBytes));
    return {
      limitBytes,
      procsFile: join(dir, 'cgroup.procs'),
      peakBytes: () => Number(read(join(dir, v2 ? 'memory.peak' : 'memory.max_usage_in_bytes')) || 0),
      oomKills: () => Number(/oom_kill (\d+)/.exec(read(join(dir, v2 ? 'memory.events' : 'memory.oom_control')))?.[1] ?? 0),
      // Its processes are gone by then (the servers are stopped first); rmdir of a cgroup with none is allowed.
      remove: () => { try { rmdirSync(dir); } catch { /* still busy: left for the next run to reuse */ } },
    };
  } catch {
    return undefined;
  }
}

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}
