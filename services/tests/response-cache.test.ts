// The response cache on the real cluster: a model whose catalog entry enables it, or a request with
// `x-routerhub-cache: on`, is answered from Redis the second time: the same content under a new
// response id, zero billed usage, `x-routerhub-cache: hit`, and no upstream call. Requests that carry
// tool outputs are not cached unless asked; responses past the entry bound, cut short or failed are
// not stored; the store keeps its total under its bound.
import Redis from 'ioredis';
import t from 'tap';
import { freePort } from '../../deploy/cluster';
import type { MockTurn } from '../../libs/providers/mock/script';
import { chunks } from '../../libs/providers/replay';
import type { ResponsesRequest } from '../../libs/protocol/types';
import { responseCacheKey, ResponseCacheStore } from '../../libs/store/response-cache';
import { api, postResponses, sleep, startTestCluster, terminals, waitUntil, type ClientResult, type SseEvent, type TestCluster } from '../../libs/testing/cluster';
import { requestHash } from '../../libs/worker/response-cache';
import { LedgerProbe, withLedgerCluster } from '../../libs/testing/ledger';

const MAX_ENTRY_BYTES = 8 * 1024;

let tc: TestCluster;
let redis: Redis;
let probe: LedgerProbe;
/** The one worker's Prometheus metrics (WORKER_METRICS_PORT). */
let workerMetrics: string;

withLedgerCluster(t, async () => {
  const metricsPort = await freePort();
  workerMetrics = `http://127.0.0.1:${metricsPort}/metrics`;
  return startTestCluster(() => [
    { id: 'cache/on', response_cache: { ttl_s: 60 }, deployments: [{ provider: 'openai-responses' }] },
    { id: 'cache/anthropic', response_cache: { ttl_s: 60 }, deployments: [{ provider: 'anthropic' }] },
    { id: 'cache/tools', response_cache: { ttl_s: 60, tool_outputs: true }, deployments: [{ provider: 'openai-chat' }] },
    { id: 'cache/plain', deployments: [{ provider: 'openai-responses' }] },
  ], { workers: 1, env: { ROUTERHUB_RESPONSE_CACHE_MAX_ENTRY_BYTES: String(MAX_ENTRY_BYTES), WORKER_METRICS_PORT: String(metricsPort) } });
}, (c) => ({ tc, redis, probe } = c));

let unique = 0;
/** A request no earlier test sent (entries outlive tests). */
const fresh = (model: string, extra: Record<string, unknown> = {}) => ({ model, stream: true, instructions: 'Be brief.', input: `question ${Date.now()}-${++unique}`, ...extra });
const ask = (body: Record<string, unknown>, headers?: Record<string, string>) => postResponses(tc.cluster.baseUrl, tc.key, body, { headers });

const TURN: MockTurn = {
  parts: [
    { type: 'reasoning', text: 'The user wants a listing.', signature: 'sig-1' },
    { type: 'text', text: 'I will list the files, then read the README. ' },
    { type: 'function_call', name: 'exec_command', arguments: '{"cmd":"ls -la"}', call_id: 'call_ls' },
  ],
  usage: { input: 500, cached: 100, output: 20, reasoning: 5 },
};

const responseOf = (r: ClientResult) => terminals(r.events)[0]?.data.response as { id: string; usage: Record<string, unknown>; output: Array<Record<string, unknown>> };

/**
 * The events without what must differ between two answers: the response id, item ids, times, and
 * the request's own thread id that the Response object echoes (the terminal event, with usage, apart).
 */
function content(events: SseEvent[], responseId: string): string[] {
  const itemBase = `${responseId.slice(5)}_`;
  return events.filter((e) => !terminals([e]).length).map((e) => JSON.stringify(e.data, (k, v: unknown) => {
    if (k === 'created_at' || k === 'completed_at' || k === 'prompt_cache_key') return undefined;
    return typeof v === 'string' ? v.replaceAll(responseId, 'RESP').replaceAll(itemBase, 'BASE_') : v;
  }));
}

