/**
 * A serving thread (see serving-threads.ts): the index's shared tables with its own layer of
 * the changes the main thread passes on, its own upstream cache and sockets on the shared port. It
 * reports its counters when asked and stops when told.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ResolverConfig } from '../../api/resolver-config.ts';
import { ClusterIndex, watchedKinds } from '../cluster/cluster-index.ts';
import { QueryStats } from '../metrics/query-stats.ts';
import { Shadow } from '../shadow/shadow.ts';
import { ServingStack } from './serving-stack.ts';
import type { ThreadData, ToMain, ToThread } from './serving-threads.ts';

const data = workerData as ThreadData;
const port = parentPort;
const config: ResolverConfig = data.config;
const index = new ClusterIndex(watchedKinds(config.pods));
const stats = new QueryStats(data.server);
const send = (message: ToMain): void => { port?.postMessage(message); };
const shadow = config.shadow ? new Shadow({ config: config.shadow, threads: data.threads, zone: config.clusterDomain.toLowerCase() }) : undefined;
const stack = new ServingStack({
  config, index, stats,
  ...(shadow ? { shadow } : {}),
  upstreams: data.upstreams,
  localAddresses: data.localAddresses,
  threads: data.threads,
  log: {
    error: (fields, message) => { send({ type: 'log', level: 'error', fields, message }); },
    warn: (fields, message) => { send({ type: 'log', level: 'warn', fields, message }); },
  },
});

port?.on('message', (message: ToThread) => {
  switch (message.type) {
    case 'event':
    case 'table':
      index.apply(message);
      break;
    case 'stats':
      send({ type: 'stats', id: message.id, snapshot: stats.snapshot(), ...(shadow ? { shadow: shadow.stats.snapshot() } : {}) });
      break;
    case 'stop':
      void stack.close().then(() => shadow?.close()).then(() => { port.close(); });
      break;
  }
});

await shadow?.start();
await stack.start();
send({ type: 'listening' });
