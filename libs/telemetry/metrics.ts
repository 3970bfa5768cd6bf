// Prometheus metrics (prom-client). One registry per process; the ingress serves it on /metrics,
// a worker on WORKER_METRICS_PORT when set, the dashboard on its /metrics. Labels take only values
// from bounded sets (catalog model and deployment ids, error codes RouterHub writes, fixed causes),
// so a client cannot grow a series per request. deploy/grafana/routerhub.json charts these names.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export const registry = new Registry();

/** Filled in by the process's deployment health view (libs/routing/health.ts): sets routerhub_deployment_state when scraped. */
export const scrapeHooks: { deploymentState: (() => void) | null } = { deploymentState: null };
collectDefaultMetrics({ register: registry });

export const metrics = {
  requests: new Counter({ name: 'routerhub_requests_total', help: 'Responses requests by model and outcome', labelNames: ['model', 'outcome'], registers: [registry] }),
  activeStreams: new Gauge({ name: 'routerhub_active_streams', help: 'Client responses in flight on this ingress', registers: [registry] }),
  timeToFirstByte: new Histogram({
    name: 'routerhub_time_to_first_event_seconds', help: 'From request to the first response event sent to the client',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry],
  }),
  waitingBytes: new Gauge({ name: 'routerhub_waiting_request_bytes', help: 'Request bytes on this ingress that no worker has accepted yet (capped by ROUTERHUB_MAX_WAITING_BYTES)', registers: [registry] }),
  atCapacity: new Counter({ name: 'routerhub_rejected_at_capacity_total', help: 'Requests turned away with 503 because too many requests were waiting for a worker', registers: [registry] }),
  slowClientDrops: new Counter({ name: 'routerhub_slow_client_drops_total', help: 'Streams ended because the client read slower than the buffer bound', registers: [registry] }),
  workerJobs: new Gauge({ name: 'routerhub_worker_jobs', help: 'Jobs in flight on this worker', registers: [registry] }),
  natsMessagesDropped: new Counter({ name: 'routerhub_nats_messages_dropped_total', help: 'NATS messages this process could not decode or handle (a corrupt message, or one from a build with another frame format), by kind: job, batches, out, body, heartbeat, cancel; dropped, and each logged', labelNames: ['kind'], registers: [registry] }),
  lateJobs: new Counter({ name: 'routerhub_worker_late_jobs_total', help: 'Copies of jobs a worker read after their ingress stopped waiting for an accept (it answered 503 no_worker_available): dropped, not sent to a provider', registers: [registry] }),
  upstreamRequests: new Counter({ name: 'routerhub_upstream_requests_total', help: 'Upstream attempts by provider family and result', labelNames: ['provider', 'result'], registers: [registry] }),
  limitStoreErrors: new Counter({ name: 'routerhub_limit_store_errors_total', help: 'Requests whose key and limit checks could not reach Redis, by outcome: closed (503 key_store_unavailable) or open (admitted without limits, ROUTERHUB_RATE_LIMITS_FAIL_OPEN)', labelNames: ['outcome'], registers: [registry] }),
  usageRecords: new Counter({ name: 'routerhub_usage_records_total', help: 'Ledger lines written by workers, by basis: the provider\'s usage, or RouterHub\'s estimate (a stream cancelled or broken before the provider\'s usage arrived)', labelNames: ['basis'], registers: [registry] }),
  usageRecordsLost: new Counter({ name: 'routerhub_usage_records_lost_total', help: 'Ledger lines a worker gave up writing because Redis refused them for longer than the retry bound (each is also logged with its usage)', registers: [registry] }),
  failovers: new Counter({ name: 'routerhub_failovers_total', help: 'Upstream attempts that failed before output and moved to the next deployment, by the deployment that failed and why (cause: rate_limit, auth, model_not_found, overloaded, connection, stream_failed, server_error, other)', labelNames: ['provider', 'deployment', 'cause'], registers: [registry] }),
  // cached / input per model and deployment is the prompt-cache hit rate.
  tokens: new Counter({ name: 'routerhub_tokens_total', help: 'Tokens billed by workers, by catalog model, the deployment that served (response-cache: a response-cache hit) and type (input includes cached and cache_write; output includes reasoning)', labelNames: ['model', 'deployment', 'type'], registers: [registry] }),
  responseCache: new Counter({ name: 'routerhub_response_cache_total', help: 'Response-cache lookups and stores by model and result: hit, miss, bypass (a request with tool outputs), stored, too_large (not stored: over the entry bound), error (Redis refused: served uncached)', labelNames: ['model', 'result'], registers: [registry] }),
  contextCache: new Counter({ name: 'routerhub_prompt_cache_explicit_total', help: 'Explicit prompt caches (Gemini cachedContents, a deployment\'s prompt_cache) by deployment and result: hit (a cache named in Redis was used), created, create_failed (sent whole), refused (the provider no longer had it: sent whole, forgotten), error (Redis refused: sent whole)', labelNames: ['deployment', 'result'], registers: [registry] }),
  upstreamFirstByte: new Histogram({
    name: 'routerhub_upstream_time_to_first_byte_seconds', help: 'From sending an upstream request to the first byte of its answer (status line and headers), by deployment',
    labelNames: ['deployment'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60], registers: [registry],
  }),
  upstreamDuration: new Histogram({
    name: 'routerhub_upstream_duration_seconds', help: 'One upstream attempt from request to its end (completed, failed, or stopped), by deployment and result',
    labelNames: ['deployment', 'result'], buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600], registers: [registry],
  }),
  requestDuration: new Histogram({
    name: 'routerhub_request_duration_seconds', help: 'A client response at the ingress, from request to its end, by catalog model and outcome',
    labelNames: ['model', 'outcome'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600], registers: [registry],
  }),
  rejections: new Counter({ name: 'routerhub_rejections_total', help: 'Requests the ingress answered with an error before dispatching them to a worker, by HTTP status and error code (reason)', labelNames: ['status', 'reason'], registers: [registry] }),
  dashboardRequests: new Counter({ name: 'routerhub_dashboard_requests_total', help: 'Dashboard and control API requests by resource (keys, usage, requests, …; static: the web app) and HTTP status', labelNames: ['resource', 'status'], registers: [registry] }),
  deploymentState: new Gauge({ name: 'routerhub_deployment_state', help: 'Each deployment\'s health as this process sees it: 1 for its state (healthy, rate_limited, ejected, half_open), 0 for the others', labelNames: ['deployment', 'state'], registers: [registry], collect: () => scrapeHooks.deploymentState?.() }),
  deploymentEjections: new Counter({ name: 'routerhub_deployment_ejections_total', help: 'Deployments this process ejected after consecutive 5xx or connection failures (a half-open probe that failed included)', labelNames: ['deployment'], registers: [registry] }),
  deploymentsSkipped: new Counter({ name: 'routerhub_deployments_skipped_total', help: 'Deployments of a route plan a worker passed over: rate limited (not tried), or half-open and being probed by another request (tried last)', labelNames: ['deployment', 'state'], registers: [registry] }),
  reasoningDropped: new Counter({ name: 'routerhub_reasoning_items_dropped_total', help: 'Reasoning items not sent upstream because another deployment (another organisation) made their encrypted_content, which this one would reject', labelNames: ['deployment'], registers: [registry] }),
};

