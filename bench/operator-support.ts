/** Waiting helpers the operator benchmarks share. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ControlPlane } from '../src/local/control-plane.ts';
import { apiserverOperatorWrites } from '../test/support/operator.ts';

/** Waits until the apiserver counts no new operator writes for 3 s. */
export async function settle(plane: ControlPlane): Promise<void> {
  let last = await apiserverOperatorWrites(plane);
  for (;;) {
    await sleep(3000);
    const now = await apiserverOperatorWrites(plane);
    if (now === last) return;
    last = now;
  }
}

/** Polls `check` until it is true; throws after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await sleep(100);
  }
}
