// Gemini explicit context caching, the pure part: the request that names a cache carries only the
// contents after the cached prefix and none of what the cache holds; a growing Codex conversation
// keeps one prefix (one cache) turn after turn until its history doubles; below the minimum nothing
// is cached; a refusal because of a gone cache is told apart from other refusals.
import t from 'tap';
import type { InputItem, ResponsesRequest } from '../../protocol/types';
import type { Deployment } from '../../routing/catalog';
import { codexRequest } from '../replay';
import { cacheBoundary, cachedContentsTarget, createdCacheName, isCacheRefused, planContextCache } from './context-cache';
import { mapError } from './errors';
import { buildRequest, toGeminiRequest } from './request';
import type { Json } from './schema';

const base: Deployment = { provider: 'gemini', base_url: 'https://generativelanguage.googleapis.com/v1beta', model: 'gemini-2.5-pro' };
const explicit = (min_tokens: number, ttl_s = 3600): Deployment => ({ ...base, prompt_cache: { explicit: true, ttl_s, min_tokens } });

/** One Codex tool round: the model's call and its output. */
function round(n: number): InputItem[] {
  return [
    { type: 'function_call', call_id: `call_${n}`, name: 'exec_command', arguments: JSON.stringify({ cmd: `cat file${n}` }) },
    { type: 'function_call_output', call_id: `call_${n}`, output: `contents of file ${n}\n`.repeat(20) },
  ] as InputItem[];
}

/** A Codex conversation: the recorded first turn with a long first question, then `turns` tool rounds. */
function conversation(turns: number, question = 'Review this module:\n' + 'export const x = 1;\n'.repeat(400)): ResponsesRequest {
  const first = codexRequest();
  const input = [...(first.input as InputItem[]), { type: 'message', role: 'user', content: [{ type: 'input_text', text: question }] } as InputItem];
  for (let n = 0; n < turns; n++) input.push(...round(n));
  return { ...first, input };
}

const tokens = (v: unknown) => Math.ceil(JSON.stringify(v).length / 4);

t.test('a request naming a cache sends only the contents after its prefix, without what the cache holds', async (t) => {
  const req = { ...conversation(2), tool_choice: 'required' } as ResponsesRequest;
  const plain = toGeminiRequest(req, base);
  t.ok(plain.systemInstruction && plain.tools && plain.toolConfig, 'the plain request has a system instruction, tools and a tool config');
  const sent = JSON.parse(buildRequest(req, base, 'k', { name: 'cachedContents/abc', contents: 2 }).body) as Json;
  t.equal(sent.cachedContent, 'cachedContents/abc');
  for (const field of ['systemInstruction', 'tools', 'toolConfig']) t.notOk(field in sent, `no ${field} beside the cache (Gemini refuses it)`);
  t.same(sent.contents, (plain.contents as Json[]).slice(2), 'the contents after the prefix, unchanged');
  t.same(sent.generationConfig, plain.generationConfig, 'generation settings stay in the request');
  t.same(JSON.parse(buildRequest(req, base, 'k').body), plain, 'without a cache, the plain request');
});

t.test('the boundary: the first prefix that reaches the highest doubling of the minimum, never the last content', async (t) => {
  t.equal(cacheBoundary(400, [400, 400], 1000), null, 'nothing reaches the minimum');
  t.same(cacheBoundary(4000, [400], 1000), { contents: 0, chars: 4000 }, 'the head alone (system and tools) is cached');
  t.same(cacheBoundary(3000, [2000, 400, 400, 9000], 1000), { contents: 1, chars: 5000 }, 'the last content is never cached, however long');
  t.same(cacheBoundary(3000, [2000, 4000, 400, 400], 1000), { contents: 2, chars: 9000 }, 'the prefix reaching 2× the minimum once the history doubled');
  t.same(cacheBoundary(3000, [2000, 4000, 400, 400, 400, 400], 1000), { contents: 2, chars: 9000 }, 'and the same boundary while it grows below 4×');
});

