/**
 * One measurement of thread-cost.ts, in a process of its own: the RSS that `count` threads
 * of one kind add to a Node.js process, 3 s after they started. `empty`: workers that run
 * nothing; `serving`: the resolver's serving threads (the compiled build at `build`, an empty
 * index, loopback). Prints `{"perThreadMiB": ...}` on stdout.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

const SETTLE_MS = 3000;
const [kind, countText, build = ''] = process.argv.slice(2);
const count = Number(countText);

function rssMiB(): number {
  const pages = Number(readFileSync('/proc/self/statm', 'utf8').split(' ')[1]);
  return (pages * 4096) / 2 ** 20;
}

/** Loads the serving threads' module (and the configuration's) in this thread, so that its own cost is not counted as the threads'. */
async function servingStarter(): Promise<() => Promise<void>> {
  const load = (path: string): Promise<Record<string, unknown>> => import(pathToFileURL(join(build, path)).href) as Promise<Record<string, unknown>>;
  const { ServingThreads } = await load('src/resolver/serve/serving-threads.js') as { ServingThreads: new (options: unknown) => { start(n: number): Promise<void> } };
  const { resolverConfigSchema } = await load('src/api/resolver-config.js') as { resolverConfigSchema: { parse(input: unknown): unknown } };
  const config = resolverConfigSchema.parse({ listenAddress: '127.0.0.1', port: 0 });
  const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };
  return () => new ServingThreads({
    data: { config, server: 'dns://:53', upstreams: [{ host: '127.0.0.1', port: 9 }], localAddresses: [], threads: count + 1 },
    log: quiet,
    metrics: { threadRestarted: () => undefined, absorb: () => undefined },
    snapshot: () => [],
  }).start(count);
}

const startServing = kind === 'serving' ? await servingStarter() : undefined;
await sleep(1000);
const before = rssMiB();
if (startServing) await startServing();
else for (let i = 0; i < count; i++) new Worker('setInterval(() => undefined, 1000)', { eval: true });
await sleep(SETTLE_MS);
process.stdout.write(`${JSON.stringify({ perThreadMiB: (rssMiB() - before) / count })}\n`);
process.exit(0);
