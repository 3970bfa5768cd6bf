import t from 'tap';
import type { ResponsesRequest } from '../protocol/types';
import { deploymentTagOf, stateForDeployment, tagState } from '../providers/reasoning-state';
import { FAMILIES } from '../providers/index';
import { conversationKey as keyOf, deploymentTag, reasoningDeployment, rendezvousOrder } from './affinity';
import { parsedItems, readRequestHead } from '../protocol/validate';
import { byHealth, deploymentId, ModelCatalog, type Deployment } from './catalog';
import { httpFailure, streamFailure } from '../providers/errors';
import { outcomeOf, statusOf, type HealthRecord, type HealthView } from './health';

const dep = (model: string, extra: Partial<Deployment> = {}): Deployment => ({ provider: 'openai-responses', base_url: 'https://x.example/v1', model, ...extra });
const keys = Array.from({ length: 3000 }, (_, i) => `c:conversation-${i}`);

t.test('rendezvous: the same order everywhere, spread by weight, and removing one moves only its conversations', async (t) => {
  const three = [dep('a'), dep('b'), dep('c')];
  t.same(rendezvousOrder(three, 'c:x').map((d) => d.model), rendezvousOrder([...three].reverse(), 'c:x').map((d) => d.model), 'order does not depend on the catalog order');
  const home = new Map(keys.map((k) => [k, rendezvousOrder(three, k)[0].model]));
  const counts = { a: 0, b: 0, c: 0 } as Record<string, number>;
  for (const m of home.values()) counts[m]++;
  for (const m of ['a', 'b', 'c']) t.ok(counts[m] > 850 && counts[m] < 1150, `${m} gets about a third (${counts[m]})`);

  const two = three.filter((d) => d.model !== 'b');
  const moved = keys.filter((k) => rendezvousOrder(two, k)[0].model !== home.get(k));
  t.equal(moved.length, counts.b, 'as many moved as b had');
  t.ok(moved.every((k) => home.get(k) === 'b'), 'only b\'s conversations moved');

  const weighted = [dep('a', { weight: 3 }), dep('b', { weight: 1 })];
  const heavy = keys.filter((k) => rendezvousOrder(weighted, k)[0].model === 'a').length;
  t.ok(heavy > 2100 && heavy < 2400, `weight 3:1 gives about 75% (${heavy} of 3000)`);
});

t.test('the conversation key: prompt_cache_key, else the session header, else a bounded digest of the prefix', async (t) => {
  const conversationKey = (req: ResponsesRequest, session: string) => keyOf(req, parsedItems(req.input), session);
  const base: ResponsesRequest = { model: 'a/b', instructions: 'You are Codex.', input: [{ type: 'message', role: 'user', content: 'fix the bug' }], tools: [{ type: 'function', name: 'shell', parameters: {} }] } as ResponsesRequest;
  t.equal(conversationKey({ ...base, prompt_cache_key: 'thread-1' }, 'other'), 'c:thread-1');
  t.equal(conversationKey(base, 'thread-1'), 'c:thread-1', 'the header names the same conversation as prompt_cache_key');
  const first = conversationKey(base, '');
  t.match(first, /^p:/);
  const later = { ...base, input: [...(base.input as object[]), { type: 'message', role: 'assistant', content: 'done' }, { type: 'message', role: 'user', content: 'thanks' }] } as ResponsesRequest;
  t.equal(conversationKey(later, ''), first, 'a later turn of the conversation has the same key');
  t.not(conversationKey({ ...base, input: [{ type: 'message', role: 'user', content: 'another task' }] } as ResponsesRequest, ''), first);
  const huge = { ...base, instructions: 'x'.repeat(2_000_000) };
  const started = performance.now();
  conversationKey(huge, '');
  t.ok(performance.now() - started < 20, 'a 2 MB prompt is not hashed whole');
  // The ingress reads items it has not validated (the worker does): nothing here may recurse over one.
  const deep = Buffer.from(`{"model":"a/b","input":[${'['.repeat(100_000)}${']'.repeat(100_000)},{"type":"reasoning","encrypted_content":${'['.repeat(100_000)}${']'.repeat(100_000)}}]}`);
  const head = readRequestHead(deep);
  t.match(keyOf(head.request, head.items, ''), /^p:/, 'an item nested 100k deep is hashed from its bytes');
  t.equal(reasoningDeployment(head.items, [dep('a')]), null);
});

