// Limits on the request path, across two ingresses sharing NATS and Redis: rpm with OpenAI's
// x-ratelimit-* headers, spend limits of a key and of an account, max_concurrent leases (released at
// a stream's end and when its worker dies), disabled, expired and model-restricted keys, cost per
// deployment, the request log (completed, failed, cancelled), Codex CLI through a limited key, and a
// Redis outage (fail closed, or open for recently seen keys where the operator allows it).
import Redis from 'ioredis';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { waitForPort } from '../../deploy/cluster';
import { api, postResponses, sleep, startTestCluster, terminals, waitUntil, type TestCluster } from '../../libs/testing/cluster';
import { codexHome, runCodex, workspace } from '../../libs/testing/codex';

const WINDOW_MS = 4000;
let tc: TestCluster;
let dash: string;
let ingressA: string;
let ingressB: string;

t.before(async () => {
  tc = await startTestCluster((url) => [
    { id: 'test/model', deployments: [{ provider: 'openai-responses' }] },
    { id: 'alt/model', deployments: [{ provider: 'openai-responses' }] },
    {
      id: 'test/fallback',
      pricing: { input: 1, output: 2 },
      deployments: [
        { provider: 'openai-responses', id: 'primary' },
        { provider: 'openai-responses', id: 'fallback', base_url: `${url}/backup/v1`, pricing: { input: 10, output: 20 } },
      ],
    },
  ], {
    // Two ingresses serve the tests; a third is killed by one.
    ingresses: 3,
    // A short rate window (60 s in production), so a test can wait one out; short leases likewise.
    env: { ROUTERHUB_RATE_WINDOW_MS: String(WINDOW_MS), ROUTERHUB_WORKER_DEAD_MS: '2000', ROUTERHUB_LEASE_TTL_MS: '1500' },
    ingressEnv: [{}, { ROUTERHUB_RATE_LIMITS_FAIL_OPEN: '1' }, {}],
  });
  dash = tc.cluster.dashboardUrl;
  ingressA = tc.cluster.ingresses[0].baseUrl;
  ingressB = tc.cluster.ingresses[1].baseUrl;
});
t.teardown(() => tc.stop());
t.beforeEach(() => tc.mock.reset());

const admin = (method: string, path: string, body?: unknown) => api(dash, method, path, { key: tc.adminKey, body });
const newKey = async (settings: Record<string, unknown>) => (await admin('POST', '/api/v1/keys', { name: 'limited', ...settings })).body as { key: string; data: { id: string; account_id: string } };
const ask = (base: string, key: string, body: Record<string, unknown> = {}, init?: Parameters<typeof postResponses>[3]) =>
  postResponses(base, key, { model: 'test/model', input: 'hello', stream: true, ...body }, init);
const errorOf = (r: { json: Record<string, unknown> | null }) => (r.json as { error: { message: string; code: string; type: string; param: string | null } }).error;
const costOf = (r: { events: Array<{ data: Record<string, unknown> }> }) => (r.events.at(-1)!.data.response as { usage: { cost: number } }).usage.cost;

/** Waits for the start of a fresh rate window, so that a burst lands in one window. */
async function freshWindow(): Promise<void> {
  while (Date.now() % WINDOW_MS > 300) await sleep(20);
}

async function requestLog(query: string): Promise<Array<Record<string, any>>> {
  return (await admin('GET', `/api/v1/requests?${query}`)).body.data as Array<Record<string, any>>;
}

