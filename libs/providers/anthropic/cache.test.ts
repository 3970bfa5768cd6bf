// Prompt-cache breakpoints on a growing Codex conversation: at most Anthropic's 4, on the last tool,
// the last system block, the end of the previous request and the end of this one, so that every
// turn reads the prefix the turn before wrote, even when the assistant added more than the 20
// blocks Anthropic's own lookback covers. The catalog's TTL reaches every breakpoint.
import t from 'tap';
import type { InputItem, ResponsesRequest } from '../../protocol/types';
import { ModelCatalog } from '../../routing/catalog';
import { codexRequest } from '../replay';
import { MAX_CACHE_BREAKPOINTS, toAnthropicRequest, type AnthropicMessage, type AnthropicRequest, type CacheControl } from './request';
import { encodeReasoning } from './state';

const dep = { provider: 'anthropic', base_url: 'https://api.anthropic.com/v1', model: 'claude-sonnet-4-5' };

/** One Codex turn's output and its tool results: reasoning, `calls` parallel exec_command calls, their outputs. */
function turn(n: number, calls: number): InputItem[] {
  const items: InputItem[] = [{ type: 'reasoning', id: `rs_${n}`, summary: [], encrypted_content: encodeReasoning({ thinking: `plan ${n}`, signature: `sig${n}` }) } as InputItem];
  for (let i = 0; i < calls; i++) items.push({ type: 'function_call', call_id: `call_${n}_${i}`, name: 'exec_command', arguments: JSON.stringify({ cmd: `ls dir${i}` }) } as InputItem);
  for (let i = 0; i < calls; i++) items.push({ type: 'function_call_output', call_id: `call_${n}_${i}`, output: `file${i}.ts\n`.repeat(20) } as InputItem);
  return items;
}

/** The requests of one conversation: Codex resends everything before, plus the last turn's output and results. */
function conversation(): ResponsesRequest[] {
  const first = codexRequest();
  const turns = [2, 1, 12, 3]; // the third turn adds 1 + 24 blocks: past Anthropic's 20-block lookback
  const requests: ResponsesRequest[] = [first];
  let input = [...(first.input as InputItem[])];
  for (const [n, calls] of turns.entries()) {
    input = [...input, ...turn(n, calls)];
    requests.push({ ...first, input });
  }
  return requests;
}

interface Marked { where: 'tools' | 'system' | 'messages'; index: number; block: number; cache_control: CacheControl }

function breakpoints(body: AnthropicRequest): Marked[] {
  const out: Marked[] = [];
  body.tools?.forEach((tool, i) => tool.cache_control && out.push({ where: 'tools', index: i, block: 0, cache_control: tool.cache_control }));
  body.system?.forEach((b, i) => b.cache_control && out.push({ where: 'system', index: i, block: 0, cache_control: b.cache_control }));
  body.messages.forEach((m, i) => m.content.forEach((b, j) => 'cache_control' in b && b.cache_control && out.push({ where: 'messages', index: i, block: j, cache_control: b.cache_control })));
  return out;
}

/** What Anthropic hashes: the messages up to and including a block, without the marks themselves. */
function prefix(messages: AnthropicMessage[], index: number, block: number): string {
  const upTo = messages.slice(0, index + 1).map((m, i) => ({ ...m, content: i === index ? m.content.slice(0, block + 1) : m.content }));
  return JSON.stringify(upTo, (k, v: unknown) => (k === 'cache_control' ? undefined : v));
}

