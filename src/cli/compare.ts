/**
 * `clusterdns compare`: asks two resolvers the same questions and prints every difference.
 * Exit code 0 when all answers are the same (or differ only as docs/coredns-differences.md
 * says they may), 1 when any other differs, 2 on an error.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { KubeClient, loadKubeConfig } from '../kube/client.ts';
import { readSnapshot } from '../compare/cluster.ts';
import { ask, DEFAULT_QUERY_OPTIONS, formatServer, mapLimit, parseServer } from '../compare/dns-client.ts';
import type { Server } from '../compare/dns-client.ts';
import { clusterQuestions, parseNamesFile } from '../compare/questions.ts';
import type { Question } from '../compare/questions.ts';
import { identify, identityQuestion } from '../dns/intended-differences.ts';
import type { ServerKind } from '../dns/intended-differences.ts';
import { buildReport, progressBar, renderJson, renderTable } from '../compare/report.ts';
import type { Asked } from '../compare/report.ts';

const USAGE = `usage: clusterdns compare --baseline HOST[:PORT] --candidate HOST[:PORT] [flags]

Asks both resolvers the same questions and prints every question they answer differently
(answers compared without TTLs and regardless of record order). Between clusterdns' resolver
and another server (CoreDNS), the differences docs/coredns-differences.md documents are
listed apart as intended and do not count; between two of one kind, every difference counts.

flags:
  --baseline HOST[:PORT]    the resolver to compare against (port 53 when absent)
  --candidate HOST[:PORT]   the resolver under test
  --names FILE              questions, one a line: NAME [TYPE] (default type A; # comments)
  --kubeconfig FILE         without --names: build the questions from this cluster
                            (default: in-cluster, else $KUBECONFIG or ~/.kube/config)
  --namespace NS            only the cluster's names in this namespace
  --cluster-domain DOMAIN   default cluster.local
  --output table|json       default table
  --timeout MS              per query and attempt; default ${DEFAULT_QUERY_OPTIONS.timeoutMs}

exit code: 0 all the same (apart from intended differences), 1 some differ, 2 error
`;

/** Questions in flight at once (each asked of both servers). */
const CONCURRENCY = 32;
/** A progress bar only for lists long enough to wait for. */
const PROGRESS_THRESHOLD = 200;

class UsageError extends Error {}

export async function run(args: string[]): Promise<number> {
  try {
    return await compare(args);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(error instanceof UsageError ? `clusterdns compare: ${message}\n\n${USAGE}` : `clusterdns compare: ${message}\n`);
    return 2;
  }
}

async function compare(args: string[]): Promise<number> {
  const { values } = parseFlags(args);
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!values.baseline || !values.candidate) throw new UsageError('--baseline and --candidate are required');
  const output = values.output ?? 'table';
  if (output !== 'table' && output !== 'json') throw new UsageError(`--output must be table or json, not "${output}"`);
  const timeoutMs = values.timeout === undefined ? DEFAULT_QUERY_OPTIONS.timeoutMs : Number(values.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new UsageError('--timeout must be a positive number of milliseconds');
  const baseline = parseServer(values.baseline);
  const candidate = parseServer(values.candidate);
  const domain = values['cluster-domain'] ?? 'cluster.local';
  const options = { ...DEFAULT_QUERY_OPTIONS, timeoutMs };

  const questions = await loadQuestions(values.names, values.kubeconfig, values.namespace, domain);
  if (questions.length === 0) throw new Error('no questions to ask');
  for (const [role, server] of [['baseline', baseline], ['candidate', candidate]] as const) {
    const probe = await ask(server, { name: `dns-version.${domain}.`, type: 'TXT' }, options);
    if ('error' in probe) throw new Error(`the ${role} ${formatServer(server)} does not answer: ${probe.error}`);
  }
  // Which one (if either) is clusterdns' resolver: its documented differences from CoreDNS apply only between the two.
  const kindOf = async (server: Server): Promise<ServerKind> => identify(await ask(server, identityQuestion(domain), options));
  const kinds = { baseline: await kindOf(baseline), candidate: await kindOf(candidate) };

  const results = await askAll(questions, baseline, candidate, options);
  const report = buildReport(formatServer(baseline), formatServer(candidate), results, domain, kinds);
  process.stdout.write(output === 'json' ? renderJson(report) : renderTable(report));
  return report.differences.length > 0 ? 1 : 0;
}

function parseFlags(args: string[]): ReturnType<typeof parse> {
  try {
    return parse(args);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error), { cause: error });
  }
}

function parse(args: string[]) {
  return parseArgs({
    args,
    options: {
      baseline: { type: 'string' },
      candidate: { type: 'string' },
      names: { type: 'string' },
      kubeconfig: { type: 'string' },
      namespace: { type: 'string' },
      'cluster-domain': { type: 'string' },
      output: { type: 'string', short: 'o' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

async function loadQuestions(names: string | undefined, kubeconfig: string | undefined, namespace: string | undefined, domain: string): Promise<Question[]> {
  if (names !== undefined) {
    let text: string;
    try {
      text = readFileSync(names, 'utf8');
    } catch (error) {
      throw new Error(`cannot read ${names}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    try {
      return parseNamesFile(text);
    } catch (error) {
      throw new Error(`${names}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }
  const client = new KubeClient(loadKubeConfig(kubeconfig));
  return clusterQuestions(await readSnapshot(client, namespace), domain);
}

async function askAll(questions: readonly Question[], baseline: Server, candidate: Server, options: typeof DEFAULT_QUERY_OPTIONS): Promise<Asked[]> {
  const showProgress = process.stderr.isTTY && questions.length >= PROGRESS_THRESHOLD;
  let done = 0;
  const results = await mapLimit(questions, CONCURRENCY, async (question) => {
    const [b, c] = await Promise.all([ask(baseline, question, options), ask(candidate, question, options)]);
    done++;
    if (showProgress && (done % 25 === 0 || done === questions.length)) process.stderr.write(`\r${progressBar(done, questions.length)}`);
    return { question, baseline: b, candidate: c };
  });
  if (showProgress) process.stderr.write('\n');
  return results;
}