t.test('rpm 5: the 6th request in a window is refused on both ingresses, with OpenAI\'s headers, until the window resets', async (t) => {
  const { key } = await newKey({ rpm: 5 });
  await freshWindow();
  const first = await Promise.all([ingressA, ingressB, ingressA, ingressB, ingressA].map((base) => ask(base, key)));
  t.same(first.map((r) => r.status), [200, 200, 200, 200, 200]);
  t.ok(first.every((r) => r.headers.get('x-ratelimit-limit-requests') === '5'));
  t.same(first.map((r) => Number(r.headers.get('x-ratelimit-remaining-requests'))).sort(), [0, 1, 2, 3, 4], 'one counter across both ingresses');
  t.ok(first.every((r) => /^\d+(ms|s)$/.test(r.headers.get('x-ratelimit-reset-requests') ?? '')));
  t.equal(first[0].headers.get('x-ratelimit-limit-tokens'), null, 'no token limit, no token headers');
  for (const base of [ingressA, ingressB]) {
    const r = await ask(base, key);
    t.equal(r.status, 429);
    t.match(errorOf(r), { code: 'rate_limit_exceeded', type: 'requests', message: /requests \(5 per 4s window\): try again in \d+s/ });
    const retry = Number(r.headers.get('retry-after'));
    t.ok(retry >= 1 && retry <= WINDOW_MS / 1000, `Retry-After ${retry}`);
    t.equal(r.headers.get('x-ratelimit-remaining-requests'), '0');
    t.equal(r.headers.get('x-ratelimit-limit-requests'), '5');
  }
  const rec = (await admin('GET', '/api/v1/keys')).body.data.find((k: { rpm: number }) => k.rpm === 5);
  t.ok(rec, 'the key is listed with its limit');
  await sleep(WINDOW_MS - (Date.now() % WINDOW_MS) + 50);
  const again = await ask(ingressB, key);
  t.equal(again.status, 200, 'admitted again after the reset');
  t.equal(again.headers.get('x-ratelimit-remaining-requests'), '4');
});

t.test('tpm: a window\'s tokens, counted when responses end, stop the key until the window resets', async (t) => {
  const { key } = await newKey({ tpm: 500 });
  await freshWindow();
  tc.mock.script({ parts: [{ type: 'text', text: 'ok' }], usage: { input: 450, output: 100 } });
  const r1 = await ask(ingressA, key);
  t.equal(r1.headers.get('x-ratelimit-remaining-tokens'), '500');
  t.ok(await waitUntil(async () => (await ask(ingressB, key)).status === 429, 2000), 'the 550 tokens count against 500 at once');
  const r = await ask(ingressA, key);
  t.match(errorOf(r), { code: 'rate_limit_exceeded', type: 'tokens', message: /tokens \(500 per 4s window\): try again in \d+s/ });
  t.equal(r.headers.get('x-ratelimit-remaining-tokens'), '0');
});

t.test('a spend limit stops a key after the response that crossed it; an account limit stops all its keys', async (t) => {
  const { key, data } = await newKey({ limit: 0.001, limit_reset: 'daily' });
  // 1000 input × $1.25/M + 50 output × $10/M = $0.00175: over $0.001 in one response.
  tc.mock.script({ parts: [{ type: 'text', text: 'ok' }], usage: { input: 1000, output: 50 } });
  const crossing = await ask(ingressA, key);
  t.equal(crossing.status, 200, 'the response that crosses the limit is served');
  t.equal(costOf(crossing), 0.00175);
  t.ok(await waitUntil(async () => (await api(dash, 'GET', '/api/v1/key', { key })).body.data.usage > 0, 2000));
  for (const base of [ingressA, ingressB]) {
    const r = await ask(base, key);
    t.equal(r.status, 429);
    t.match(errorOf(r), { code: 'insufficient_quota', type: 'insufficient_quota', message: /This API key has used its spend limit of \$0\.001 \(daily\): it resets at \d{4}-\d\d-\d\dT00:00:00\.000Z/ });
    t.ok(Number(r.headers.get('retry-after')) > 0);
  }
  const me = (await api(dash, 'GET', '/api/v1/key', { key })).body.data;
  t.match(me, { id: data.id, limit: 0.001, limit_remaining: 0, usage: 0.00175, usage_daily: 0.00175 });
  // Raising the limit lets it through again.
  await admin('PATCH', `/api/v1/keys/${data.id}`, { limit: 1 });
  tc.mock.script({ parts: [{ type: 'text', text: 'ok' }] });
  t.equal((await ask(ingressB, key)).status, 200);

  const account = (await admin('POST', '/api/v1/accounts', { name: 'budgeted', limit: 0.001 })).body.data;
  const k1 = await newKey({ account_id: account.id });
  const k2 = await newKey({ account_id: account.id });
  tc.mock.script({ parts: [{ type: 'text', text: 'ok' }], usage: { input: 1000, output: 50 } });
  t.equal((await ask(ingressA, k1.key)).status, 200);
  t.ok(await waitUntil(async () => (await ask(ingressB, k2.key)).status === 429, 2000), 'the other key of the account is stopped');
  const r = await ask(ingressA, k2.key);
  t.match(errorOf(r), { code: 'insufficient_quota', message: new RegExp(`account \\(${account.id}\\) has used its spend limit of \\$0\\.001: it does not reset`) });
});