t.test('a growing Codex conversation: ≤ 4 breakpoints, each turn reads what the previous one wrote', async (t) => {
  const bodies = conversation().map((req) => toAnthropicRequest(req, dep));
  for (const [n, body] of bodies.entries()) {
    const marks = breakpoints(body);
    t.ok(marks.length <= MAX_CACHE_BREAKPOINTS, `request ${n}: ${marks.length} breakpoints`);
    t.ok(JSON.stringify(body).split('"cache_control"').length - 1 <= MAX_CACHE_BREAKPOINTS, `request ${n}: no other marks`);
    t.same(marks.filter((m) => m.where === 'tools').map((m) => m.index), [body.tools!.length - 1], `request ${n}: the last tool`);
    t.same(marks.filter((m) => m.where === 'system').map((m) => m.index), [body.system!.length - 1], `request ${n}: the last system block`);
    const last = body.messages.length - 1;
    const tail = marks.at(-1)!;
    t.same([tail.index, tail.block], [last, body.messages[last].content.length - 1], `request ${n}: the end of the conversation`);
    for (const m of marks.filter((x) => x.where === 'messages')) {
      const block = body.messages[m.index].content[m.block];
      t.not(block.type, 'thinking', 'never on a thinking block');
    }
    if (n === 0) {
      t.equal(marks.length, 3, 'the first request: tools, system, its end');
      continue;
    }
    t.equal(marks.length, 4, `request ${n}: tools, system, the previous request's end, its end`);
    // The previous request's end breakpoint is here, on the same bytes: an exact cache read.
    const previous = bodies[n - 1];
    const previousTail = breakpoints(previous).at(-1)!;
    const readHere = marks[2];
    t.same([readHere.index, readHere.block], [previousTail.index, previousTail.block], `request ${n}: marks where request ${n - 1} ended`);
    t.equal(prefix(body.messages, readHere.index, readHere.block), prefix(previous.messages, previousTail.index, previousTail.block), `request ${n}: the same prefix`);
    const added = body.messages.slice(readHere.index + 1).reduce((s, m) => s + m.content.length, 0);
    if (n === 3) t.ok(added > 20, `request 3 adds ${added} blocks after the previous end (beyond Anthropic's 20-block lookback)`);
  }
});

t.test('the catalog\'s 1-hour TTL reaches every breakpoint; the default sends none', async (t) => {
  const req = conversation()[2];
  const hour = breakpoints(toAnthropicRequest(req, { ...dep, prompt_cache_ttl: '1h' }));
  t.equal(hour.length, 4);
  t.ok(hour.every((m) => m.cache_control.type === 'ephemeral' && m.cache_control.ttl === '1h'), 'every mark is {"type":"ephemeral","ttl":"1h"} (one TTL: longer-before-shorter holds)');
  const five = breakpoints(toAnthropicRequest(req, { ...dep, prompt_cache_ttl: '5m' }));
  t.ok(five.every((m) => JSON.stringify(m.cache_control) === '{"type":"ephemeral"}'), '5m is Anthropic\'s default: no ttl field');
  t.same(breakpoints(toAnthropicRequest(req, dep)).map((m) => m.cache_control), five.map((m) => m.cache_control));
});

t.test('short conversations: no assistant turn yet, or no tools and no system', async (t) => {
  const bare = toAnthropicRequest({ model: 'm', input: [{ type: 'message', role: 'user', content: 'one' }, { type: 'message', role: 'assistant', content: 'two' }, { type: 'message', role: 'user', content: 'three' }] }, dep);
  t.same(breakpoints(bare).map((m) => [m.index, m.block]), [[0, 0], [2, 0]], 'the previous end (before the assistant turn) and this end');
  // A trailing assistant message (a prefill): the user turn before it, and the prefill itself.
  const prefill = toAnthropicRequest({ model: 'm', input: [{ type: 'message', role: 'user', content: 'q' }, { type: 'message', role: 'assistant', content: 'a' }] }, dep);
  t.same(breakpoints(prefill).map((m) => [m.index, m.block]), [[0, 0], [1, 0]]);
});

t.test('the catalog accepts prompt_cache_ttl 5m and 1h only', async (t) => {
  const doc = (ttl: unknown) => ({ models: [{ id: 'a/b', deployments: [{ ...dep, prompt_cache_ttl: ttl }] }] });
  t.equal(ModelCatalog.parse(doc('1h'), 'test', ['anthropic']).get('a/b')?.deployments[0].prompt_cache_ttl, '1h');
  t.ok(ModelCatalog.parse(doc('5m'), 'test', ['anthropic']));
  t.throws(() => ModelCatalog.parse(doc('2h'), 'test', ['anthropic']), /prompt_cache_ttl must be equal to one of the allowed values/);
});
