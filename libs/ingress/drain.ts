// How a stopping ingress leaves the fleet without cutting a stream. /readyz answers 503 at once so
// the load balancer takes the ingress out of rotation; the listen socket stays open until the
// balancer had time to notice (requests it still sends meanwhile are served); then the ingress
// waits for its streams, and ends those still open when the grace period is over with a failure a
// client retries (Codex resends a turn that ends in `response.failed` with this code).
import { ingressShuttingDown, type HttpError } from '../protocol/errors';

export interface DrainingIngress {
  /** From now on /readyz answers 503 (`accepting: false`). */
  markDraining(): void;
  /** Stops taking new connections. */
  closeListener(): void;
  /** Responses still being served. */
  inflight(): number;
  /** Ends every response still served with `error`; returns how many. */
  failRemaining(error: HttpError): number;
}

export interface DrainTiming {
  /** How long the load balancer needs to see /readyz fail (its check interval × fall count, plus margin). */
  noticeMs: number;
  /** From SIGTERM to the end of the last stream (the listen delay included). */
  graceMs: number;
}

/** Returns how many responses had to be ended early. */
export async function drainIngress(ingress: DrainingIngress, timing: DrainTiming, log: (msg: string) => void): Promise<number> {
  const started = Date.now();
  ingress.markDraining();
  log(`draining: /readyz answers 503; new connections are taken for ${timing.noticeMs} ms more, streams get ${timing.graceMs} ms in all`);
  await sleep(Math.min(timing.noticeMs, timing.graceMs));
  ingress.closeListener();
  const until = started + timing.graceMs;
  while (ingress.inflight() > 0 && Date.now() < until) await sleep(50);
  const cut = ingress.failRemaining(ingressShuttingDown());
  if (cut > 0) log(`grace period over: ${cut} responses ended with ingress_shutting_down`);
  return cut;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