t.test('a growing Codex conversation keeps one cached prefix until its history doubles', async (t) => {
  const head = toGeminiRequest(conversation(0), base);
  const headTokens = tokens({ systemInstruction: head.systemInstruction, tools: head.tools });
  const firstContent = tokens((head.contents as Json[])[0]);
  // The first question's turn alone is not enough; with it as the cached prefix, it is.
  const dep = explicit(headTokens + Math.floor(firstContent / 2), 600);
  t.equal(planContextCache(conversation(0), dep, 'k'), null, 'turn 1: the prefix before the last content is below the minimum: nothing cached');
  const plans = [1, 2, 3, 4].map((n) => planContextCache(conversation(n), dep, 'k')!);
  t.ok(plans.every(Boolean), 'turns 2-5 have a plan');
  t.equal(new Set(plans.map((p) => p.hash)).size, 1, 'one prefix (one cache) for every turn');
  const create = JSON.parse(plans[0].create.body) as Json;
  t.equal(plans[0].create.url, 'https://generativelanguage.googleapis.com/v1beta/cachedContents');
  t.equal(plans[0].create.headers['x-goog-api-key'], 'k');
  t.equal(create.model, 'models/gemini-2.5-pro');
  t.equal(create.ttl, '600s');
  t.same(create.systemInstruction, head.systemInstruction);
  t.same(create.tools, head.tools);
  t.same(create.contents, (head.contents as Json[]).slice(0, 1), 'the cache holds the first question');
  t.ok(plans[0].tokens >= dep.prompt_cache!.min_tokens!, 'at or above the minimum');
  for (const [i, plan] of plans.entries()) {
    const full = toGeminiRequest(conversation(i + 1), dep);
    const sent = JSON.parse(plan.cached('cachedContents/c1').body) as Json;
    t.same([...(create.contents as Json[]), ...(sent.contents as Json[])], full.contents, `turn ${i + 2}: the cache's contents and the request's make the conversation`);
    t.same(JSON.parse(plan.plain().body), full, `turn ${i + 2}: the plain request is the whole conversation`);
  }
  // The history doubles (a large tool output): the prefix moves forward, once.
  const long = conversation(4);
  (long.input as InputItem[]).push(...round(9).map((item) => (item.type === 'function_call_output' ? { ...item, output: 'x'.repeat(8 * dep.prompt_cache!.min_tokens!) } : item)), ...round(10));
  const moved = planContextCache(long, dep, 'k')!;
  t.not(moved.hash, plans[0].hash, 'a new prefix once the history passed twice the minimum');
  const after = { ...long, input: [...(long.input as InputItem[]), ...round(11)] };
  t.equal(planContextCache(after, dep, 'k')!.hash, moved.hash, 'and it stays for the turns that follow');
  t.equal(planContextCache(conversation(2), base, 'k'), null, 'a deployment without prompt_cache: no plan');
  t.equal(planContextCache(conversation(2), { ...dep, prompt_cache: { explicit: false } }, 'k'), null, 'explicit: false: no plan');
});

t.test('the cache lives where the deployment does: the Gemini API or a Vertex AI location', async (t) => {
  t.same(cachedContentsTarget({ ...base, base_url: 'https://generativelanguage.googleapis.com' }), { url: 'https://generativelanguage.googleapis.com/v1beta/cachedContents', model: 'models/gemini-2.5-pro' });
  t.same(cachedContentsTarget({ ...base, base_url: 'https://us-central1-aiplatform.googleapis.com/v1/projects/p1/locations/us-central1/publishers/google' }), {
    url: 'https://us-central1-aiplatform.googleapis.com/v1/projects/p1/locations/us-central1/cachedContents',
    model: 'projects/p1/locations/us-central1/publishers/google/models/gemini-2.5-pro',
  });
});

t.test('the create answer names the cache; a refusal because of the cache is told apart', async (t) => {
  t.equal(createdCacheName('{"name":"cachedContents/x1","model":"models/m","expireTime":"2026-01-01T00:00:00Z"}'), 'cachedContents/x1');
  t.equal(createdCacheName('{"model":"models/m"}'), null);
  t.equal(createdCacheName('<html>'), null);
  const gone = mapError(403, {}, JSON.stringify({ error: { code: 403, message: 'CachedContent not found (or permission denied)', status: 'PERMISSION_DENIED' } }));
  t.ok(isCacheRefused(gone), 'an expired or unknown cache');
  const denied = mapError(403, {}, JSON.stringify({ error: { code: 403, message: 'The caller does not have permission', status: 'PERMISSION_DENIED' } }));
  t.notOk(isCacheRefused(denied), 'a key without permission is not about the cache');
});