t.test('GET /api/v1/key: usage equals the sum of usage.cost the client saw', async (t) => {
  const { key } = await newKey({});
  let sum = 0;
  for (let i = 0; i < 4; i++) {
    tc.mock.script({ parts: [{ type: 'text', text: 'ok' }], usage: { input: 1000 + i * 333, cached: i * 100, output: 10 + i * 7, reasoning: i } });
    const r = await ask(i % 2 ? ingressA : ingressB, key, i === 3 ? { stream: false } : {});
    sum += i === 3 ? (r.json as { usage: { cost: number } }).usage.cost : costOf(r);
  }
  t.ok(await waitUntil(async () => Math.round((await api(dash, 'GET', '/api/v1/key', { key })).body.data.usage * 1e6) === Math.round(sum * 1e6), 2000),
    `usage = ${sum}`);
});

t.test('max_concurrent 2: a third stream is refused until one ends', async (t) => {
  const { key } = await newKey({ max_concurrent: 2 });
  const long = { parts: [{ type: 'text' as const, text: 'word '.repeat(200) }], delayMs: 20 };
  tc.mock.script(long, long, { parts: [{ type: 'text', text: 'third' }] });
  const aborts = [new AbortController(), new AbortController()];
  const started: Array<Promise<void>> = [];
  const streams = aborts.map((a, i) => {
    let seen!: () => void;
    started.push(new Promise<void>((r) => (seen = r)));
    return ask(i ? ingressB : ingressA, key, {}, { signal: a.signal, onEvent: (e) => e.data.type === 'response.output_text.delta' && seen() }).catch(() => null);
  });
  await Promise.all(started);
  const third = await ask(ingressA, key);
  t.equal(third.status, 429);
  t.match(errorOf(third), { code: 'rate_limit_exceeded', message: /2 streams running, its limit \(max_concurrent 2\): try again in 1s/ });
  t.equal(third.headers.get('retry-after'), '1');
  aborts[0].abort();
  t.ok(await waitUntil(async () => {
    const r = await ask(ingressB, key);
    return r.status === 200;
  }, 3000), 'admitted again once one stream ended');
  aborts[1].abort();
  await Promise.all(streams);
});

t.test('max_concurrent: a stream whose worker is killed gives its lease back', async (t) => {
  const { key } = await newKey({ max_concurrent: 1 });
  tc.mock.script({ parts: [{ type: 'text', text: 'word '.repeat(500) }], delayMs: 50 });
  let seen!: () => void;
  const started = new Promise<void>((r) => (seen = r));
  const stream = ask(ingressA, key, {}, { onEvent: (e) => e.data.type === 'response.output_text.delta' && seen() });
  await started;
  t.equal((await ask(ingressB, key)).status, 429, 'the one stream holds the lease');
  for (const w of tc.cluster.workers) w.kill('SIGKILL');
  await tc.cluster.addWorker();
  const lost = await stream;
  t.match(terminals(lost.events)[0]?.data, { type: 'response.failed', response: { error: { code: 'worker_lost' } } });
  // The ingress sends the lease's release to Redis as it writes the terminal event; the next request
  // goes to another ingress, over another Redis connection, so it may still arrive first.
  t.ok(await waitUntil(async () => {
    tc.mock.script({ parts: [{ type: 'text', text: 'ok' }] });
    return (await ask(ingressB, key)).status === 200;
  }, 3000), 'the lease was released when the ingress gave up on the dead worker');
  await tc.cluster.addWorker();
});

