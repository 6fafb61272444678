/**
 * The webhook's HTTPS server: `POST /mutate-v1-pod` and `GET /healthz`.
 *
 * The certificate can be swapped while serving (`setCertificate`): new connections get the
 * new one, open keep-alive connections finish on the old one, which the caBundle still
 * trusts. Bad requests get a 400 with a message; nothing a client sends can crash it.
 *
 * Any pod can reach the webhook's port, so the server bounds what a client can hold: the
 * body (413 past `maxBodyBytes`, read no further), the time to finish a handshake, the
 * headers and the whole request, the idle time between requests, and the number of
 * connections (connections.ts). TLS 1.2 is the oldest version offered.
 */
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import { createServer as createTcpServer } from 'node:net';
import type { Server as TcpServer, Socket } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../kube/log.ts';
import { WEBHOOK_PATH } from '../api/names.ts';
import { BadReviewError, parseReview, review } from './admission.ts';
import type { ReviewContext } from './admission.ts';
import { NO_METRICS } from './metrics.ts';
import type { AdmissionMetrics } from './metrics.ts';
import { ConnectionCap } from './connections.ts';
import { DEFAULT_PACING, HandshakePacer } from './pacing.ts';
import type { PacingPolicy } from './pacing.ts';

export interface ServerLimits {
  /** An AdmissionReview of a large pod is well under this; anything bigger is not one. */
  readonly maxBodyBytes: number;
  /** From the TCP connection to the end of the TLS handshake. */
  readonly handshakeTimeoutMs: number;
  /**
   * From the start of a request to the end of its headers (the slowloris bound); also bounds
   * a connection that completes its handshake and then sends nothing.
   */
  readonly headersTimeoutMs: number;
  /** From the start of a request to the end of its body. */
  readonly requestTimeoutMs: number;
  /**
   * Idle time between two requests of a connection. Longer than the 90 s after which the
   * apiserver's Go client drops an idle connection itself, so that the client closes first and
   * never sends a review on a connection the server is closing.
   */
  readonly keepAliveTimeoutMs: number;
  /** Open connections, handshaking or not; when full, an idle one makes room (connections.ts). */
  readonly maxConnections: number;
  /** When new connections wait for their handshake during a burst (pacing.ts); undefined: never. */
  readonly pacing?: PacingPolicy;
}

export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  maxBodyBytes: 1 << 20,
  handshakeTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  // The apiserver gives up on a webhook after timeoutSeconds (at most 30).
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 120_000,
  maxConnections: 512,
  pacing: DEFAULT_PACING,
};

export interface ServingCertificate {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

/** Serves one request: the whole HTTP surface of the webhook, usable on any node:http server. */
export async function handleRequest(
  req: IncomingMessage, res: ServerResponse, context: ReviewContext, log: Logger, metrics: AdmissionMetrics = NO_METRICS,
  maxBodyBytes = DEFAULT_SERVER_LIMITS.maxBodyBytes,
): Promise<void> {
  const began = performance.now();
  const { status, body, outcome, close } = await answer(req, context, log, maxBodyBytes);
  send(res, status, body, close === true);
  if (outcome) metrics.observe(outcome, (performance.now() - began) / 1000);
}

interface Answer {
  readonly status: number;
  /** JSON, or a plain-text message. */
  readonly body: unknown;
  /** For the metrics, on the admission path only. */
  readonly outcome?: string;
  /** The connection ends after the answer: the rest of an oversized body is never read. */
  readonly close?: boolean;
}

async function answer(req: IncomingMessage, context: ReviewContext, log: Logger, maxBodyBytes: number): Promise<Answer> {
  const path = (req.url ?? '').split('?')[0];
  if (req.method === 'GET' && path === '/healthz') return { status: 200, body: 'ok' };
  if (path !== WEBHOOK_PATH) return { status: 404, body: `no such path; admission reviews go to POST ${WEBHOOK_PATH}` };
  if (req.method !== 'POST') return { status: 405, body: `use POST for ${WEBHOOK_PATH}` };
  const began = performance.now();
  let text: string | undefined;
  try {
    text = await readBody(req, maxBodyBytes);
  } catch {
    return { status: 400, body: 'the request body could not be read', outcome: 'bad-request', close: true };
  }
  if (text === undefined) return { status: 413, body: `the body is larger than ${maxBodyBytes} bytes; an AdmissionReview is far smaller`, outcome: 'bad-request', close: true };
  try {
    const request = parseReview(text);
    const { response, decision } = await review(request, context);
    log.debug({ uid: request.uid, namespace: request.namespace, dryRun: request.dryRun ?? false, action: decision.action, reason: decision.reason,
      ms: Math.round(performance.now() - began) }, 'admission review');
    if (decision.action === 'warn') log.info({ uid: request.uid, namespace: request.namespace, reason: decision.reason }, 'pod admitted untouched');
    return { status: 200, body: response, outcome: decision.action };
  } catch (error) {
    if (error instanceof BadReviewError) return { status: 400, body: error.message, outcome: 'bad-request' };
    log.error({ err: error }, 'admission review failed');
    return { status: 500, body: 'internal error; the pod is admitted untouched (failurePolicy Ignore)', outcome: 'error' };
  }
}

/**
 * The HTTPS server around `handleRequest`. Nothing listens before `listen()`. A plain TCP
 * listener accepts the connections (paused) and hands them to the HTTPS server once the
 * connection cap admits them and the pacer lets their handshake start.
 */
export class AdmissionServer {
  private readonly server: Server;
  private readonly listener: TcpServer;
  private readonly pacer: HandshakePacer;
  private readonly log: Logger;
  private closing = false;