t.test('a catalog-enabled model: the second identical request replays the first answer with a new id, zero usage and the hit header', async (t) => {
  for (const model of ['cache/on', 'cache/anthropic']) {
    const before = await probe.totals(model);
    const body = fresh(model, { prompt_cache_key: 'thread-1' });
    tc.mock.script(TURN);
    const miss = await ask(body);
    t.equal(miss.status, 200);
    t.equal(miss.headers.get('x-routerhub-cache'), 'miss', `${model}: the first is a miss`);
    t.equal(responseOf(miss).usage.input_tokens, 500);
    // A new Codex session asking the same thing: another thread id, same request otherwise.
    const hit = await waitForHit({ ...body, prompt_cache_key: 'thread-2' });
    t.equal(hit.status, 200);
    t.equal(tc.mock.requests.length, 1, `${model}: the upstream was called once`);
    const first = responseOf(miss);
    const second = responseOf(hit);
    t.not(second.id, first.id, 'a new response id');
    t.equal(hit.headers.get('x-request-id'), second.id);
    t.same(content(hit.events, second.id), content(miss.events, first.id), `${model}: every event but the terminal one is the same, byte for byte (ids renamed)`);
    t.equal(JSON.stringify(second.output).replaceAll(second.id.slice(5), 'X'), JSON.stringify(first.output).replaceAll(first.id.slice(5), 'X'), 'the same output items');
    t.same(second.usage, { input_tokens: 0, input_tokens_details: { cached_tokens: 0 }, output_tokens: 0, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 0, cost: 0 }, 'zero billed usage');
    t.equal(terminals(hit.events)[0].data.type, 'response.completed');

    // stream: false hits the same entry.
    const whole = await ask({ ...body, stream: false });
    t.equal(whole.headers.get('x-routerhub-cache'), 'hit');
    t.equal(JSON.stringify((whole.json as { output: unknown[] }).output).replaceAll(String(whole.json?.id).slice(5), 'X'), JSON.stringify(first.output).replaceAll(first.id.slice(5), 'X'));
    t.equal(tc.mock.requests.length, 1);

    t.ok(await waitUntil(async () => (await probe.since(model, before)).requests === 3, 5000), 'three ledger lines');
    const d = await probe.since(model, before);
    t.same({ input: d.input_tokens, cached: d.cached_tokens, output: d.output_tokens }, { input: 500, cached: 100, output: 20 }, 'hits bill zero tokens');
    tc.mock.reset();
  }
});

t.test('the ledger and the request log: hits under the response-cache deployment, prompt-cache savings of the miss', async (t) => {
  const admin = (path: string) => api(tc.cluster.dashboardUrl, 'GET', path, { key: tc.adminKey });
  const byDeployment = (await admin('/api/v1/usage?group_by=deployment')).body.data as Array<Record<string, number | string>>;
  const cached = byDeployment.find((r) => r.deployment === 'response-cache');
  t.ok(cached && Number(cached.requests) >= 4, 'the hits of the test before, as requests');
  t.match(cached, { input_tokens: 0, output_tokens: 0, cost: 0, cache_savings: 0 });
  const byModel = (await admin('/api/v1/usage?group_by=model&model=cache/on')).body.data as Array<Record<string, number>>;
  // The miss read 100 cached tokens at 0.125 instead of 1.25 USD per million: 112.5 micro-USD, rounded.
  t.equal(byModel[0].cache_savings, 0.000113);
  t.equal(byModel[0].cache_write_tokens, 0);
  const log = (await admin('/api/v1/requests?model=cache/on&limit=10')).body.data as Array<Record<string, unknown>>;
  t.match(log.find((r) => r.cache === 'hit'), { deployment: 'response-cache', status: 'completed', input_tokens: 0, cost: 0 });
  t.match(log.find((r) => r.cache === 'miss'), { input_tokens: 500, cached_tokens: 100 });
});

