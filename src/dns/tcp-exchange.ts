/**
 * One DNS message over one TCP connection (RFC 7766's two-byte length framing): the
 * forwarder's retry of a truncated answer, and `clusterdns compare`'s TCP questions.
 */
import { connect } from 'node:net';

/** Sends `message`, resolves with the first whole answer; rejects on a timeout, error or early close. */
export function exchangeOverTcp(host: string, port: number, message: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let received = Buffer.alloc(0);
    const finish = (outcome: Buffer | Error): void => {
      socket.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    socket.setTimeout(timeoutMs, () => { finish(new Error(`no answer within ${timeoutMs} ms (TCP)`)); });
    socket.on('error', finish);
    socket.on('close', () => { finish(new Error('connection closed before an answer (TCP)')); });
    socket.on('connect', () => {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(message.length);
      socket.write(Buffer.concat([length, message]));
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) finish(received.subarray(2, 2 + received.readUInt16BE(0)));
    });
  });
}
