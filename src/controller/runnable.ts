/**
 * What the operator process runs: controllers, the webhook server, certificate rotation.
 *
 * As in controller-runtime's manager, a runnable either runs on every replica (the webhook
 * server) or only on the elected leader (anything that writes). `start` runs until `signal`
 * aborts (shutdown, or leadership lost) and rejects only on a failure the process cannot
 * recover from.
 */
export interface Runnable {
  readonly name: string;
  readonly needLeaderElection: boolean;
  start(signal: AbortSignal): Promise<void>;
}
