/**
 * Whether a message that arrived for an upstream question is its answer, as RFC 5452 §9.1
 * asks of a resolver: from the address and port the question went to, a response, with the
 * id and the question that were sent. A forged answer must match all of them; the
 * forwarder (forwarder.ts) adds a fresh random source port per exchange and a random id.
 * Pure.
 */
import { scanMessage } from '../../dns/response-relay.ts';
import type { ScannedMessage } from '../../dns/response-relay.ts';
import type { DropReason } from '../metrics/drops.ts';
import type { ServerAddress } from './routes.ts';

/** What the forwarder sent. */
export interface Asked {
  readonly server: ServerAddress;
  readonly id: number;
  /** The question section, as sent. */
  readonly question: Buffer;
}

export type Verdict =
  | { readonly kind: 'answer'; readonly scanned: ScannedMessage }
  /** Larger than the forwarder said it could take over UDP: it asks again over TCP. */
  | { readonly kind: 'oversized' }
  | { readonly kind: 'drop'; readonly reason: DropReason };

const drop = (reason: DropReason): Verdict => ({ kind: 'drop', reason });

/**
 * Judges `message`, which came from `from`, as the answer to `asked`. `maxBytes` is the
 * size the forwarder advertised (UDP) or 65535 (TCP). The cheap checks come first.
 */
export function judgeAnswer(message: Buffer, from: { readonly address: string; readonly port: number }, asked: Asked, maxBytes: number): Verdict {
  if (from.address !== asked.server.host || from.port !== asked.server.port) return drop('upstream_wrong_source');
  if (message.length < 12 || (message.readUInt16BE(2) & 0x8000) === 0) return drop('upstream_malformed');
  if (message.readUInt16BE(0) !== asked.id) return drop('upstream_wrong_id');
  if (message.length > maxBytes) return { kind: 'oversized' };
  let scanned: ScannedMessage;
  try {
    scanned = scanMessage(message);
  } catch {
    return drop('upstream_malformed');
  }
  if (scanned.questionEnd - 12 !== asked.question.length || !echoesQuestion(message, asked.question)) return drop('upstream_wrong_question');
  return { kind: 'answer', scanned };
}

/**
 * Whether `response` carries `question` (a question section as sent: name, type, class) as
 * its one question: the same bytes, letters compared without case (servers may fold it; the
 * forwarder does not randomise case, see docs/resolver.md). A question's name cannot be
 * compressed (nothing comes before it to point to), so equal bytes are the same question.
 * Also used for the shadow's baseline answers.
 */
export function echoesQuestion(response: Buffer, question: Buffer): boolean {
  if (response.length < 12 + question.length || response.readUInt16BE(4) !== 1) return false;
  const nameEnd = question.length - 4;
  for (let i = 0; i < question.length; i++) {
    let x = response[12 + i] ?? 0;
    let y = question[i] ?? 0;
    // Only the name's letters fold; the type and class (the last four bytes) must be equal as they are.
    if (i < nameEnd) {
      if (x >= 0x41 && x <= 0x5a) x |= 0x20;
      if (y >= 0x41 && y <= 0x5a) y |= 0x20;
    }
    if (x !== y) return false;
  }
  return true;
}
