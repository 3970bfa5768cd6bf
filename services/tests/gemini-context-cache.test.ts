// Gemini explicit context caching on the real cluster: a deployment whose catalog entry sets
// `prompt_cache.explicit` stores a Codex conversation's stable prefix with `cachedContents` once
// (two workers share its name through Redis), later turns send only what follows it and report the
// cached tokens, a conversation below the minimum is left alone, and a cache the provider dropped
// (or refused to create) costs no failed turn: that turn goes whole, and the next recreates it.
import Redis from 'ioredis';
import t, { type Test } from 'tap';
import type { MockTurn } from '../../libs/providers/mock/script';
import { codexRequest } from '../../libs/providers/replay';
import { toGeminiRequest } from '../../libs/providers/gemini/request';
import type { InputItem, ResponsesRequest } from '../../libs/protocol/types';
import { postResponses, startTestCluster, terminals, type ClientResult, type TestCluster } from '../../libs/testing/cluster';

type Json = Record<string, any>;

const TTL_S = 600;
/** The mock refuses a cache smaller than this, as Google does below a model's minimum. */
const MOCK_MIN_TOKENS = 1000;
const QUESTION = 'Review this module and fix what is wrong:\n' + 'export function add(a: number, b: number) { return a - b; }\n'.repeat(120);

/** Codex's first turn (its recorded instructions and tools) with a long question. */
function firstTurn(model: string): ResponsesRequest {
  const codex = codexRequest();
  return { ...codex, model, stream: true, prompt_cache_key: `thread-${model}-${Date.now()}`, input: [...(codex.input as InputItem[]), { type: 'message', role: 'user', content: [{ type: 'input_text', text: QUESTION }] } as InputItem] };
}

const tokens = (v: unknown) => Math.ceil(JSON.stringify(v).length / 4);

/** A minimum that the system instruction and tools alone miss and that the first question reaches. */
function minTokens(): number {
  const mapped = toGeminiRequest(firstTurn('x/y'), { provider: 'gemini', base_url: 'http://127.0.0.1/v1', model: 'm' });
  return tokens({ systemInstruction: mapped.systemInstruction, tools: mapped.tools }) + Math.floor(tokens((mapped.contents as Json[])[0]) / 2);
}

let tc: TestCluster;
let redis: Redis;

t.before(async () => {
  tc = await startTestCluster(() => [
    { id: 'gem/cached', deployments: [{ provider: 'gemini', prompt_cache: { explicit: true, ttl_s: TTL_S, min_tokens: minTokens() } }] },
    // Its minimum is below the provider's: the create call is refused.
    { id: 'gem/small', deployments: [{ provider: 'gemini', prompt_cache: { explicit: true, min_tokens: 100 } }] },
  ], { workers: 2 }, { contextCacheMinTokens: MOCK_MIN_TOKENS });
  redis = new Redis(tc.cluster.redisUrl);
});
t.teardown(async () => {
  redis.disconnect();
  await tc.stop();
});
t.beforeEach(() => tc.mock.reset());

const call = (n: number): MockTurn => ({ parts: [{ type: 'text', text: `Reading file ${n}.` }, { type: 'function_call', name: 'exec_command', arguments: JSON.stringify({ cmd: `cat src/file${n}.ts` }), call_id: `call_${n}` }] });

const responseOf = (r: ClientResult) => terminals(r.events)[0]?.data.response as Json;

/** One Codex turn: send the conversation, then append what the model answered and the tool outputs, as Codex does. */
async function turn(t: Test, req: ResponsesRequest, answer: MockTurn): Promise<Json> {
  tc.mock.script(answer);
  const res = await postResponses(tc.cluster.baseUrl, tc.key, req);
  t.equal(res.status, 200);
  const response = responseOf(res);
  t.equal(terminals(res.events)[0]?.data.type, 'response.completed', 'the turn completed');
  const output = (response?.output ?? []) as InputItem[];
  const input = req.input as InputItem[];
  input.push(...output);
  for (const item of output) if (item.type === 'function_call') input.push({ type: 'function_call_output', call_id: item.call_id, output: `// src/file contents\n`.repeat(10) } as InputItem);
  return response;
}

