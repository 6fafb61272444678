/**
 * Runs a Dockerfile's build steps without Docker: there is no Docker engine where the tests
 * run, so the image is checked by doing what its build would do. Supports what our
 * Dockerfile uses: ARG, FROM ... AS, WORKDIR, COPY (from the context or `--from=<stage>`),
 * RUN (sh -c in the stage's directory). RUN steps of the final stage touch the image's system
 * directories and are left out; every other instruction is metadata.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

/** Instructions in order, with line continuations joined and comments dropped. */
export function parseDockerfile(text: string): Instruction[] {
  const joined = text.replace(/\\\n/g, ' ');
  return joined.split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

export interface Stage {
  readonly name: string;
  /** Where the stage's WORKDIR lives on this machine. */
  readonly dir: string;
}

/**
 * Executes the build: each stage gets `<root>/<stage name>` as its WORKDIR. Returns the
 * stages by name; the last one is the image.
 */
export function runDockerfileBuild(text: string, context: string, root: string, env: NodeJS.ProcessEnv): Stage[] {
  const instructions = parseDockerfile(text);
  const stages: Stage[] = [];
  const finalIndex = instructions.map((i) => i.keyword).lastIndexOf('FROM');
  let current: Stage | undefined;
  instructions.forEach((instruction, index) => {
    const { keyword, args } = instruction;
    if (keyword === 'FROM') {
      const name = /\sAS\s+(\S+)/i.exec(args)?.[1] ?? `stage${stages.length}`;
      current = { name, dir: join(root, name) };
      mkdirSync(current.dir, { recursive: true });
      stages.push(current);
      return;
    }
    if (!current) return;
    if (keyword === 'COPY') copy(args, context, current, stages);
    if (keyword === 'RUN' && index < finalIndex) execFileSync('sh', ['-c', args], { cwd: current.dir, env, stdio: 'pipe' });
  });
  return stages;
}

/** COPY [--from=stage] src... dest, with absolute paths inside a stage mapped to its WORKDIR. */
function copy(args: string, context: string, stage: Stage, stages: Stage[]): void {
  const words = args.split(/\s+/);
  const from = words[0]?.startsWith('--from=') ? words.shift()?.slice('--from='.length) : undefined;
  const dest = words.pop() ?? '.';
  const source = from ? stages.find((s) => s.name === from) : undefined;
  if (from && !source) throw new Error(`COPY --from=${from}: no such stage`);
  for (const src of words) {
    // Inside a stage, absolute paths are under its WORKDIR (/src for the build stage).
    const origin = source ? join(source.dir, src.replace(/^\/[^/]+\/?/, '')) : join(context, src);
    const target = dest.endsWith('/') || dest === '.' || dest === './' ? join(stage.dir, dest, src.split('/').pop() ?? '') : join(stage.dir, dest);
    cpSync(origin, target, { recursive: true, verbatimSymlinks: true });
  }
}
