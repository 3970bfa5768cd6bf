// /readyz: whether this ingress can serve a request now. Each check is something a request needs:
// NATS to reach a worker, a live worker to take the job, Redis to check the key. A load balancer
// takes the ingress out of rotation while any fails; the body names which and why. A stopping
// ingress is not ready either, so that the load balancer sends new requests elsewhere while it drains.

export type ReadinessCheck = 'nats' | 'redis' | 'workers' | 'accepting';

export interface ReadinessSources {
  /** The NATS connection is up (not merely "not closed": reconnecting is down). */
  natsConnected(): boolean;
  /** Redis answered a PING within `redisTimeoutMs` (cached briefly; redis.ts redisProbe). */
  redisAnswers(): Promise<boolean>;
  redisTimeoutMs: number;
  /** Workers heard from within `workerDeadMs`. */
  liveWorkers(): number;
  workerDeadMs: number;
  /** The ingress got SIGTERM and is finishing its streams. */
  draining?(): boolean;
}

export interface ReadinessReport {
  status: 'ready' | 'not_ready';
  checks: Record<ReadinessCheck, boolean>;
  live_workers: number;
  /** One line per failed check, for the operator reading the probe's answer. */
  failed: Array<{ check: ReadinessCheck; message: string }>;
}

export async function readiness(s: ReadinessSources): Promise<ReadinessReport> {
  const liveWorkers = s.liveWorkers();
  const checks = { nats: s.natsConnected(), redis: await s.redisAnswers(), workers: liveWorkers > 0, accepting: !(s.draining?.() ?? false) };
  const failed: ReadinessReport['failed'] = [];
  if (!checks.accepting) failed.push({ check: 'accepting', message: 'This ingress is shutting down (SIGTERM): it finishes the streams it holds and takes no new ones. The load balancer should send requests to another ingress.' });
  if (!checks.nats) failed.push({ check: 'nats', message: 'NATS is disconnected (the ingress is reconnecting): requests cannot reach a worker.' });
  if (!checks.redis) failed.push({ check: 'redis', message: `Redis did not answer a PING within ${s.redisTimeoutMs} ms (ROUTERHUB_REDIS_TIMEOUT_MS): API keys cannot be checked.` });
  if (!checks.workers) failed.push({ check: 'workers', message: `No worker sent a heartbeat in the last ${s.workerDeadMs} ms (ROUTERHUB_WORKER_DEAD_MS): no one can take a request.` });
  return { status: failed.length === 0 ? 'ready' : 'not_ready', checks, live_workers: liveWorkers, failed };
}