t.test('worker metrics: input and cached tokens per model and deployment, and the response cache\'s results', async (t) => {
  const text = await (await fetch(workerMetrics)).text();
  const value = (name: string, labels: string) => Number(new RegExp(`^${name}\\{${labels}\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  const deployment = `model="cache/on",deployment="openai-responses/on-0@${new URL(tc.mock.url).host}"`;
  t.equal(value('routerhub_tokens_total', `${deployment},type="input"`), 500, 'the miss\'s input');
  t.equal(value('routerhub_tokens_total', `${deployment},type="cached"`), 100, 'of which cached: a 20% hit rate');
  t.notOk(/routerhub_tokens_total\{[^}]*type="cache_write"/.test(text), 'no cache writes: no series');
  t.notOk(/routerhub_tokens_total\{[^}]*deployment="response-cache"/.test(text), 'hits add no tokens');
  t.ok(value('routerhub_response_cache_total', 'model="cache/on",result="hit"') >= 2);
  t.equal(value('routerhub_response_cache_total', 'model="cache/on",result="stored"'), 1);
});

t.test('per request: x-routerhub-cache: on caches a model the catalog does not; off and no header do not', async (t) => {
  const body = fresh('cache/plain');
  tc.mock.script({ parts: [{ type: 'text', text: 'one' }] }, { parts: [{ type: 'text', text: 'two' }] });
  const plain = await ask(body);
  t.equal(plain.headers.get('x-routerhub-cache'), null, 'not cached: no header');
  t.equal((await ask(body)).headers.get('x-routerhub-cache'), null);
  t.equal(tc.mock.requests.length, 2);

  tc.mock.script({ parts: [{ type: 'text', text: 'three' }] });
  t.equal((await ask(body, { 'x-routerhub-cache': 'on' })).headers.get('x-routerhub-cache'), 'miss');
  const hit = await waitForHit(body, { 'x-routerhub-cache': 'on' });
  t.equal(hit.events.filter((e) => e.data.type === 'response.output_text.delta').map((e) => e.data.delta).join(''), 'three');
  t.equal(tc.mock.requests.length, 3);

  // off: a cached model's request goes to the upstream, without the header.
  const onModel = fresh('cache/on');
  tc.mock.script({ parts: [{ type: 'text', text: 'four' }] }, { parts: [{ type: 'text', text: 'five' }] });
  await ask(onModel);
  await sleep(300);
  const off = await ask(onModel, { 'x-routerhub-cache': 'OFF' });
  t.equal(off.headers.get('x-routerhub-cache'), null);
  t.equal(tc.mock.requests.length, 5);

  const bad = await ask(body, { 'x-routerhub-cache': 'yes please' });
  t.equal(bad.status, 400);
  t.match(bad.json, { error: { type: 'invalid_request_error', code: 'invalid_cache_header', param: 'x-routerhub-cache', message: /on, off, include-tool-outputs/ } });
});

t.test('requests carrying tool outputs are not cached unless asked (header, or the catalog\'s tool_outputs)', async (t) => {
  const withOutput = (model: string) => fresh(model, {
    input: [
      { type: 'message', role: 'user', content: `list ${++unique}` },
      { type: 'function_call', call_id: 'c1', name: 'exec_command', arguments: '{"cmd":"ls"}' },
      { type: 'function_call_output', call_id: 'c1', output: 'a.txt\nb.txt' },
    ],
  });
  const body = withOutput('cache/on');
  tc.mock.script({ parts: [{ type: 'text', text: 'a' }] }, { parts: [{ type: 'text', text: 'b' }] });
  t.equal((await ask(body)).headers.get('x-routerhub-cache'), 'bypass');
  await sleep(300);
  t.equal((await ask(body)).headers.get('x-routerhub-cache'), 'bypass');
  t.equal(tc.mock.requests.length, 2, 'both reached the upstream');

  tc.mock.script({ parts: [{ type: 'text', text: 'c' }] });
  t.equal((await ask(body, { 'x-routerhub-cache': 'include-tool-outputs' })).headers.get('x-routerhub-cache'), 'miss');
  await waitForHit(body, { 'x-routerhub-cache': 'include-tool-outputs' });
  t.equal(tc.mock.requests.length, 3);

  const tools = withOutput('cache/tools');
  tc.mock.script({ parts: [{ type: 'text', text: 'd' }] });
  t.equal((await ask(tools)).headers.get('x-routerhub-cache'), 'miss');
  await waitForHit(tools);
  t.equal(tc.mock.requests.length, 4, 'the catalog\'s tool_outputs: true caches them');
});

t.test('hosted-tool output passed through from the upstream (a web_search_call) replays too', async (t) => {
  const body = fresh('cache/on');
  tc.mock.script({ parts: [], recorded: chunks('openai-responses', 'rh-web-search-call.chunks.txt') });
  const miss = await ask(body);
  t.ok(miss.events.some((e) => e.data.type.startsWith('response.web_search_call.')), 'the upstream\'s hosted-tool events');
  const hit = await waitForHit(body);
  t.equal(tc.mock.requests.length, 1);
  t.same(content(hit.events, responseOf(hit).id), content(miss.events, responseOf(miss).id), 'the same events, the hosted tool\'s included');
  t.same(responseOf(hit).output, responseOf(miss).output.map((i) => ({ ...i })), 'the same output');
});

t.test('a request pinned to a deployment (npm run doctor) is never answered from the response cache', async (t) => {
  const body = fresh('cache/on');
  const pin = { 'x-routerhub-deployment': `openai-responses/on-0@${new URL(tc.mock.url).host}` };
  tc.mock.script({ parts: [{ type: 'text', text: 'checked' }] }, { parts: [{ type: 'text', text: 'checked again' }] });
  for (let i = 0; i < 2; i++) {
    const r = await postResponses(tc.cluster.baseUrl, tc.adminKey, body, { headers: pin });
    t.equal(r.status, 200);
    t.equal(r.headers.get('x-routerhub-cache'), null, 'not cached');
    await sleep(200);
  }
  t.equal(tc.mock.requests.length, 2, 'both checked the deployment');
});

t.test('not stored: a response over the entry bound, one cut short, one that failed', async (t) => {
  const big = fresh('cache/on');
  const long = 'x'.repeat(MAX_ENTRY_BYTES * 2);
  tc.mock.script({ parts: [{ type: 'text', text: long }], chunkChars: 1000 }, { parts: [{ type: 'text', text: long }], chunkChars: 1000 });
  const first = await ask(big);
  t.equal(first.events.filter((e) => e.data.type === 'response.output_text.delta').map((e) => e.data.delta).join(''), long, 'served in full');
  await sleep(500);
  t.equal((await ask(big)).headers.get('x-routerhub-cache'), 'miss', 'over the bound: not stored');

  const small = fresh('cache/on');
  tc.mock.script({ parts: [{ type: 'text', text: 'short' }] });
  await ask(small);
  await waitForHit(small);

  const cut = fresh('cache/on');
  tc.mock.script({ parts: [{ type: 'text', text: 'cut short' }], stop: 'max_tokens' }, { parts: [{ type: 'text', text: 'again' }] });
  t.equal(responseOf(await ask(cut)).output.length, 1);
  await sleep(500);
  t.equal((await ask(cut)).headers.get('x-routerhub-cache'), 'miss', 'an incomplete response is not stored');

  const failing = fresh('cache/on');
  tc.mock.script({ parts: [], httpError: { status: 400, message: 'bad' } }, { parts: [{ type: 'text', text: 'fine' }] });
  const failed = await ask(failing);
  t.equal(failed.status, 400);
  t.equal(failed.headers.get('x-routerhub-cache'), 'miss', 'an error answer carries the verdict too');
  await sleep(300);
  t.equal((await ask(failing)).headers.get('x-routerhub-cache'), 'miss');
  t.equal(tc.mock.requests.length, 7, 'every one of them reached the upstream');
});

t.test('the store keeps its total under its bound, evicting the entries that expire first', async (t) => {
  const store = new ResponseCacheStore(redis, 10_000);
  const entry = (n: number) => Buffer.alloc(3_000, n);
  for (let i = 0; i < 8; i++) t.ok(await store.put(`bound-${i}`, entry(i), 60_000 + i));
  const total = await store.totalBytes();
  t.ok(total <= 10_000, `total ${total} bytes`);
  t.same(await store.get('bound-7'), entry(7), 'the newest is kept');
  t.equal(await store.get('bound-0'), null, 'the oldest was evicted');
  t.equal(await store.put('huge', Buffer.alloc(20_000), 60_000), false, 'an entry larger than the bound is refused');
  // Entries Redis expired by itself are forgotten from the total at the next store.
  t.ok(await store.put('short', entry(9), 1));
  await sleep(20);
  await store.put('after', entry(10), 60_000);
  t.equal(await store.get('short'), null);
  t.ok((await store.totalBytes()) <= 10_000);
});

/** The worker stores a miss just after its stream ended: wait for the entry in Redis, then ask again. */
async function waitForHit(body: Record<string, unknown>, headers?: Record<string, string>): Promise<ClientResult> {
  const key = responseCacheKey(requestHash('default', String(body.model), body as unknown as ResponsesRequest));
  if (!(await waitUntil(async () => (await redis.exists(key)) === 1, 3000))) throw new Error('the entry was not stored within 3 s');
  const r = await ask(body, headers);
  if (r.headers.get('x-routerhub-cache') !== 'hit') throw new Error(`expected a hit, got ${r.headers.get('x-routerhub-cache')}`);
  return r;
}
