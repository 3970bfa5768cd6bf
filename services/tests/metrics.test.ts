// Operator metrics of each real process: the ingress counts rejections before dispatch and request
// durations; a worker (WORKER_METRICS_PORT) counts tokens by model and type, upstream time to first
// byte and duration by deployment, and failovers with their cause; the dashboard has its own
// /metrics; the worker and the dashboard answer /healthz and /readyz for an orchestrator's probes.
import t from 'tap';
import { freePort } from '../../deploy/cluster';
import { postResponses, startTestCluster, waitUntil, type TestCluster } from '../../libs/testing/cluster';

let tc: TestCluster;
let workerPort: number;

t.before(async () => {
  workerPort = await freePort();
  tc = await startTestCluster(() => [
    { id: 'test/metered', deployments: [{ provider: 'openai-responses', id: 'primary' }, { provider: 'anthropic', id: 'fallback' }] },
  ], { workers: 1, env: { WORKER_METRICS_PORT: String(workerPort), ROUTERHUB_MAX_BODY_BYTES: '4096' } });
});
t.teardown(() => tc.stop());

async function scrape(url: string): Promise<string> {
  const res = await fetch(url);
  return res.text();
}

/** The value of one series in Prometheus text, or 0 when it is absent. */
function valueOf(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

t.test('rejections before dispatch are counted by status and reason at the ingress', async (t) => {
  const body = { model: 'test/metered', stream: true, input: 'hi' };
  t.equal((await postResponses(tc.cluster.baseUrl, 'sk-rh-not-a-key', body)).status, 401);
  t.equal((await postResponses(tc.cluster.baseUrl, tc.key, { ...body, input: 'x'.repeat(8000) })).status, 413);
  t.equal((await postResponses(tc.cluster.baseUrl, tc.key, { ...body, model: 'nobody/nothing' })).status, 404);
  t.equal((await postResponses(tc.cluster.baseUrl, tc.key, { ...body, temperature: 'hot' })).status, 400);
  const m = await scrape(`${tc.cluster.baseUrl}/metrics`);
  t.equal(valueOf(m, 'routerhub_rejections_total{status="401",reason="invalid_api_key"}'), 1);
  t.equal(valueOf(m, 'routerhub_rejections_total{status="413",reason="request_too_large"}'), 1);
  t.equal(valueOf(m, 'routerhub_rejections_total{status="404",reason="model_not_found"}'), 1);
  t.equal(valueOf(m, 'routerhub_rejections_total{status="400",reason="invalid_type"}'), 1);
});

t.test('a failover and a served response: cause, tokens, upstream timings and request duration', async (t) => {
  tc.mock.script(
    { parts: [], httpError: { status: 429, retryAfter: 2 } },
    { parts: [{ type: 'reasoning', text: 'Thinking.' }, { type: 'text', text: 'Hello there.' }], usage: { input: 200, cached: 64, output: 30, reasoning: 10 } },
  );
  const r = await postResponses(tc.cluster.baseUrl, tc.key, { model: 'test/metered', stream: true, input: 'hi' });
  t.equal(r.events.at(-1)?.data.type, 'response.completed');
  const worker = `http://127.0.0.1:${workerPort}`;
  // The ledger line (and its token counts) is written after the terminal frame.
  t.ok(await waitUntil(async () => valueOf(await scrape(`${worker}/metrics`), 'routerhub_tokens_total{model="test/metered",deployment="fallback",type="input"}') > 0, 5000));
  const w = await scrape(`${worker}/metrics`);
  t.equal(valueOf(w, 'routerhub_failovers_total{provider="openai-responses",deployment="primary",cause="rate_limit"}'), 1);
  t.equal(valueOf(w, 'routerhub_tokens_total{model="test/metered",deployment="fallback",type="input"}'), 200);
  t.equal(valueOf(w, 'routerhub_tokens_total{model="test/metered",deployment="fallback",type="cached"}'), 64);
  t.equal(valueOf(w, 'routerhub_tokens_total{model="test/metered",deployment="fallback",type="output"}'), 30);
  t.equal(valueOf(w, 'routerhub_tokens_total{model="test/metered",deployment="fallback",type="reasoning"}'), 10);
  t.equal(valueOf(w, 'routerhub_upstream_time_to_first_byte_seconds_count{deployment="primary"}'), 1);
  t.equal(valueOf(w, 'routerhub_upstream_time_to_first_byte_seconds_count{deployment="fallback"}'), 1);
  t.equal(valueOf(w, 'routerhub_upstream_duration_seconds_count{deployment="primary",result="failed"}'), 1);
  t.equal(valueOf(w, 'routerhub_upstream_duration_seconds_count{deployment="fallback",result="completed"}'), 1);
  t.equal(valueOf(w, 'routerhub_worker_jobs'), 0);
  const i = await scrape(`${tc.cluster.baseUrl}/metrics`);
  t.equal(valueOf(i, 'routerhub_request_duration_seconds_count{model="test/metered",outcome="completed"}'), 1);
});

t.test('the worker and the dashboard answer /metrics, /healthz and /readyz', async (t) => {
  const worker = `http://127.0.0.1:${workerPort}`;
  for (const base of [worker, tc.cluster.dashboardUrl]) {
    const health = await fetch(`${base}/healthz`);
    t.equal(health.status, 200, `${base}/healthz`);
    const ready = await fetch(`${base}/readyz`);
    t.equal(ready.status, 200, `${base}/readyz`);
    t.match(await ready.json(), { status: 'ready', failed: [] });
  }
  await fetch(`${tc.cluster.dashboardUrl}/api/v1/keys`);
  const d = await scrape(`${tc.cluster.dashboardUrl}/metrics`);
  t.ok(valueOf(d, 'routerhub_dashboard_requests_total{resource="keys",status="401"}') >= 1, 'dashboard requests by resource and status');
  t.ok(valueOf(d, 'routerhub_dashboard_requests_total{resource="healthz",status="200"}') >= 1);
  t.match(d, /nodejs_eventloop_lag_seconds/, 'the process metrics too');
});