t.test('a Codex conversation: the prefix is cached once, reused by later turns on any worker, and recreated after it expired', async (t) => {
  const req = firstTurn('gem/cached');
  const caches = tc.mock.contextCaches;
  const sent = () => tc.mock.requests.at(-1)!.body as Json;

  await turn(t, req, call(1));
  t.equal(caches.creates.length, 0, 'turn 1: the prefix before the question is below the minimum: no cache');
  t.ok(sent().systemInstruction && sent().tools, 'turn 1 is sent whole');
  t.notOk('cachedContent' in sent());

  const usages: Json[] = [];
  const names: string[] = [];
  for (const n of [2, 3, 4]) {
    const whole = toGeminiRequest(req, { provider: 'gemini', base_url: 'http://127.0.0.1/v1', model: 'm' });
    const response = await turn(t, req, n === 4 ? { parts: [{ type: 'text', text: 'Fixed: add subtracted.' }] } : call(n));
    const body = sent();
    t.equal(caches.creates.length, 1, `turn ${n}: one cache for the conversation so far`);
    t.match(body.cachedContent, /^cachedContents\//, `turn ${n}: the request names the cache`);
    names.push(body.cachedContent);
    for (const field of ['systemInstruction', 'tools', 'toolConfig']) t.notOk(field in body, `turn ${n}: no ${field} beside the cache`);
    const cachedContents = caches.creates[0].contents as Json[];
    t.same([...cachedContents, ...body.contents], whole.contents as Json[], `turn ${n}: only the contents after the cached prefix are sent`);
    t.ok(body.contents.length < (whole.contents as Json[]).length, `turn ${n}: fewer contents than the conversation`);
    usages.push(response.usage);
  }
  const create = caches.creates[0];
  t.equal(create.ttl, `${TTL_S}s`, 'the catalog\'s TTL');
  t.match(create.model, /^models\/cached-0$/, 'made for the deployment\'s model');
  t.ok(create.systemInstruction && create.tools, 'the cache holds the system instruction and tools');
  t.equal(new Set(names).size, 1, 'turns 2-4 use the one cache (two workers share its name through Redis)');
  for (const [i, u] of usages.entries()) {
    const cached = u.input_tokens_details.cached_tokens;
    t.ok(cached > 0 && cached < u.input_tokens, `turn ${i + 2}: usage reports the cached tokens (${cached} of ${u.input_tokens})`);
  }
  t.equal(usages[2].input_tokens_details.cached_tokens, usages[0].input_tokens_details.cached_tokens, 'the same prefix read each turn');
  const keys = await redis.keys('rh:ctxcache:*');
  t.equal(keys.length, 1, 'one name in Redis');
  const ttl = await redis.pttl(keys[0]);
  t.ok(ttl > 0 && ttl <= TTL_S * 1000, `Redis forgets it no later than the provider (${ttl} ms)`);

  // The provider drops the cache before Redis does: the turn is sent whole, not failed.
  caches.expireAll();
  (req.input as InputItem[]).push({ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Now add a test.' }] } as InputItem);
  const before = tc.mock.requests.length;
  await turn(t, req, call(5));
  const tried = tc.mock.requests.slice(before).map((r) => r.body as Json);
  t.equal(tried.length, 2, 'the cached request, then the whole one');
  t.equal(tried[0].cachedContent, names[0], 'first with the expired cache');
  t.ok(tried[1].systemInstruction && tried[1].tools && !('cachedContent' in tried[1]), 'then the whole conversation');
  t.equal(caches.creates.length, 1, 'no cache created in that turn');

  await turn(t, req, { parts: [{ type: 'text', text: 'Test added.' }] });
  t.equal(caches.creates.length, 2, 'the next turn recreates it');
  t.match(sent().cachedContent, /^cachedContents\//);
  t.not(sent().cachedContent, names[0], 'and uses the new one');
  t.same(caches.creates[1].contents, caches.creates[0].contents, 'with the same prefix');
});

t.test('a cache the provider refuses to create: the turn goes whole, and the create is not retried each turn', async (t) => {
  const long = 'Summarize this log:\n' + 'INFO started worker 7\n'.repeat(60);
  const req: ResponsesRequest = { model: 'gem/small', stream: true, instructions: 'Be brief.', input: [
    { role: 'user', content: long }, { role: 'assistant', content: 'It started.' }, { role: 'user', content: 'And then?' },
  ] as InputItem[] };
  for (const n of [1, 2]) {
    tc.mock.script({ parts: [{ type: 'text', text: 'Nothing else.' }] });
    const res = await postResponses(tc.cluster.baseUrl, tc.key, { ...req, input: [...(req.input as InputItem[]), { role: 'user', content: `again ${n}` }] });
    t.equal(res.status, 200);
    t.equal(terminals(res.events)[0]?.data.type, 'response.completed', `request ${n} completed`);
    const body = tc.mock.requests.at(-1)!.body as Json;
    t.ok(body.systemInstruction && !('cachedContent' in body), `request ${n} was sent whole`);
  }
  t.equal(tc.mock.contextCaches.creates.length, 1, 'one create call, refused (too small); the second request did not try again');
});