t.test('reasoning state tagged with its deployment goes back there, and is dropped elsewhere', async (t) => {
  const a = dep('a');
  const b = dep('b');
  const mine = tagState(deploymentTag(a), 'gAAAA-blob');
  t.equal(deploymentTagOf(mine), deploymentTag(a));
  t.equal(deploymentTagOf('gAAAA-blob'), null);
  const req = { model: 'x/y', input: [{ type: 'message', role: 'user', content: 'hi' }, { type: 'reasoning', summary: [], encrypted_content: mine }] } as ResponsesRequest;
  t.equal(reasoningDeployment(parsedItems(req.input), [b, a]), a);
  t.equal(reasoningDeployment(parsedItems('hi'), [a, b]), null);
  const atA = stateForDeployment(req.input as Array<{ type?: string; encrypted_content?: unknown }>, deploymentTag(a));
  t.same(atA, { input: [req.input[0], { type: 'reasoning', summary: [], encrypted_content: 'gAAAA-blob' }], dropped: 0 }, 'unwrapped for its own deployment');
  const atB = stateForDeployment(req.input as Array<{ type?: string; encrypted_content?: unknown }>, deploymentTag(b));
  t.same(atB, { input: [req.input[0]], dropped: 1 }, 'dropped for another');
  const plain = [{ type: 'reasoning', encrypted_content: 'untagged' }];
  t.equal(stateForDeployment(plain, deploymentTag(b)).input, plain, 'untouched without tagged state');
});

class FixedHealth implements HealthView {
  constructor(private readonly records: Record<string, Partial<HealthRecord>>) {}
  status(id: string, now: number) {
    const r = this.records[id];
    return statusOf(r ? { failures: 0, ejections: 0, ejected_at: 0, ejected_until: 0, recovered_at: 0, cooldown_until: 0, last_error: '', updated_at: 0, ...r } : undefined, now);
  }
}

t.test('plans: affinity within the best priority, health, and the deployment holding the reasoning first', async (t) => {
  const c = ModelCatalog.parse({ models: [{ id: 'a/b', deployments: [dep('p1'), dep('p2'), dep('p3'), dep('backup', { priority: 1 })] }] }, 'f.json', FAMILIES);
  const now = 1_000_000;
  const conversation = keys.find((k) => c.plan('a/b', { conversation: k })!.deployments[0].model === 'p2')!;
  const plan = c.plan('a/b', { conversation })!;
  t.same(plan.deployments.map((d) => d.model).slice(0, 1), ['p2']);
  t.equal(plan.deployments[3].model, 'backup', 'a lower priority stays after');
  t.same(c.plan('a/b', { conversation })!.deployments, plan.deployments, 'the same conversation, the same plan');
  t.same(plan.health, { consecutive_5xx: 3, base_ejection_ms: 30000, max_ejection_ms: 300000, max_ejection_percent: 50, rate_limit_backoff_ms: 5000 });
  t.equal(plan.pool!.length, 4);

  const p2 = deploymentId(dep('p2'));
  const limited = c.plan('a/b', { conversation, health: new FixedHealth({ [p2]: { cooldown_until: now + 30_000 } }), now })!;
  t.notOk(limited.deployments.some((d) => d.model === 'p2'), 'a rate-limited deployment is left out');
  t.equal(limited.deployments[0].model, plan.deployments[1].model, 'the conversation goes to its second choice');
  const ejected = c.plan('a/b', { conversation, health: new FixedHealth({ [p2]: { ejected_at: now - 1, ejected_until: now + 30_000, ejections: 1 } }), now })!;
  t.equal(ejected.deployments.at(-1)!.model, 'p2', 'an ejected deployment is the last resort');
  const halfOpen = c.plan('a/b', { conversation, health: new FixedHealth({ [p2]: { ejected_at: now - 40_000, ejected_until: now - 10_000, ejections: 1 } }), now })!;
  t.equal(halfOpen.deployments[0].model, 'p2', 'a half-open deployment gets its conversations back (one probe goes through)');

  const all = Object.fromEntries(c.get('a/b')!.deployments.map((d, i) => [deploymentId(d), { cooldown_until: now + 3_000 + i * 1000 }]));
  const none = byHealth(c.plan('a/b')!, new FixedHealth(all), now);
  t.same([none.deployments.length, none.retryAfterSeconds], [0, 3], 'every deployment rate limited: when the first is free again');

  const preferred = c.get('a/b')!.deployments[2];
  t.equal(c.plan('a/b', { conversation, preferred })!.deployments[0], preferred, 'the deployment that made the reasoning goes first');
  const unusable = c.plan('a/b', { conversation, preferred, health: new FixedHealth({ [deploymentId(preferred)]: { cooldown_until: now + 1000 } }), now })!;
  t.notOk(unusable.deployments.includes(preferred), '… unless it is not usable');
  const ejectedMaker = c.plan('a/b', { conversation, preferred, health: new FixedHealth({ [deploymentId(preferred)]: { ejected_at: now - 1, ejected_until: now + 1000, ejections: 1 } }), now })!;
  t.equal(ejectedMaker.deployments.at(-1), preferred, '… or ejected');
  const backup = c.get('a/b')!.deployments[3];
  t.equal(c.plan('a/b', { conversation, preferred: backup })!.deployments[0].model, 'p2', 'a fallback that made the reasoning does not outrank the primaries');
  const primariesDown = Object.fromEntries(c.get('a/b')!.deployments.slice(0, 3).map((d) => [deploymentId(d), { cooldown_until: now + 1000 }]));
  t.equal(c.plan('a/b', { conversation, preferred: backup, health: new FixedHealth(primariesDown), now })!.deployments[0], backup, 'while the primaries are out, it serves');

  const off = ModelCatalog.parse({ models: [{ id: 'a/b', affinity: false, deployments: [dep('p1'), dep('p2')] }] }, 'f.json', FAMILIES);
  t.same(off.plan('a/b', { conversation, random: () => 0.99 })!.deployments.map((d) => d.model), ['p2', 'p1'], 'affinity: false keeps the weighted random order');
});