t.test('max_concurrent: the leases of an ingress that dies lapse', async (t) => {
  const { key } = await newKey({ max_concurrent: 1 });
  const doomed = tc.cluster.ingresses[2];
  tc.mock.script({ parts: [{ type: 'text', text: 'word '.repeat(500) }], delayMs: 50 });
  let seen!: () => void;
  const started = new Promise<void>((r) => (seen = r));
  const stream = ask(doomed.baseUrl, key, {}, { onEvent: (e) => e.data.type === 'response.output_text.delta' && seen() }).catch(() => null);
  await started;
  t.equal((await ask(ingressA, key)).status, 429, 'the stream on the third ingress holds the lease');
  doomed.process.kill('SIGKILL');
  await stream;
  const at = Date.now();
  tc.mock.script({ parts: [{ type: 'text', text: 'ok' }] });
  t.ok(await waitUntil(async () => (await ask(ingressA, key)).status === 200, 4000, 200), 'admitted once the dead ingress\'s lease lapsed');
  t.ok(Date.now() - at <= 3000, `within the lease TTL (${Date.now() - at} ms)`);
});

t.test('a disabled key gets 401 on every ingress at once (GET /v1/models within the key cache\'s 5 s), and works again when enabled', async (t) => {
  const { key, data } = await newKey({});
  t.equal((await ask(ingressA, key)).status, 200);
  const models = () => fetch(`${ingressB}/v1/models`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.status);
  t.equal(await models(), 200);
  await admin('PATCH', `/api/v1/keys/${data.id}`, { disabled: true });
  for (const base of [ingressA, ingressB]) {
    const r = await ask(base, key);
    t.equal(r.status, 401);
    t.match(errorOf(r), { code: 'invalid_api_key', message: /disabled/ });
  }
  t.ok(await waitUntil(async () => (await models()) === 401, 5500, 250), '/v1/models refuses it within the cache lifetime');
  await admin('PATCH', `/api/v1/keys/${data.id}`, { disabled: false });
  t.equal((await ask(ingressB, key)).status, 200);
});

t.test('expired keys get 401; a model the key may not use gets 403 naming it', async (t) => {
  const soon = await newKey({ expires_at: new Date(Date.now() + 1000).toISOString() });
  t.equal((await ask(ingressA, soon.key)).status, 200);
  await sleep(1100);
  const expired = await ask(ingressA, soon.key);
  t.equal(expired.status, 401);
  t.match(errorOf(expired).message, /expired/);

  const narrow = await newKey({ models: ['test/*'] });
  t.equal((await ask(ingressB, narrow.key)).status, 200);
  const refused = await ask(ingressB, narrow.key, { model: 'alt/model' });
  t.equal(refused.status, 403);
  t.match(errorOf(refused), { code: 'model_not_allowed', param: 'model', message: /may not use the model 'alt\/model'\. It may use: test\/\*/ });
});

t.test('cost per deployment: a fallback priced differently bills at its own price; the log names it and the failed attempt', async (t) => {
  const { key, data } = await newKey({});
  tc.mock.script({ httpError: { status: 503, message: 'primary down' }, parts: [] }, { parts: [{ type: 'text', text: 'from the fallback' }], usage: { input: 1000, output: 100 } });
  const r = await ask(ingressA, key, { model: 'test/fallback' });
  t.equal(r.status, 200);
  t.equal(costOf(r), 0.012, '1000 × $10/M + 100 × $20/M at the fallback\'s price, not the model\'s');
  t.ok(await waitUntil(async () => (await requestLog(`key_id=${data.id}`)).length === 1, 2000));
  const [rec] = await requestLog(`key_id=${data.id}`);
  t.match(rec, { model: 'test/fallback', deployment: 'fallback', status: 'completed', error_code: null, input_tokens: 1000, output_tokens: 100, cost: 0.012, endpoint: '/v1/responses' });
  t.match(rec.attempts, [{ deployment: 'primary', status: 503 }]);
  const byDeployment = (await admin('GET', `/api/v1/usage?key_id=${data.id}&group_by=deployment`)).body.data;
  t.match(byDeployment, [{ deployment: 'fallback', requests: 1, cost: 0.012 }]);
});

