/**
 * Starts the one control plane of an integration test run and stops it afterwards, with the
 * real node if a test started one (test/support/real-node.ts starts it on first use).
 */
import { startSharedControlPlane, stopSharedControlPlane } from './cluster.ts';
import { stopRealNode } from './real-node.ts';

export async function globalSetup(): Promise<void> {
  await startSharedControlPlane();
}

export async function globalTeardown(): Promise<void> {
  await stopRealNode();
  await stopSharedControlPlane();
}
