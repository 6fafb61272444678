/**
 * The webhook's own metrics (registered on the operator's registry, served on :8080/metrics):
 * how long a review takes inside the webhook, by outcome. The apiserver's
 * `apiserver_admission_webhook_admission_duration_seconds` adds the network and TLS to it.
 */
import { Histogram } from 'prom-client';
import type { Registry } from 'prom-client';

/** What the server reports about each request. */
export interface AdmissionMetrics {
  /** `outcome`: inject, skip, warn, bad-request or error. */
  observe(outcome: string, seconds: number): void;
}

export const NO_METRICS: AdmissionMetrics = { observe: () => undefined };

export function admissionMetrics(registry: Registry): AdmissionMetrics {
  const duration = new Histogram({
    name: 'clusterdns_webhook_admission_duration_seconds',
    help: 'Time from the start of an admission request to its answer, inside the webhook, by outcome.',
    labelNames: ['outcome'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return { observe: (outcome, seconds) => { duration.observe({ outcome }, seconds); } };
}