t.test('catalog health settings are validated, and deployments must be told apart', async (t) => {
  t.throws(() => ModelCatalog.parse({ models: [{ id: 'a/b', health: { consecutive_5xx: 0 }, deployments: [dep('m')] }] }, 'f.json', FAMILIES), /health\/consecutive_5xx must be >= 1/);
  t.throws(() => ModelCatalog.parse({ models: [{ id: 'a/b', health: { base_ejection: 5 }, deployments: [dep('m')] }] }, 'f.json', FAMILIES), /must NOT have additional properties/);
  t.throws(() => ModelCatalog.parse({ models: [{ id: 'a/b', deployments: [dep('m', { api_key_env: 'K1' }), dep('m', { api_key_env: 'K2' })] }] }, 'f.json', FAMILIES), /two deployments named "openai-responses\/m@x.example"; give each an "id"/);
  const c = ModelCatalog.parse({ models: [{ id: 'a/b', health: { consecutive_5xx: 5, base_ejection_ms: 1000 }, deployments: [dep('m', { id: 'org-1' }), dep('m', { id: 'org-2' })] }] }, 'f.json', FAMILIES);
  t.match(c.plan('a/b')!.health, { consecutive_5xx: 5, base_ejection_ms: 1000, max_ejection_ms: 300000 });
});

t.test('what an attempt means for health: 429s cool down, 5xx-class failures count, the client\'s own errors do not', async (t) => {
  t.same(outcomeOf(null), { kind: 'ok' });
  t.same(outcomeOf(httpFailure('p', 429, 'slow down', 30)), { kind: 'rate_limited', retryAfterSeconds: 30 });
  t.same(outcomeOf(httpFailure('p', 429, 'slow down', null)), { kind: 'rate_limited', retryAfterSeconds: null }, 'no Retry-After: the backoff setting decides, not the client\'s 1 s');
  t.match(outcomeOf(httpFailure('p', 503, 'overloaded', null)), { kind: 'failed', error: /^server_is_overloaded: / });
  t.match(outcomeOf(httpFailure('p', 401, 'bad key', null)), { kind: 'failed', error: /^upstream_auth_failed: / }, 'a deployment whose key is refused is sick too');
  t.match(outcomeOf(streamFailure('p', 'connection failed', true, 'upstream_connection_error')), { kind: 'failed' });
  t.same(outcomeOf(httpFailure('p', 400, 'bad field', null)), { kind: 'ok' }, 'a 400 is the request\'s fault');
  t.same(outcomeOf(httpFailure('p', 400, 'prompt is too long', null)), { kind: 'ok' });
});
