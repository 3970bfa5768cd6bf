// NATS subjects between ingress and workers (ARCHITECTURE.md, "Subjects").
// Cancels go to the worker that owns the request, not to a per-request subject: a worker then holds
// one cancel subscription instead of one per stream (10k streams = 10k subscriptions otherwise).

export const WORKER_QUEUE = 'workers';

export const subjects = {
  job: (pool: string) => `rh.job.${pool}`,
  /** Frame batches sent one per message (a worker of an older build); the request id is the last token. */
  outFor: (ingressId: string) => `rh.out.${ingressId}.*`,
  out: (ingressId: string, requestId: string) => `rh.out.${ingressId}.${requestId}`,
  /** Frame batches of many responses for one ingress in one message (a worker's one event-loop turn). */
  batches: (ingressId: string) => `rh.out.${ingressId}`,
  cancel: (workerId: string) => `rh.cancel.${workerId}`,
  /** Chunks of the request bodies an ingress holds for workers (bodies over NATS's max_payload). */
  body: (ingressId: string) => `rh.body.${ingressId}`,
  heartbeat: 'rh.hb',
} as const;

export function requestIdOf(outSubject: string): string {
  return outSubject.slice(outSubject.lastIndexOf('.') + 1);
}

/** The ingress an out subject (`rh.out.<ingress>.<request>`) leads to. */
export function ingressOf(outSubject: string): string {
  return outSubject.split('.')[2] ?? '';
}
