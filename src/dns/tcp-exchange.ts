/**
 * One DNS message over one TCP connection (RFC 7766's two-byte length framing): the
 * forwarder's retry of a truncated answer, and `clusterdns compare`'s TCP questions.
 */
import { connect } from 'node:net';
import { FrameReader, frame } from './tcp-framing.ts';

/** Sends `message`, resolves with the first whole answer; rejects on a timeout, error or early close. */
export function exchangeOverTcp(host: string, port: number, message: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const reader = new FrameReader();
    const finish = (outcome: Buffer | Error): void => {
      socket.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    // A whole-exchange deadline, not an idle timeout: a server that trickles bytes is given up too.
    const timer = setTimeout(() => { finish(new Error(`no answer within ${timeoutMs} ms (TCP)`)); }, timeoutMs);
    socket.on('error', finish);
    socket.on('close', () => {
      clearTimeout(timer);
      finish(new Error('connection closed before an answer (TCP)'));
    });
    socket.on('connect', () => { socket.write(frame(message)); });
    socket.on('data', (chunk: Buffer) => {
      reader.push(chunk);
      const answer = reader.next();
      if (answer) finish(answer);
    });
  });
}