/** Token counts of one billed response, as `routerhub_tokens_total` types. */
export function countTokens(model: string, deployment: string, usage: { input_tokens: number; output_tokens: number; input_tokens_details?: { cached_tokens?: number; cache_write_tokens?: number }; output_tokens_details?: { reasoning_tokens?: number } }): void {
  const counts: Array<[string, number | undefined]> = [
    ['input', usage.input_tokens], ['cached', usage.input_tokens_details?.cached_tokens], ['cache_write', usage.input_tokens_details?.cache_write_tokens],
    ['output', usage.output_tokens], ['reasoning', usage.output_tokens_details?.reasoning_tokens],
  ];
  for (const [type, n] of counts) if (n) metrics.tokens.inc({ model, deployment, type }, n);
}

/**
 * Why a failover happened, from the failed attempt's RouterHub error code (libs/providers/errors.ts)
 * and status: a fixed set, because an upstream's own codes are not (they would grow a label without bound).
 */
export function failoverCause(status: number, code: string | null): string {
  if (code === 'rate_limit_exceeded' || status === 429) return 'rate_limit';
  if (code === 'upstream_auth_failed') return 'auth';
  if (code === 'upstream_model_not_found') return 'model_not_found';
  if (code === 'server_is_overloaded') return 'overloaded';
  if (code === 'upstream_connection_error') return 'connection';
  if (code === 'upstream_stream_incomplete' || code === 'upstream_malformed_stream') return 'stream_failed';
  if (code === 'upstream_error' || status >= 500) return 'server_error';
  return 'other';
}
