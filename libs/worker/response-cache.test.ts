// The response cache's pure parts: when a request is cached, what its key ignores, the recorder's
// bound, and the replay's renamed item ids.
import t from 'tap';
import type { ResponsesRequest } from '../protocol/types';
import type { RoutePlan } from '../routing/catalog';
import { F, type Frame } from '../wire/frames';
import { cacheAsked, cacheDecision, hasToolOutputs, itemIdBase, replayFrames, requestHash, ResponseRecorder } from './response-cache';

const plan = (responseCache?: RoutePlan['responseCache']): RoutePlan => ({ model: 'a/b', deployments: [], pricing: null, ...(responseCache ? { responseCache } : {}) });
const ask: ResponsesRequest = { model: 'a/b', input: 'hello', instructions: 'Be brief.' };
const withOutput: ResponsesRequest = { model: 'a/b', input: [{ type: 'function_call', call_id: 'c', name: 'f', arguments: '{}' }, { type: 'function_call_output', call_id: 'c', output: 'x' }] };

t.test('cached when the catalog or the header says so; tool outputs only when asked', async (t) => {
  t.equal(cacheDecision(plan(), undefined, ask, 600), null, 'neither: not cached');
  t.same(cacheDecision(plan(), 'on', ask, 600), { ttlMs: 600_000 }, 'header: the default TTL');
  t.same(cacheDecision(plan({ ttl_s: 30 }), undefined, ask, 600), { ttlMs: 30_000 }, 'catalog: its TTL');
  t.equal(cacheDecision(plan({ ttl_s: 30 }), 'off', ask, 600), null, 'off wins over the catalog');
  t.equal(cacheDecision(plan({ ttl_s: 30 }), undefined, withOutput, 600), 'bypass');
  t.equal(cacheDecision(plan(), 'on', withOutput, 600), 'bypass');
  t.same(cacheDecision(plan(), 'include-tool-outputs', withOutput, 600), { ttlMs: 600_000 });
  t.same(cacheDecision(plan({ tool_outputs: true }), undefined, withOutput, 600), { ttlMs: 600_000 });
  t.ok(hasToolOutputs({ model: 'm', input: [{ type: 'custom_tool_call_output', call_id: 'c', output: 'ok' }] }));
  t.notOk(hasToolOutputs({ model: 'm', input: 'plain text' }));
  // Decided before the body is parsed: an uncached request's body is parsed once in the worker.
  t.notOk(cacheAsked(plan(), undefined), 'neither asks');
  t.notOk(cacheAsked(plan({ ttl_s: 30 }), 'off'), 'off wins');
  t.ok(cacheAsked(plan({ ttl_s: 30 }), undefined), 'the catalog asks');
  t.ok(cacheAsked(plan(), 'include-tool-outputs'), 'the header asks');
});

t.test('the key: account, model and the request, whatever its key order, thread id or delivery', async (t) => {
  const base = requestHash('acct', 'a/b', ask);
  t.equal(requestHash('acct', 'a/b', { instructions: 'Be brief.', input: 'hello', model: 'a/b' }), base, 'key order');
  t.equal(requestHash('acct', 'a/b', { ...ask, stream: true, prompt_cache_key: 'thread', metadata: { run: '1' }, store: false }), base, 'delivery and thread');
  t.not(requestHash('other', 'a/b', ask), base, 'another account');
  t.not(requestHash('acct', 'a/c', ask), base, 'another model');
  t.not(requestHash('acct', 'a/b', { ...ask, input: 'hello!' }), base, 'another input');
  t.not(requestHash('acct', 'a/b', { ...ask, temperature: 0.2 }), base, 'another setting');
});

t.test('the recorder keeps content frames as they leave, and stops past its bound', async (t) => {
  const recorder = new ResponseRecorder(10_000);
  const item = { type: 'message', id: 'msg_0123_0', role: 'assistant', status: 'in_progress', content: [] } as unknown as Frame[2];
  const frames: Frame[] = [[F.Accepted, 'w1'], [F.Started], [F.ItemAdded, 0, item as never], [F.TextDelta, 0, 'Hel'], [F.Keepalive]];
  recorder.add(frames);
  frames[3][2] = 'changed later'; // a batch merges into its pending deltas: the recording already has its bytes
  recorder.add([[F.TextDelta, 0, 'lo'], [F.ItemDone, 0, { ...(item as object), status: 'completed' } as never], [F.Completed, null, null]]);
  const replayed = replayFrames(recorder.entry('0123_'), '4567_')!;
  t.same(replayed.map((f) => f[0]), [F.ItemAdded, F.TextDelta, F.TextDelta, F.ItemDone], 'only the answer: no accept, start, keep-alive or terminal');
  t.same(replayed.filter((f) => f[0] === F.TextDelta).map((f) => f[2]), ['Hel', 'lo']);
  t.equal((replayed[0][2] as { id: string }).id, 'msg_4567_0', 'item ids renamed to the new response\'s');
  t.equal(itemIdBase('resp_abc'), 'abc_');

  const small = new ResponseRecorder(100);
  small.add([[F.TextDelta, 0, 'x'.repeat(60)]]);
  t.notOk(small.overflowed);
  small.add([[F.TextDelta, 0, 'x'.repeat(60)]]);
  t.ok(small.overflowed, 'past the bound');
  t.same(replayFrames(small.entry('a_'), 'b_'), [], 'and it kept nothing');
  t.equal(replayFrames(Buffer.from([0xc0]), 'b_'), null, 'an entry that is not ours is a miss');
});