  constructor(
    certificate: ServingCertificate, context: () => ReviewContext, log: Logger, metrics: AdmissionMetrics = NO_METRICS,
    limits: ServerLimits = DEFAULT_SERVER_LIMITS,
  ) {
    this.log = log;
    const connections = new ConnectionCap(limits.maxConnections);
    this.server = createServer({
      ...tlsOptions(certificate),
      handshakeTimeout: limits.handshakeTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // How often the header and request timeouts are checked (default 30 s, longer than they are).
      connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    }, (req, res) => {
      const done = connections.busy(req.socket);
      res.once('close', done);
      res.once('finish', () => { this.pacer.answered(); });
      // While closing, each connection ends after its answer.
      if (this.closing) res.shouldKeepAlive = false;
      handleRequest(req, res, context(), log, metrics, limits.maxBodyBytes).catch((error: unknown) => {
        log.error({ err: error }, 'could not answer a request');
        res.destroy();
      });
    });
    const handshake = (socket: Socket): void => { this.server.emit('connection', socket); };
    const never: PacingPolicy = { minOpen: Number.POSITIVE_INFINITY, cyclingMs: 0, maxDelayMs: 0 };
    this.pacer = new HandshakePacer(limits.pacing ?? never, handshake);
    this.listener = createTcpServer({ pauseOnConnect: true }, (socket) => {
      socket.on('error', () => undefined);
      const evicted = connections.admit(socket);
      if (evicted) log.debug({ peer: evicted }, 'connection cap reached: an idle connection was closed');
      if (!socket.destroyed) this.pacer.offer(socket);
    });
    this.server.on('secureConnection', (socket: Socket) => {
      connections.secured(socket);
      socket.once('close', this.pacer.opened());
    });
    // A handshake with a client that does not trust us yet is the client's business.
    this.server.on('tlsClientError', (error) => { log.debug({ err: error }, 'TLS handshake failed'); });
  }

  /** Serves new connections with `certificate` from now on. */
  setCertificate(certificate: ServingCertificate): void {
    this.server.setSecureContext(tlsOptions(certificate));
    this.log.info('serving a new certificate');
  }

  async listen(host: string, port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.listener.once('error', reject);
      this.listener.listen(port, host, () => {
        this.listener.off('error', reject);
        // The HTTPS server never listens itself, and Node starts checking its header and
        // request timeouts on its 'listening' event: without this, there would be none.
        this.server.emit('listening');
        resolve();
      });
    });
  }

  /** The port actually bound (useful with port 0). */
  get port(): number {
    const address = this.listener.address();
    return address !== null && typeof address === 'object' ? address.port : 0;
  }

  /** Stops accepting, ends idle keep-alive connections, and waits for requests in flight. */
  async close(): Promise<void> {
    if (!this.listener.listening) return;
    this.closing = true;
    // The TCP listener reports closed once every connection it accepted has closed.
    const closed = new Promise<void>((resolve) => this.listener.close(() => { resolve(); }));
    this.pacer.drop();
    // Stops the timeout checks and ends idle connections (the HTTPS server has no socket of its own to close).
    this.server.close();
    await closed;
  }
}

function tlsOptions(certificate: ServingCertificate): { cert: string; key: string; minVersion: 'TLSv1.2' } {
  return { cert: certificate.certificatePem, key: certificate.privateKeyPem, minVersion: 'TLSv1.2' };
}

/**
 * The body as text, or undefined as soon as it is known to exceed `max` bytes: from its
 * Content-Length before a byte is read, else when the bytes read pass `max`. Past that
 * point nothing more is read or kept; the connection closes after the 413.
 */
function readBody(req: IncomingMessage, max: number): Promise<string | undefined> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > max) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= max) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onData);
      req.pause();
      resolve(undefined);
    };
    req.on('data', onData);
    req.on('end', () => { resolve(Buffer.concat(chunks).toString('utf8')); });
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown, close: boolean): void {
  const json = typeof body !== 'string';
  const text = json ? JSON.stringify(body) : `${body}\n`;
  res.writeHead(status, {
    'content-type': json ? 'application/json' : 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(text);
}
