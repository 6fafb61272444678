/** An upstream answer is taken only from the server and port asked, as a response with the id and question sent. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import dnsPacket from 'dns-packet';
import type { Question } from 'dns-packet';
import { judgeAnswer } from '../../../../src/resolver/upstream/acceptance.ts';
import type { Asked } from '../../../../src/resolver/upstream/acceptance.ts';

const question: Question = { type: 'A', name: 'www.Example.test' };
const asked: Asked = {
  server: { host: '192.0.2.53', port: 53, family: 4 },
  id: 4242,
  question: dnsPacket.encode({ type: 'query', id: 0, questions: [question] }).subarray(12),
};
const from = { address: '192.0.2.53', port: 53 };
const response = (changes: Partial<dnsPacket.Packet> = {}): Buffer => dnsPacket.encode({
  type: 'response', id: 4242, flags: dnsPacket.RECURSION_AVAILABLE, questions: [question],
  answers: [{ type: 'A', name: question.name, ttl: 60, data: '192.0.2.1' }], ...changes,
});
const selfPointer = ((): Buffer => {
  const message = response();
  const owner = 12 + asked.question.length;
  message.writeUInt16BE(0xc000 | owner, owner);
  return message;
})();

test('an upstream message to type 97 is not the answer to type 65, though the bytes differ as A and a do', () => {
  const typed = (type: number): Buffer => {
    const bytes = Buffer.from(asked.question);
    bytes.writeUInt16BE(type, bytes.length - 4);
    return bytes;
  };
  const message = response();
  typed(97).copy(message, 12);
  const verdict = judgeAnswer(message, from, { ...asked, question: typed(65) }, 1232);
  assert.deepEqual(verdict, { kind: 'drop', reason: 'upstream_wrong_question' });
});

for (const [title, message, source, expected] of [
  ['the answer', response(), from, 'answer'],
  ['the answer with the name in another case', response({ questions: [{ ...question, name: 'WWW.EXAMPLE.TEST' }] }), from, 'answer'],
  ['from another address', response(), { address: '192.0.2.54', port: 53 }, 'upstream_wrong_source'],
  ['from another port', response(), { address: '192.0.2.53', port: 5353 }, 'upstream_wrong_source'],
  ['with another id', response({ id: 4243 }), from, 'upstream_wrong_id'],
  ['to another name', response({ questions: [{ ...question, name: 'www.example.tesu' }] }), from, 'upstream_wrong_question'],
  ['to another type', response({ questions: [{ ...question, type: 'AAAA' }] }), from, 'upstream_wrong_question'],
  ['without a question', response({ questions: [] }), from, 'upstream_wrong_question'],
  ['a query, not a response', dnsPacket.encode({ type: 'query', id: 4242, questions: [question] }), from, 'upstream_malformed'],
  ['shorter than a header', Buffer.from([0x10, 0x92, 0x81]), from, 'upstream_malformed'],
  ['whose owner name points at itself', selfPointer, from, 'upstream_malformed'],
  ['larger than advertised', response({ answers: Array.from({ length: 100 }, () => ({ type: 'A' as const, name: question.name, ttl: 60, data: '192.0.2.1' })) }), from, 'oversized'],
] as const) {
  test(`an upstream message ${title}: ${expected}`, () => {
    const verdict = judgeAnswer(message, source, asked, 1232);
    assert.equal(verdict.kind === 'drop' ? verdict.reason : verdict.kind, expected);
  });
}
