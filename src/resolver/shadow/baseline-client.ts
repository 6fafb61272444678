/**
 * Asking the baseline: one UDP socket per serving thread, connected to the baseline (so the
 * kernel drops datagrams from anyone else), random ids, an answer taken only with the id and
 * the question asked (anything else is ignored and the wait goes on, as the forwarder does),
 * and the same message again over TCP when the answer is truncated. Every question gets exactly one outcome, an answer or an
 * error, by its deadline at the latest; a sweep, not a timer per question, enforces the
 * deadlines, so shadowing every query costs no timers.
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { exchangeOverTcp } from '../../dns/tcp-exchange.ts';
import type { ShadowErrorReason } from '../../api/shadow-bounds.ts';
import { echoesQuestion } from '../upstream/acceptance.ts';
import type { ServerAddress } from '../upstream/routes.ts';

export type BaselineOutcome =
  | { readonly kind: 'answer'; readonly bytes: Buffer }
  | { readonly kind: 'error'; readonly reason: ShadowErrorReason };

export interface BaselineClientOptions {
  readonly server: ServerAddress;
  readonly timeoutMs: number;
  /** Monotonic milliseconds (performance.now by default). */
  readonly now?: () => number;
}

interface Pending {
  readonly id: number;
  readonly message: Buffer;
  /** The question section of `message`. */
  readonly question: Buffer;
  readonly deadline: number;
  readonly done: (outcome: BaselineOutcome) => void;
  overTcp: boolean;
}

const HEADER = 12;
const TRUNCATED = 0x02;

export class BaselineClient {
  private readonly options: BaselineClientOptions;
  private readonly now: () => number;
  /** In the order asked, which is the order of their deadlines. */
  private readonly pending = new Map<number, Pending>();
  private socket: Socket | undefined;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(options: BaselineClientOptions) {
    this.options = options;
    this.now = options.now ?? (() => performance.now());
  }

  get inFlight(): number {
    return this.pending.size;
  }

  async start(): Promise<void> {
    const { server, timeoutMs } = this.options;
    const socket = createSocket(server.family === 6 ? 'udp6' : 'udp4');
    // An unreachable baseline makes the kernel report errors on the socket; the deadlines count them.
    socket.on('error', () => undefined);
    socket.on('message', (message) => { this.received(message); });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(server.port, server.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    this.socket = socket;
    this.sweeper = setInterval(() => { this.sweep(); }, Math.max(10, Math.min(100, timeoutMs / 4)));
    this.sweeper.unref();
  }

  /**
   * Sends `message` (its id is overwritten), whose question section ends at `questionEnd`;
   * `done` is called once, with the answer or an error.
   */
  ask(message: Buffer, questionEnd: number, done: (outcome: BaselineOutcome) => void): void {
    const socket = this.socket;
    if (!socket || this.pending.size >= 0xffff) {
      done({ kind: 'error', reason: 'unreachable' });
      return;
    }
    let id = Math.floor(Math.random() * 0x10000);
    while (this.pending.has(id)) id = (id + 1) & 0xffff;
    message.writeUInt16BE(id, 0);
    const entry: Pending = { id, message, question: message.subarray(12, questionEnd), deadline: this.now() + this.options.timeoutMs, done, overTcp: false };
    this.pending.set(id, entry);
    socket.send(message, (error) => { if (error) this.finish(entry, { kind: 'error', reason: 'unreachable' }); });
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    const socket = this.socket;
    this.socket = undefined;
    // Questions still waiting get no outcome: nothing will count them any more.
    this.pending.clear();
    if (socket) await new Promise<void>((resolve) => { socket.close(() => { resolve(); }); });
  }

  private received(message: Buffer): void {
    if (message.length < HEADER) return;
    const entry = this.pending.get(message.readUInt16BE(0));
    // Another question's answer with this id is a stale or forged one: the real one may still come.
    if (!entry || entry.overTcp || !echoesQuestion(message, entry.question)) return;
    if ((message[2] ?? 0) & TRUNCATED) {
      entry.overTcp = true;
      const { host, port } = this.options.server;
      exchangeOverTcp(host, port, entry.message, Math.max(1, entry.deadline - this.now())).then(
        (bytes) => { this.finish(entry, bytes.length >= HEADER && bytes.readUInt16BE(0) === entry.id && echoesQuestion(bytes, entry.question) ? { kind: 'answer', bytes } : { kind: 'error', reason: 'malformed' }); },
        (error: unknown) => { this.finish(entry, { kind: 'error', reason: /no answer within/.test(String(error)) ? 'timeout' : 'unreachable' }); },
      );
      return;
    }
    this.finish(entry, { kind: 'answer', bytes: message });
  }

  private finish(entry: Pending, outcome: BaselineOutcome): void {
    // Once only: a late answer after the deadline, or a TCP answer after the sweep, is dropped.
    if (this.pending.get(entry.id) !== entry) return;
    this.pending.delete(entry.id);
    entry.done(outcome);
  }

  private sweep(): void {
    const now = this.now();
    for (const entry of this.pending.values()) {
      if (entry.deadline > now) break;
      this.finish(entry, { kind: 'error', reason: 'timeout' });
    }
  }
}
