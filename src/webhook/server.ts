/**
 * The webhook's HTTPS server: `POST /mutate-v1-pod` and `GET /healthz`.
 *
 * The certificate can be swapped while serving (`setCertificate`): new connections get the
 * new one, open keep-alive connections finish on the old one, which the caBundle still
 * trusts. Bad requests get a 400 with a message; nothing a client sends can crash it.
 */
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../kube/log.ts';
import { WEBHOOK_PATH } from '../api/names.ts';
import { BadReviewError, parseReview, review } from './admission.ts';
import type { ReviewContext } from './admission.ts';
import { NO_METRICS } from './metrics.ts';
import type { AdmissionMetrics } from './metrics.ts';

/** An AdmissionReview of a large pod is well under this; anything bigger is not one. */
export const MAX_BODY_BYTES = 4 << 20;

export interface ServingCertificate {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

/** Serves one request: the whole HTTP surface of the webhook, usable on any node:http server. */
export async function handleRequest(
  req: IncomingMessage, res: ServerResponse, context: ReviewContext, log: Logger, metrics: AdmissionMetrics = NO_METRICS,
): Promise<void> {
  const began = performance.now();
  const { status, body, outcome } = await answer(req, context, log);
  send(res, status, body);
  if (outcome) metrics.observe(outcome, (performance.now() - began) / 1000);
}

interface Answer {
  readonly status: number;
  /** JSON, or a plain-text message. */
  readonly body: unknown;
  /** For the metrics, on the admission path only. */
  readonly outcome?: string;
}

async function answer(req: IncomingMessage, context: ReviewContext, log: Logger): Promise<Answer> {
  const path = (req.url ?? '').split('?')[0];
  if (req.method === 'GET' && path === '/healthz') return { status: 200, body: 'ok' };
  if (path !== WEBHOOK_PATH) return { status: 404, body: `no such path; admission reviews go to POST ${WEBHOOK_PATH}` };
  if (req.method !== 'POST') return { status: 405, body: `use POST for ${WEBHOOK_PATH}` };
  const began = performance.now();
  let text: string;
  try {
    text = await readBody(req);
  } catch (error) {
    return { status: 413, body: error instanceof Error ? error.message : String(error), outcome: 'bad-request' };
  }
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

/** The HTTPS server around `handleRequest`. Nothing listens before `listen()`. */
export class AdmissionServer {
  private readonly server: Server;
  private readonly log: Logger;

  constructor(certificate: ServingCertificate, context: () => ReviewContext, log: Logger, metrics: AdmissionMetrics = NO_METRICS) {
    this.log = log;
    this.server = createServer({ cert: certificate.certificatePem, key: certificate.privateKeyPem }, (req, res) => {
      handleRequest(req, res, context(), log, metrics).catch((error: unknown) => {
        log.error({ err: error }, 'could not answer a request');
        res.destroy();
      });
    });
    // A handshake with a client that does not trust us yet is the client's business.
    this.server.on('tlsClientError', (error) => { log.debug({ err: error }, 'TLS handshake failed'); });
  }

  /** Serves new connections with `certificate` from now on. */
  setCertificate(certificate: ServingCertificate): void {
    this.server.setSecureContext({ cert: certificate.certificatePem, key: certificate.privateKeyPem });
    this.log.info('serving a new certificate');
  }

  async listen(host: string, port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  /** The port actually bound (useful with port 0). */
  get port(): number {
    const address = this.server.address();
    return address !== null && typeof address === 'object' ? address.port : 0;
  }

  /** Stops accepting, ends idle keep-alive connections, and waits for requests in flight. */
  async close(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => { resolve(); }));
    this.server.closeIdleConnections();
    await closed;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        // Answer now and drop the rest of the body unread.
        req.removeAllListeners('data');
        req.resume();
        reject(new Error(`the body is larger than ${MAX_BODY_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => { resolve(Buffer.concat(chunks).toString('utf8')); });
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const json = typeof body !== 'string';
  const text = json ? JSON.stringify(body) : `${body}\n`;
  res.writeHead(status, { 'content-type': json ? 'application/json' : 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
