/**
 * A serving thread that dies anyway (an exception nothing caught, an exit) is started again
 * after its backoff, and the process answers on its other thread meanwhile: the thread is
 * killed from outside through the inspector (test/resolver/inspector.ts) while an ordinary
 * client asks (test/resolver/hostile.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../../src/local/net.ts';
import { eventually } from '../support/cluster.ts';
import { startTarget, underAttack } from '../resolver/hostile.ts';
import { WorkerInspector } from '../resolver/inspector.ts';

let target: Awaited<ReturnType<typeof startTarget>>;
let inspector: WorkerInspector;

describe('the resolver when a serving thread dies', () => {
  before(async () => {
    const port = await freePort();
    target = await startTarget('hostile-threads', { nodeArgs: [`--inspect=127.0.0.1:${port}`] });
    inspector = await WorkerInspector.connect(port);
    await eventually(() => { assert.equal(inspector.sessions.length, 1, 'one extra serving thread'); }, { timeoutMs: 10_000 });
  });

  after(async () => {
    inspector.close();
    await target.stop();
  });

  for (const [how, expression] of [
    ['an exception nothing catches', 'setTimeout(() => { throw new Error("a bug in a serving thread") }); 1'],
    ['process.exit() inside it', 'setTimeout(() => process.exit(3)); 1'],
  ] as const) {
    test(`a serving thread killed by ${how} is started again while the other one answers`, async () => {
      const attachedBefore = inspector.attached;
      await underAttack(`one of two serving threads killed by ${how}`, target, async () => {
        const session = inspector.sessions[0];
        assert.ok(session);
        inspector.evaluate(session, expression);
        await eventually(() => { assert.match(target.resolver.logs, /serving thread exited; starting it again/); }, { timeoutMs: 5000 });
        // The new thread appears about a second later (the first step of its backoff).
        await eventually(() => { assert.equal(inspector.attached, attachedBefore + 1); }, { timeoutMs: 10_000 });
        await eventually(() => { assert.equal(inspector.sessions.length, 1); }, { timeoutMs: 5000 });
      }, { threadRestarts: 1 });
    });
  }
});
