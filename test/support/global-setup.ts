/** Starts the one control plane of an integration test run and stops it afterwards. */
import { startSharedControlPlane, stopSharedControlPlane } from './cluster.ts';

export async function globalSetup(): Promise<void> {
  await startSharedControlPlane();
}

export async function globalTeardown(): Promise<void> {
  await stopSharedControlPlane();
}