t.test('the request log holds one record per response: completed, failed and cancelled, with tokens, timing and user agent', async (t) => {
  const { key, data } = await newKey({});
  tc.mock.script({ parts: [{ type: 'text', text: 'done' }], usage: { input: 200, cached: 50, output: 20, reasoning: 4 }, delayMs: 5 });
  const ok = await ask(ingressA, key, {}, { headers: { 'user-agent': 'codex_exec/0.169.0' } });
  const responseId = (ok.events.at(-1)!.data.response as { id: string }).id;
  tc.mock.script({ httpError: { status: 400, message: 'bad thing', type: 'invalid_request_error' }, parts: [] });
  const failed = await ask(ingressB, key);
  t.equal(failed.status, 400);
  tc.mock.script({ parts: [{ type: 'text', text: 'word '.repeat(500) }], delayMs: 30 });
  const abort = new AbortController();
  await ask(ingressA, key, {}, { signal: abort.signal, onEvent: (e) => e.data.type === 'response.output_text.delta' && abort.abort() }).catch(() => null);
  t.ok(await waitUntil(async () => (await requestLog(`key_id=${data.id}`)).length === 3, 3000), 'three records');
  const [cancelled, fail, done] = await requestLog(`key_id=${data.id}`);
  t.match(done, {
    response_id: responseId, account_id: 'default', key_id: data.id, user_agent: 'codex_exec/0.169.0', endpoint: '/v1/responses', model: 'test/model',
    deployment: /^openai-responses\/model-0@127\.0\.0\.1:\d+$/, attempts: [], status: 'completed', error_code: null,
    input_tokens: 200, cached_tokens: 50, output_tokens: 20, reasoning_tokens: 4, cost: costOf(ok),
  });
  t.ok(done.time_to_first_token_ms >= 0 && done.duration_ms >= done.time_to_first_token_ms);
  t.notOk('request_body' in done, 'no prompt text unless the operator turns it on');
  t.match(fail, { status: 'failed', error_code: /.+/, input_tokens: 0, cost: 0 });
  t.match(cancelled, { status: 'cancelled', error_code: 'client_cancelled' });
  t.same((await requestLog(`key_id=${data.id}&status=failed`)).map((r) => r.id), [fail.id], 'filter by status');
  const page = (await admin('GET', `/api/v1/requests?key_id=${data.id}&limit=2`)).body;
  t.equal(page.data.length, 2);
  t.equal(page.has_more, true);
  const next = (await admin('GET', `/api/v1/requests?key_id=${data.id}&limit=2&before=${page.next_before}`)).body;
  t.same(next.data.map((r: { id: string }) => r.id), [done.id]);
  t.equal(next.has_more, false);
});

