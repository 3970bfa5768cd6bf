// The real cluster end to end: nats-server, redis-server, ingress and two workers as processes, a
// mock OpenAI Responses upstream on loopback, and a real HTTP client reading the SSE bytes.
import Redis from 'ioredis';
import { execFileSync } from 'node:child_process';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { connect } from 'nats';
import t from 'tap';
import { codexRequest } from '../../libs/providers/replay';
import { paths } from '../../deploy/cluster';
import { UsageLedger } from '../../libs/store/usage';
import { subjects, WORKER_QUEUE } from '../../libs/wire/subjects';
import { postResponses, sleep, startTestCluster, terminals, waitUntil, type TestCluster } from '../../libs/testing/cluster';

const codex = codexRequest();

let tc: TestCluster;
let base: string;

t.before(async () => {
  tc = await startTestCluster((url) => [
    { id: 'test/model', deployments: [{ provider: 'openai-responses' }, { provider: 'openai-responses', base_url: `${url}/backup/v1` }] },
    { id: 'test/keyed', deployments: [{ provider: 'openai-responses', api_key_env: 'TEST_UPSTREAM_KEY' }] },
    { id: 'test/nokey', deployments: [{ provider: 'openai-responses', api_key_env: 'ROUTERHUB_TEST_UNSET_KEY' }] },
  ], {
    env: { TEST_UPSTREAM_KEY: 'sk-upstream-secret', ROUTERHUB_MAX_BODY_BYTES: String(256 * 1024), ROUTERHUB_KEEPALIVE_MS: '300', ROUTERHUB_MAX_CLIENT_BACKLOG_BYTES: String(1024 * 1024) },
  });
  base = tc.cluster.baseUrl;
});
t.teardown(() => tc.stop());
t.beforeEach(() => tc.mock.reset());

const ask = (body: Record<string, unknown>, init?: Parameters<typeof postResponses>[3]) =>
  postResponses(base, tc.key, { model: 'test/model', stream: true, input: 'hello', ...body }, init);

