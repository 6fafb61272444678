/**
 * Shadow comparison for one serving thread: a sample of the queries it answers is asked of
 * the baseline too, and the two answers are compared (comparison.ts).
 *
 * The client's answer is never delayed: `offer` (the only call on the hot path) draws the
 * sample and keeps a copy of the query and the answer; the baseline is asked after the
 * transports have sent the answer (setImmediate), and compared when it answers. Bounded:
 * at most `maxInFlight` queries wait for the baseline (this thread's share of
 * `shadow.maxInFlight`); a sampled query beyond it is skipped and counted. Each waits for
 * at most `timeoutSeconds`. A resolver without `shadow` has no Shadow at all.
 */
import type { ShadowConfig } from '../../api/resolver-config.ts';
import type { Query } from '../../dns/query-decoder.ts';
import { typeLabel } from '../../dns/records.ts';
import type { Answerer } from '../metrics/query-stats.ts';
import { parseServer } from '../upstream/routes.ts';
import { BaselineClient } from './baseline-client.ts';
import type { BaselineOutcome } from './baseline-client.ts';
import type { compareAnswers as CompareAnswers, ComparisonScope } from './comparison.ts';
import { ShadowStats } from './stats.ts';

/** What the query handler calls for every answered query. */
export interface ShadowTap {
  offer(query: Query, response: Buffer, answerer: Answerer): void;
}

export interface ShadowOptions {
  readonly config: ShadowConfig;
  /** Serving threads in the process: each gets an equal share of maxInFlight. */
  readonly threads: number;
  /** The cluster zone (for the intended differences). */
  readonly zone: string;
  /** Uniform in [0, 1); Math.random by default. */
  readonly random?: () => number;
  /** Wall-clock milliseconds, for the time of a mismatch. */
  readonly now?: () => number;
}

interface Sample {
  readonly message: Buffer;
  readonly questionEnd: number;
  readonly response: Buffer;
  readonly name: string;
  readonly type: number;
  readonly upstream: boolean;
}

const TRUNCATED = 0x02;

export class Shadow implements ShadowTap {
  readonly stats = new ShadowStats();
  private readonly options: ShadowOptions;
  private readonly client: BaselineClient;
  private readonly random: () => number;
  private readonly maxInFlight: number;
  private readonly scope: ComparisonScope;
  private compare: typeof CompareAnswers | undefined;
  private waiting: Sample[] = [];
  private scheduled = false;

  constructor(options: ShadowOptions) {
    this.options = options;
    this.random = options.random ?? Math.random;
    this.maxInFlight = Math.max(1, Math.ceil(options.config.maxInFlight / Math.max(1, options.threads)));
    this.scope = { zone: options.zone, baseline: options.config.baselineEngine === 'coredns' ? 'other' : 'clusterdns' };
    this.client = new BaselineClient({ server: parseServer(options.config.baseline), timeoutMs: options.config.timeoutSeconds * 1000 });
  }

  /** Loads the comparison (and its DNS decoder, which a resolver without shadowing never loads) and opens the socket. */
  async start(): Promise<void> {
    this.compare = (await import('./comparison.ts')).compareAnswers;
    await this.client.start();
  }

  async close(): Promise<void> {
    this.compare = undefined;
    this.waiting = [];
    await this.client.close();
  }

  offer(query: Query, response: Buffer, answerer: Answerer): void {
    if (this.random() * 100 >= this.options.config.sample || !this.compare) return;
    // A truncated answer is asked again over TCP by the client, and may be sampled then.
    if (response.length < 12 || ((response[2] ?? 0) & TRUNCATED) !== 0) return;
    if (this.client.inFlight + this.waiting.length >= this.maxInFlight) {
      this.stats.skip();
      return;
    }
    // Copies: the transports own the buffers they handed over.
    this.waiting.push({
      message: Buffer.from(query.message), questionEnd: query.questionEnd, response: Buffer.from(response),
      name: query.name, type: query.type, upstream: answerer === 'forward' || answerer === 'cache',
    });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => { this.send(); });
    }
  }

  private send(): void {
    this.scheduled = false;
    const batch = this.waiting;
    this.waiting = [];
    for (const sample of batch) {
      this.stats.asked();
      this.client.ask(sample.message, sample.questionEnd, (outcome) => { this.judge(sample, outcome); });
    }
  }

  private judge(sample: Sample, outcome: BaselineOutcome): void {
    const compare = this.compare;
    if (!compare) return;
    if (outcome.kind === 'error') {
      this.stats.error(outcome.reason);
      return;
    }
    const verdict = compare({ name: sample.name, upstream: sample.upstream }, sample.response, outcome.bytes, this.scope);
    if (verdict.kind === 'malformed') {
      this.stats.error('malformed');
      return;
    }
    this.stats.comparedOne();
    if (verdict.kind === 'mismatch') {
      const time = new Date(this.options.now?.() ?? Date.now()).toISOString();
      // The label from the query's type number: bounded, whatever types clients ask for.
      this.stats.mismatch(typeLabel(sample.type), { time, ...verdict.mismatch });
    }
  }
}
