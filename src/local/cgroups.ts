/**
 * The real node's own cgroup, `/clusterdns-<run>` in every cgroup hierarchy of the machine
 * (cgroup v1 controllers, the named systemd hierarchy and the unified v2 one alike). The
 * node's daemons run in its `node` child, the kubelet puts every pod under it (cgroupRoot),
 * and runc's containers land below that: so one tree holds every process the node ever
 * started, including the containerd shims that leave their parent's process group, and
 * killing the tree leaves nothing running. Used by the node harness and by the watchdog.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const CGROUP_FS = '/sys/fs/cgroup';

/** The hierarchies mounted under /sys/fs/cgroup (cgroup v1 directories, or the v2 root itself). */
export function hierarchies(root = CGROUP_FS): string[] {
  if (existsSync(join(root, 'cgroup.controllers'))) return [root];
  return readdirSync(root)
    .map((name) => join(root, name))
    // Co-mounted controllers appear twice (cpu,cpuacct and its cpu and cpuacct links).
    .filter((dir) => isRealDirectory(dir) && existsSync(join(dir, 'cgroup.procs')));
}

function isRealDirectory(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** A cgroup path such as `/clusterdns-1a2b3c`, present in every hierarchy. */
export class CgroupTree {
  readonly path: string;
  private readonly roots: readonly string[];

  constructor(path: string, roots: readonly string[] = hierarchies()) {
    this.path = path;
    this.roots = roots;
  }

  /** Creates the cgroup and `child` below it in every hierarchy. */
  create(child: string): void {
    for (const root of this.roots) {
      for (const dir of [join(root, this.path), join(root, this.path, child)]) {
        mkdirSync(dir, { recursive: true });
        // A new v1 cpuset starts with no CPUs and no memory nodes: no task could join it.
        if (existsSync(join(dir, 'cpuset.cpus')) && read(join(dir, 'cpuset.cpus')) === '') {
          const parent = join(dir, '..');
          writeFileSync(join(dir, 'cpuset.cpus'), read(join(parent, 'cpuset.cpus')));
          writeFileSync(join(dir, 'cpuset.mems'), read(join(parent, 'cpuset.mems')));
        }
      }
    }
  }

  /** The `cgroup.procs` files a process writes its pid to, to join `child` in every hierarchy. */
  procsFiles(child: string): string[] {
    return this.roots.map((root) => join(root, this.path, child, 'cgroup.procs'));
  }

  /** Every pid anywhere in the tree (any hierarchy; they agree once joined). */
  pids(): number[] {
    const found = new Set<number>();
    for (const root of this.roots) {
      for (const dir of walk(join(root, this.path))) {
        for (const line of read(join(dir, 'cgroup.procs')).split('\n')) if (line) found.add(Number(line));
      }
    }
    return [...found];
  }

  /**
   * SIGKILLs every process in the tree until none is left (the freezer, where there is one,
   * stops forks racing the kill), then removes the cgroups deepest first. Throws if
   * processes remain after `timeoutMs`.
   */
  async destroy(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const freezer = this.roots.map((root) => join(root, this.path, 'freezer.state')).find((file) => existsSync(file));
    for (let pids = this.pids(); pids.length > 0; pids = this.pids()) {
      if (Date.now() > deadline) throw new Error(`cgroup ${this.path}: processes ${pids.join(', ')} survive SIGKILL`);
      if (freezer) tryWrite(freezer, 'FROZEN');
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone already.
        }
      }
      if (freezer) tryWrite(freezer, 'THAWED');
      await sleep(50);
    }
    for (const root of this.roots) {
      for (const dir of walk(join(root, this.path)).reverse()) await removeCgroup(dir, deadline);
    }
  }
}

/** rmdir of a cgroup; one whose last task just died can be busy for a moment. */
async function removeCgroup(dir: string, deadline: number): Promise<void> {
  for (;;) {
    try {
      rmdirSync(dir);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

/** `dir` and every cgroup below it, parents first; nothing if it does not exist. */
function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const dirs = [dir];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) dirs.push(...walk(join(dir, entry.name)));
  }
  return dirs;
}

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

function tryWrite(file: string, value: string): void {
  try {
    writeFileSync(file, value);
  } catch {
    // The tree may be going away under us.
  }
}