t.test('streaming text: the Responses event sequence, numbered, with one terminal event carrying usage', async (t) => {
  tc.mock.script({ parts: [{ type: 'text', text: 'Four. 2 + 2 = 4.' }], usage: { input: 120, cached: 20, output: 9 }, delayMs: 2 });
  const r = await ask({ input: 'What is 2 + 2?' });
  t.equal(r.status, 200);
  t.match(r.headers.get('content-type'), /^text\/event-stream/);
  const types = r.events.map((e) => e.data.type);
  t.same(types.slice(0, 4), ['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
  t.same(types.slice(-4), ['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed']);
  t.same(r.events.map((e) => e.data.sequence_number), r.events.map((_, i) => i), 'sequence_number on every event, in order');
  t.ok(r.events.every((e) => e.event === e.data.type), 'event: line equals the JSON type');
  const text = r.events.filter((e) => e.data.type === 'response.output_text.delta').map((e) => e.data.delta).join('');
  t.equal(text, 'Four. 2 + 2 = 4.');
  const done = r.events.find((e) => e.data.type === 'response.output_item.done')!.data.item as { content: Array<{ text: string }> };
  t.equal(done.content[0].text, 'Four. 2 + 2 = 4.');
  t.equal(terminals(r.events).length, 1);
  const response = r.events.at(-1)!.data.response as { id: string; status: string; usage: Record<string, unknown>; output: unknown[] };
  t.type(response.id, 'string');
  t.equal(response.status, 'completed');
  // cost: (100 × 1.25 + 20 × 0.125 + 9 × 10) micro-USD at the test catalog's prices
  t.same(response.usage, { input_tokens: 120, input_tokens_details: { cached_tokens: 20 }, output_tokens: 9, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 129, cost: 0.000218 });
  t.equal(response.output.length, 1);
  t.equal(r.headers.get('x-request-id'), response.id);
});

t.test('stream: false returns the Response object', async (t) => {
  tc.mock.script({ parts: [{ type: 'text', text: 'plain answer' }] });
  const r = await ask({ stream: false });
  t.equal(r.status, 200);
  t.equal(r.json?.object, 'response');
  t.equal(r.json?.status, 'completed');
  t.equal((r.json?.output as Array<{ content: Array<{ text: string }> }>)[0].content[0].text, 'plain answer');
  t.type((r.json?.usage as { total_tokens: number }).total_tokens, 'number');
});

t.test('a streamed function call and a custom tool call arrive complete in output_item.done', async (t) => {
  tc.mock.script({
    parts: [
      { type: 'function_call', name: 'exec_command', arguments: '{"cmd":"ls -la /tmp"}', call_id: 'call_abc' },
      { type: 'custom_tool_call', name: 'apply_patch', input: '*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch\n', call_id: 'call_def' },
    ],
    chunkChars: 4,
  });
  const r = await ask({});
  const args = r.events.filter((e) => e.data.type === 'response.function_call_arguments.delta').map((e) => e.data.delta).join('');
  t.equal(args, '{"cmd":"ls -la /tmp"}');
  const items = r.events.filter((e) => e.data.type === 'response.output_item.done').map((e) => e.data.item as Record<string, string>);
  t.match(items[0], { type: 'function_call', call_id: 'call_abc', name: 'exec_command', arguments: '{"cmd":"ls -la /tmp"}' });
  t.match(items[1], { type: 'custom_tool_call', call_id: 'call_def', name: 'apply_patch', input: '*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch\n' });
  t.ok(r.events.some((e) => e.data.type === 'response.custom_tool_call_input.delta'));
  t.equal(r.events.at(-1)!.data.type, 'response.completed');
});

t.test("Codex's real 40 KB request is accepted; ids are stripped and client_metadata dropped upstream", async (t) => {
  tc.mock.script({ parts: [{ type: 'text', text: 'hi' }] });
  const r = await postResponses(base, tc.key, { ...codex, model: 'test/model' });
  t.equal(r.status, 200, r.raw.slice(0, 300));
  t.equal(r.events.at(-1)!.data.type, 'response.completed');
  const got = tc.mock.requests[0].body as { model: string; input: Array<{ id?: string }>; client_metadata?: unknown; tools: unknown[] };
  t.equal(got.model, 'model-0', 'the deployment model name goes upstream');
  t.ok(got.input.every((i) => i.id === undefined), 'no input item ids with store:false');
  t.notOk('client_metadata' in got);
  t.equal(got.tools.length, (codex.tools ?? []).length, 'every tool passes through');
});

t.test('the deployment key goes upstream, never the client key', async (t) => {
  tc.mock.script({ parts: [{ type: 'text', text: 'ok' }] });
  const r = await ask({ model: 'test/keyed' });
  t.equal(r.status, 200);
  t.equal(tc.mock.requests[0].headers.authorization, 'Bearer sk-upstream-secret');
});

t.test('401 without a key and with a wrong key, OpenAI-shaped', async (t) => {
  const none = await postResponses(base, null, { model: 'test/model', input: 'x' });
  t.equal(none.status, 401);
  t.match(none.json, { error: { type: 'invalid_request_error', code: 'missing_api_key', param: null, message: /Authorization: Bearer/ } });
  const wrong = await postResponses(base, 'sk-rh-not-a-real-key-at-all', { model: 'test/model', input: 'x' });
  t.equal(wrong.status, 401);
  t.match(wrong.json, { error: { code: 'invalid_api_key' } });
});

t.test('400 names the field: malformed JSON, wrong types, missing model or input', async (t) => {
  const bad = await postResponses(base, tc.key, '{"model": "test/model", "input": ');
  t.equal(bad.status, 400);
  t.match(bad.json, { error: { code: 'invalid_json', message: /not valid JSON/ } });
  const noModel = await postResponses(base, tc.key, { input: 'x' });
  t.match(noModel.json, { error: { code: 'missing_required_parameter', param: 'model' } });
  const noInput = await postResponses(base, tc.key, { model: 'test/model' });
  t.match(noInput.json, { error: { param: 'input' } });
  const wrongType = await postResponses(base, tc.key, { model: 'test/model', input: 'x', stream: 'yes' });
  t.equal(wrongType.status, 400);
  t.match(wrongType.json, { error: { param: 'stream', message: /boolean/ } });
  const itemType = await postResponses(base, tc.key, { model: 'test/model', input: [{ type: 'message', role: 'user', content: 5 }] });
  t.match(itemType.json, { error: { param: 'input[0].content' } });
  t.equal(tc.mock.requests.length, 0, 'nothing reached the upstream');
});

t.test('413 for a body over the limit', async (t) => {
  const r = await postResponses(base, tc.key, { model: 'test/model', input: 'x'.repeat(300 * 1024) });
  t.equal(r.status, 413);
  t.match(r.json, { error: { code: 'request_too_large', message: /ROUTERHUB_MAX_BODY_BYTES/ } });
});

t.test('404 model_not_found says how names look and how to list them', async (t) => {
  const r = await ask({ model: 'gpt-4o' });
  t.equal(r.status, 404);
  t.match(r.json, { error: { code: 'model_not_found', param: 'model', message: /provider\/model-name.*GET \/v1\/models/ } });
});

t.test('an unset deployment key is named in a 503', async (t) => {
  const r = await ask({ model: 'test/nokey' });
  t.equal(r.status, 503);
  t.match(r.json, { error: { code: 'no_deployment_available', message: /ROUTERHUB_TEST_UNSET_KEY/ } });
});

t.test('upstream 5xx before output fails over to the next deployment', async (t) => {
  tc.mock.script({ parts: [], httpError: { status: 500 } }, { parts: [{ type: 'text', text: 'from the backup' }] });
  const r = await ask({});
  t.equal(r.status, 200);
  t.equal(r.events.at(-1)!.data.type, 'response.completed');
  t.equal(tc.mock.requests.length, 2);
  t.equal(tc.mock.requests[1].path, '/backup/v1/responses');
  t.match(JSON.stringify(r.events.at(-1)!.data), /from the backup/);
});

t.test('every deployment rate-limited: 429 with Retry-After before streaming', async (t) => {
  tc.mock.script({ parts: [], httpError: { status: 429, retryAfter: 7 } }, { parts: [], httpError: { status: 429, retryAfter: 3 } });
  const r = await ask({});
  t.equal(r.status, 429);
  t.equal(r.headers.get('retry-after'), '3');
  t.match(r.json, { error: { code: 'rate_limit_exceeded', message: /try again in 3s/ } });
});

t.test('a 400 from the upstream is not retried and reaches the client', async (t) => {
  tc.mock.script({ parts: [], httpError: { status: 400, message: "Invalid value: 'foo'" } });
  const r = await ask({});
  t.equal(r.status, 400);
  t.match(r.json, { error: { message: /Invalid value: 'foo'/ } });
  t.equal(tc.mock.requests.length, 1);
});

for (const how of ['reset', 'end'] as const) {
  const code = how === 'reset' ? 'upstream_connection_error' : 'upstream_stream_incomplete';
  t.test(`an upstream stream cut mid-way (${how}) ends in response.failed`, async (t) => {
    tc.mock.script({ parts: [{ type: 'text', text: 'one two three four five six seven' }], cutAfterEvents: 6, cutHow: how, delayMs: 5 });
    const r = await ask({});
    t.equal(r.status, 200);
    t.ok(r.events.some((e) => e.data.type === 'response.output_text.delta'), 'output had started');
    const ends = terminals(r.events);
    t.equal(ends.length, 1);
    t.equal(ends[0].data.type, 'response.failed');
    t.match(ends[0].data.response, { status: 'failed', error: { code } });
    const errorEvent = r.events.find((e) => e.data.type === 'error');
    t.match(errorEvent?.data, { error: { code, message: /upstream/ } }, 'nested error event first');
    t.notOk(JSON.stringify(r.events).includes('"error":null}'), 'no error: null in the failure');
    t.equal(tc.mock.requests.length, 1, 'no failover once output reached the client');
  });
}

t.test('a stream that breaks before any output fails over', async (t) => {
  tc.mock.script({ parts: [{ type: 'text', text: 'lost' }], cutAfterEvents: 2 }, { parts: [{ type: 'text', text: 'second try' }] });
  const r = await ask({});
  t.equal(r.events.at(-1)!.data.type, 'response.completed');
  t.equal(tc.mock.requests.length, 2);
});

t.test('an in-stream upstream error after output ends in response.failed with its code', async (t) => {
  tc.mock.script({ parts: [{ type: 'text', text: 'partial' }, { type: 'text', text: 'never' }], streamError: { afterParts: 1, message: 'Rate limit reached. Please try again in 2s.', type: 'rate_limit_exceeded' } });
  const r = await ask({});
  const end = r.events.at(-1)!;
  t.equal(end.data.type, 'response.failed');
  t.match(end.data.response, { error: { code: 'rate_limit_exceeded', message: /try again in 2s/ } });
});

t.test('keep-alive events flow while the upstream is silent', async (t) => {
  tc.mock.script({ parts: [{ type: 'text', text: 'after thinking' }], initialDelayMs: 2000 });
  const r = await ask({});
  const inProgress = r.events.filter((e) => e.data.type === 'response.in_progress').length;
  t.ok(inProgress >= 3, `${inProgress} response.in_progress events (1 at start, keep-alives after)`);
  t.equal(r.events.at(-1)!.data.type, 'response.completed');
});

t.test('workers keep their upstream connections across responses (no new connection, or TLS handshake, per request)', async (t) => {
  const before = tc.mock.connections;
  for (let i = 0; i < 6; i++) {
    // The upstream ends its body a moment after the terminal event, as providers behind proxies do.
    tc.mock.script({ parts: [{ type: 'text', text: `answer ${i}` }], delayMs: 20 });
    t.equal((await ask({})).events.at(-1)?.data.type, 'response.completed');
  }
  t.ok(tc.mock.connections - before <= tc.cluster.workers.length, `${tc.mock.connections - before} new upstream connections for 6 requests from ${tc.cluster.workers.length} workers`);
});

t.test('a client that goes away aborts the upstream request', async (t) => {
  tc.mock.script({ parts: [{ type: 'text', text: 'word '.repeat(400) }], delayMs: 20 });
  const controller = new AbortController();
  let deltas = 0;
  await ask({}, { signal: controller.signal, onEvent: (e) => e.data.type === 'response.output_text.delta' && ++deltas === 3 && controller.abort() }).catch(() => undefined);
  t.equal(deltas, 3);
  t.ok(await waitUntil(() => !!tc.mock.requests[0]?.aborted, 5000), 'the upstream saw its request go away');
  t.notOk(tc.mock.requests[0].finished);
});

t.test('a client that stops reading is cut off at the backlog bound, and the upstream call ends', async (t) => {
  tc.mock.script({ parts: [{ type: 'text', text: 'x'.repeat(32 * 1024 * 1024) }], chunkChars: 64 * 1024, delayMs: 1 });
  const body = JSON.stringify({ model: 'test/model', input: 'flood', stream: true });
  const socket = tcpConnect(tc.cluster.port, '127.0.0.1');
  socket.write(`POST /v1/responses HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tc.key}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  socket.pause(); // never read: the kernel buffers fill, then the ingress backlog
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  socket.on('error', () => undefined);
  t.ok(await waitUntil(() => !!tc.mock.requests[0]?.aborted, 20_000), 'the upstream request was cancelled');
  t.notOk(tc.mock.requests[0]?.finished, 'long before the upstream finished');
  socket.resume();
  await closed;
  const metrics = await (await fetch(`${base}/metrics`)).text();
  t.match(metrics, /routerhub_slow_client_drops_total [1-9]/);
});

t.test('an output item larger than the internal bus carries ends its response with a clear failure, and the worker goes on', async (t) => {
  // 1.5 MB of arguments: the deltas are split to fit NATS's 1 MB max_payload, the complete item cannot be.
  const args = JSON.stringify({ cmd: 'x'.repeat(1_500_000) });
  tc.mock.script({ parts: [{ type: 'function_call', name: 'exec_command', arguments: args }], chunkChars: 64 * 1024 });
  const r = await ask({});
  t.equal(r.events.filter((e) => e.data.type === 'response.function_call_arguments.delta').map((e) => e.data.delta).join(''), args, 'every argument delta arrived');
  const ends = terminals(r.events);
  t.equal(ends.length, 1);
  t.match(ends[0].data, { type: 'response.failed', response: { error: { code: /frames_lost|response_undeliverable/ } } });
  tc.mock.script({ parts: [{ type: 'text', text: 'still here' }] });
  t.equal((await ask({})).events.at(-1)?.data.type, 'response.completed', 'the next request is served');
});

t.test('usage recorded once per response in Redis equals what the responses reported', async (t) => {
  const redis = new Redis(tc.cluster.redisUrl);
  t.teardown(() => redis.disconnect());
  const keyId = (await redis.hget(`rh:key:${(await import('../../libs/store/keys')).hashKey(tc.key)}`, 'id'))!;
  const ledger = new UsageLedger(redis);
  const day = new Date().toISOString().slice(0, 10);
  const before = await ledger.totals(keyId, 'test/model', day);
  tc.mock.script(
    { parts: [{ type: 'text', text: 'a' }], usage: { input: 1000, cached: 400, output: 50, reasoning: 10 } },
    { parts: [{ type: 'text', text: 'b' }], usage: { input: 2000, cached: 0, output: 100, reasoning: 0 } },
  );
  const reported = [];
  for (let i = 0; i < 2; i++) reported.push((await ask({})).events.at(-1)!.data.response as { usage: { input_tokens: number; output_tokens: number; input_tokens_details: { cached_tokens: number }; output_tokens_details: { reasoning_tokens: number } } });
  await sleep(300);
  const after = await ledger.totals(keyId, 'test/model', day);
  t.equal(after.requests - before.requests, 2);
  t.equal(after.input_tokens - before.input_tokens, reported.reduce((s, r) => s + r.usage.input_tokens, 0));
  t.equal(after.cached_tokens - before.cached_tokens, 400);
  t.equal(after.output_tokens - before.output_tokens, 150);
  t.equal(after.reasoning_tokens - before.reasoning_tokens, 10);
  // (600 × 1.25 + 400 × 0.125 + 50 × 10) + (2000 × 1.25 + 100 × 10) micro-USD
  t.equal(after.cost_micro_usd - before.cost_micro_usd, 750 + 50 + 500 + 2500 + 1000);
});

t.test('keys CLI: create prints a key that works; revoke stops it', async (t) => {
  const cli = (...args: string[]) => execFileSync(process.execPath, [join(paths.DIST, 'services', 'keys', 'main.js'), ...args], { env: { ...process.env, REDIS_URL: tc.cluster.redisUrl }, encoding: 'utf8' });
  const created = cli('create', '--name', 'team-a');
  const key = /^(sk-rh-\S+)$/m.exec(created)?.[1];
  const id = /created (key_\w+) \(team-a\)/.exec(created)?.[1];
  t.ok(key && id, created);
  t.match(cli('list'), new RegExp(`${id}\tteam-a\t.*\tactive`));
  tc.mock.script({ parts: [{ type: 'text', text: 'ok' }] });
  t.equal((await postResponses(base, key!, { model: 'test/model', input: 'x' })).status, 200);
  t.match(cli('revoke', id!), `revoked ${id}`);
  t.notMatch(cli('list'), id!, 'a revoked key is no longer listed');
  // /v1/responses checks the key in Redis on every request: revocation takes effect at once.
  t.equal((await postResponses(base, key!, { model: 'test/model', input: 'x' })).status, 401);
});

t.test('a worker that takes a job and never accepts it: the job is republished to a live one', async (t) => {
  const nc = await connect({ servers: tc.cluster.natsUrl });
  t.teardown(() => nc.close());
  // A black hole in the workers' queue group: it swallows the first two jobs it is given, so every
  // job still reaches a live worker within the ingress's three dispatches.
  const swallowed: number[] = [];
  nc.subscribe(subjects.job('default'), { queue: WORKER_QUEUE, max: 2, callback: () => swallowed.push(Date.now()) });
  await nc.flush();
  const results = [];
  for (let i = 0; i < 30 && swallowed.length < 2; i++) {
    tc.mock.script({ parts: [{ type: 'text', text: `answer ${i}` }] });
    results.push(await ask({ input: `q${i}` }));
  }
  t.equal(swallowed.length, 2, 'jobs went to the black hole');
  t.ok(results.every((r) => r.events.at(-1)?.data.type === 'response.completed'), 'every request was served');
});

t.test('models, health, readiness and metrics', async (t) => {
  const models = await fetch(`${base}/v1/models`, { headers: { authorization: `Bearer ${tc.key}` } });
  const list = (await models.json()) as { object: string; data: Array<{ id: string }> };
  t.equal(list.object, 'list');
  t.same(list.data.map((m) => m.id).sort(), ['test/keyed', 'test/model', 'test/nokey']);
  t.equal((await fetch(`${base}/v1/models`)).status, 401);
  t.equal((await fetch(`${base}/healthz`)).status, 200);
  const ready = await fetch(`${base}/readyz`);
  t.equal(ready.status, 200);
  t.match(await ready.json(), { checks: { nats: true, redis: true, workers: true }, live_workers: 2 });
  const metrics = await (await fetch(`${base}/metrics`)).text();
  t.match(metrics, /routerhub_requests_total\{model="test\/model",outcome="completed"\} \d+/);
  const unknown = await fetch(`${base}/v2/nothing`);
  t.equal(unknown.status, 404);
});
