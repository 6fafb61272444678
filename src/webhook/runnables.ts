/**
 * The injection webhook's part of the operator process.
 *
 * This module is the seam between the operator and the webhook: `clusterdns operator` calls
 * `webhookRunnables()` once and adds what it returns to its manager.
 */
import type { KubeClient } from '../kube/client.ts';
import type { Logger } from '../kube/log.ts';
import type { Runnable } from '../controller/runnable.ts';

export interface WebhookOptions {
  readonly client: KubeClient;
  /** The operator's namespace: the serving certificate's Secret and the webhook Service live here. */
  readonly namespace: string;
  /** HTTPS port of the admission server (`--webhook-port`, 9443). */
  readonly port: number;
  /** Address to bind; every interface when absent. */
  readonly host?: string;
  /**
   * When set (`--webhook-url`), the MutatingWebhookConfiguration calls this URL instead of
   * the clusterdns-webhook Service (local mode and tests, where the apiserver reaches the
   * operator on loopback).
   */
  readonly url?: string;
  readonly log: Logger;
}

/**
 * The webhook's runnables: the admission server (on every replica, `needLeaderElection:
 * false`), and the manager of its certificate authority, serving certificate and the
 * MutatingWebhookConfiguration `clusterdns-injector` (on the leader only).
 *
 * Placeholder until the webhook is merged: returns no runnables, so the operator runs
 * without injection.
 */
export function webhookRunnables(_options: WebhookOptions): Runnable[] {
  return [];
}