t.test('Codex CLI through a key limited to 1 request per window: shows RouterHub\'s 429, then recovers after the reset', async (t) => {
  const { key } = await newKey({ rpm: 1 });
  const home = codexHome(tc.cluster.baseUrl, 'test/model');
  tc.mock.script({ parts: [{ type: 'text', text: 'first answer' }] });
  const first = await runCodex(home, key, workspace(), ['first']);
  t.equal(first.code, 0, first.stderr.slice(-1000));
  // The test config lets Codex retry nothing (stream_max_retries = 0): the refusal is final. Its
  // request must land in a window already spent: spend one just before Codex starts, and go again
  // (at most 3 times) when a loaded machine made Codex slow enough to reach the next window.
  let refused = first;
  for (let attempt = 0; attempt < 3 && refused.code === 0; attempt++) {
    await freshWindow();
    t.ok([200, 429].includes((await ask(tc.cluster.baseUrl, key)).status), 'the window is spent (by this request, or by one just before it)');
    refused = await runCodex(home, key, workspace(), ['second']);
  }
  t.not(refused.code, 0);
  t.match(refused.stderr, /rate limit exceeded: Rate limit reached for this API key on requests \(1 per 4s window\): try again in \ds/, 'Codex shows RouterHub\'s message');
  await sleep(WINDOW_MS - (Date.now() % WINDOW_MS) + 50);
  tc.mock.script({ parts: [{ type: 'text', text: 'second answer' }] });
  const recovered = await runCodex(home, key, workspace(), ['second']);
  t.equal(recovered.code, 0, recovered.stderr.slice(-1000));
  t.match(recovered.stdout, /second answer/);

  // With its default retries Codex waits the delay named in the message and goes on by itself.
  writeFileSync(join(home, 'config.toml'), readFileSync(join(home, 'config.toml'), 'utf8').replace('stream_max_retries = 0', 'stream_max_retries = 2'));
  let waited = first;
  for (let attempt = 0; attempt < 3 && !/Reconnecting/.test(waited.stderr); attempt++) {
    await freshWindow();
    t.ok([200, 429].includes((await ask(tc.cluster.baseUrl, key)).status), 'the window is spent (by this request, or by one just before it)');
    tc.mock.script({ parts: [{ type: 'text', text: 'fourth answer' }] });
    waited = await runCodex(home, key, workspace(), ['fourth']);
  }
  t.equal(waited.code, 0, waited.stderr.slice(-1000));
  t.match(waited.stderr, /Reconnecting\.\.\. 1\/2/, 'it retried once, after the delay');
  t.match(waited.stdout, /fourth answer/);
});

t.test('Redis down: key checks fail closed (503 key_store_unavailable); an ingress set to fail open admits keys it saw lately', async (t) => {
  const { key } = await newKey({ rpm: 1000 });
  tc.mock.script({ parts: [{ type: 'text', text: 'a' }] }, { parts: [{ type: 'text', text: 'b' }] });
  t.equal((await ask(ingressA, key)).status, 200);
  t.equal((await ask(ingressB, key)).status, 200);
  // SHUTDOWN's reply never comes (the server is gone): send it, then watch the port close.
  const redis = new Redis(tc.cluster.redisUrl, { maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined);
  redis.call('SHUTDOWN', 'NOSAVE').catch(() => undefined);
  const port = Number(new URL(tc.cluster.redisUrl).port);
  t.ok(await waitUntil(() => waitForPort(port, 50).then(() => false, () => true), 3000), 'Redis is down');
  redis.disconnect();
  tc.mock.script({ parts: [{ type: 'text', text: 'served without Redis' }] });
  let at = Date.now();
  const open = await ask(ingressB, key);
  t.equal(open.status, 200, 'the fail-open ingress admits a key it checked within its key cache lifetime');
  t.comment(`fail-open answer after ${Date.now() - at} ms: ${open.status} ${open.raw.slice(0, 300)}`);
  at = Date.now();
  const closed = await ask(ingressA, key);
  t.comment(`fail-closed answer after ${Date.now() - at} ms`);
  t.equal(closed.status, 503);
  t.match(errorOf(closed), { code: 'key_store_unavailable' });
  t.equal((await ask(ingressB, tc.key)).status, 503, 'but not a key it has not seen lately');
  const metric = async (base: string) => (await (await fetch(`${base}/metrics`)).text()).match(/routerhub_limit_store_errors_total\{outcome="(open|closed)"\} (\d+)/g) ?? [];
  t.match((await metric(ingressA)).join(' '), /outcome="closed"\} [1-9]/);
  t.match((await metric(ingressB)).join(' '), /outcome="open"\} [1-9]/);
});
