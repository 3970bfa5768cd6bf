import t, { type Test } from 'tap';
import { createParser } from 'eventsource-parser';
import { F, type Frame } from '../wire/frames';
import { OpenResponsesSpec } from '../testing/openresponses';
import { ResponseSettings } from './envelope';
import { ResponseStream } from './sse';
import type { ResponsesRequest, Usage } from './types';

const spec = new OpenResponsesSpec();

/** Every event validates against its schema in the Open Responses specification. */
function conforms(t: Test, events: Array<{ data: Record<string, unknown> }>): void {
  for (const e of events) {
    const v = spec.checkEvent(e.data as { type: string });
    t.ok(v.ok, `${String(e.data.type)} conforms to the spec`, { errors: v.errors });
  }
}

function parse(text: string): Array<{ event?: string; data: Record<string, unknown> }> {
  const out: Array<{ event?: string; data: Record<string, unknown> }> = [];
  const p = createParser({ onEvent: (e) => out.push({ event: e.event, data: JSON.parse(e.data) }) });
  p.feed(text);
  return out;
}

const usage: Usage = { input_tokens: 10, input_tokens_details: { cached_tokens: 2 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 1 }, total_tokens: 15 };

t.test('frames to events: numbered, typed, complete items, one terminal with the full response', async (t) => {
  const rs = new ResponseStream('resp_1', 'a/b', undefined, 1);
  const frames: Frame[] = [
    [F.Accepted, 'w1'],
    [F.Started],
    [F.ItemAdded, 0, { type: 'reasoning', id: 'rs_1', summary: [] }],
    [F.ReasoningDelta, 0, 0, 'think'],
    [F.ReasoningDelta, 0, 1, 'more'],
    [F.ItemDone, 0, { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'think' }, { type: 'summary_text', text: 'more' }], encrypted_content: 'sig' }],
    [F.ItemAdded, 1, { type: 'message', id: 'msg_1', role: 'assistant', status: 'in_progress', content: [] }],
    [F.TextDelta, 1, 'He said "hi"\n'],
    [F.ItemDone, 1, { type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'He said "hi"\n', annotations: [] }] }],
    [F.ItemAdded, 2, { type: 'function_call', id: 'fc_1', call_id: 'c1', name: 'exec_command', arguments: '', status: 'in_progress' }],
    [F.ArgsDelta, 2, '{"cmd":"ls"}'],
    [F.ItemDone, 2, { type: 'function_call', id: 'fc_1', call_id: 'c1', name: 'exec_command', arguments: '{"cmd":"ls"}', status: 'completed' }],
    [F.Keepalive],
    [F.Completed, usage, null],
  ];
  const events = parse(rs.start() + frames.map((f) => rs.frame(f)).join(''));
  t.same(events.map((e) => e.data.sequence_number), events.map((_, i) => i));
  t.ok(events.every((e) => e.event === e.data.type));
  t.same(events.map((e) => e.data.type), [
    'response.created', 'response.in_progress',
    'response.output_item.added', 'response.reasoning_summary_part.added', 'response.reasoning_summary_text.delta',
    'response.reasoning_summary_part.added', 'response.reasoning_summary_text.delta',
    'response.reasoning_summary_text.done', 'response.reasoning_summary_part.done', 'response.reasoning_summary_text.done', 'response.reasoning_summary_part.done', 'response.output_item.done',
    'response.output_item.added', 'response.content_part.added', 'response.output_text.delta', 'response.output_text.done', 'response.content_part.done', 'response.output_item.done',
    'response.output_item.added', 'response.function_call_arguments.delta', 'response.function_call_arguments.done', 'response.output_item.done',
    'response.completed',
  ]);
  const delta = events.find((e) => e.data.type === 'response.output_text.delta')!.data;
  t.match(delta, { item_id: 'msg_1', output_index: 1, content_index: 0, delta: 'He said "hi"\n' });
  t.match(events.find((e) => e.data.type === 'response.reasoning_summary_text.delta')!.data, { item_id: 'rs_1', summary_index: 0, delta: 'think' });
  const done = events.at(-1)!.data.response as { id: string; status: string; output: unknown[]; usage: Usage };
  t.equal(done.id, 'resp_1');
  t.equal(done.status, 'completed');
  t.equal(done.output.length, 3);
  t.same(done.usage, usage);
  conforms(t, events);
});

t.test('incomplete and failed terminals; nothing after the terminal', async (t) => {
  const cut = new ResponseStream('resp_2', 'a/b');
  const incomplete = parse(cut.frame([F.Completed, null, 'max_output_tokens']));
  t.match(incomplete[0].data, { type: 'response.incomplete', response: { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } } });
  t.equal(cut.frame([F.Completed, usage, null]), '', 'a second terminal is never written');

  const bad = new ResponseStream('resp_3', 'a/b');
  const error = { message: 'Rate limited. Please try again in 3s.', type: 'rate_limit_error', param: null, code: 'rate_limit_exceeded' };
  const failed = parse(bad.frame([F.Failed, error, 429, 3]));
  t.same(failed.map((e) => e.data.type), ['error', 'response.failed']);
  t.same(failed[0].data.error, error, 'the error event nests its error (the form Codex reads)');
  t.match(failed[1].data.response, { status: 'failed', error });
  t.equal(bad.failed(error), '');
  conforms(t, [...incomplete, ...failed]);
});

t.test('the envelope has no output while in progress and never error: null on failure', async (t) => {
  const rs = new ResponseStream('resp_4', 'a/b');
  t.same(JSON.parse(rs.responseJson('in_progress')).output, []);
  const text = rs.failed({ message: 'x', type: 'server_error', param: null, code: 'worker_lost' });
  t.notMatch(text, /"error":null/);
});

const codexLike: ResponsesRequest = {
  model: 'openai/gpt-5.3-codex',
  instructions: 'You are Codex.',
  input: [{ type: 'message', role: 'user', content: 'hi' }],
  tools: [
    { type: 'function', name: 'exec_command', parameters: { type: 'object', properties: {} } },
    { type: 'custom', name: 'apply_patch', format: { type: 'grammar', syntax: 'lark', definition: 'start: /.+/' } },
  ],
  tool_choice: 'auto',
  parallel_tool_calls: false,
  reasoning: { effort: 'high', summary: 'auto' },
  store: false,
  prompt_cache_key: 'conv-1',
  text: { verbosity: 'low' },
  max_output_tokens: 2048,
  metadata: { team: 'a' },
};

t.test('every lifecycle event carries the whole Response object: the request settings, or the API defaults', async (t) => {
  // The spec's Tool is a function tool only: Codex's custom tool is checked apart, below.
  const request = { ...codexLike, tools: codexLike.tools!.slice(0, 1) };
  const rs = new ResponseStream('resp_5', 'openai/gpt-5.3-codex', ResponseSettings.fromRequest(request), 100);
  const events = parse(rs.start() + rs.keepalive() + rs.frame([F.Completed, usage, null]));
  t.same(events.map((e) => e.data.type), ['response.created', 'response.in_progress', 'response.in_progress', 'response.completed']);
  conforms(t, events);
  const created = events[0].data.response as Record<string, unknown>;
  t.match(created, {
    id: 'resp_5', object: 'response', created_at: 100, completed_at: null, status: 'in_progress', model: 'openai/gpt-5.3-codex',
    instructions: 'You are Codex.', tool_choice: 'auto', parallel_tool_calls: false, truncation: 'disabled',
    text: { format: { type: 'text' }, verbosity: 'low' }, reasoning: { effort: 'high', summary: 'auto' },
    temperature: 1, top_p: 1, presence_penalty: 0, frequency_penalty: 0, top_logprobs: 0,
    max_output_tokens: 2048, max_tool_calls: null, store: false, background: false, service_tier: 'default',
    previous_response_id: null, prompt_cache_key: 'conv-1', safety_identifier: null, metadata: { team: 'a' },
    usage: null, error: null, incomplete_details: null, output: [],
  });
  t.same(created.tools, [{ type: 'function', name: 'exec_command', parameters: { type: 'object', properties: {} }, description: null, strict: null }], 'function tools carry every field the spec requires');
  const completed = events[3].data.response as Record<string, unknown>;
  t.type(completed.completed_at, 'number');
  t.ok((completed.completed_at as number) >= 100);
  t.match(completed, { status: 'completed', usage });

  const codex = JSON.parse(new ResponseStream('resp_5b', 'm/x', ResponseSettings.fromRequest(codexLike)).responseJson('in_progress')) as { tools: unknown[] };
  t.same(codex.tools[1], codexLike.tools![1], 'tools the spec does not know, as the client sent them');
});

const REQUIRED = ['id', 'object', 'created_at', 'completed_at', 'status', 'incomplete_details', 'model', 'previous_response_id', 'instructions', 'output', 'error', 'tools', 'tool_choice', 'truncation', 'parallel_tool_calls', 'text', 'top_p', 'presence_penalty', 'frequency_penalty', 'top_logprobs', 'temperature', 'reasoning', 'usage', 'max_output_tokens', 'max_tool_calls', 'store', 'background', 'service_tier', 'metadata', 'safety_identifier', 'prompt_cache_key'];

t.test('every required property of ResponseResource is present, in every state', async (t) => {
  const bare = new ResponseStream('resp_6', 'a/b', ResponseSettings.fromRequest({ model: 'a/b', input: 'hi' }));
  for (const status of ['in_progress', 'completed', 'incomplete', 'failed'] as const) {
    const r = JSON.parse(bare.responseJson(status)) as Record<string, unknown>;
    t.same(REQUIRED.filter((k) => !(k in r)), [], `${status}: nothing missing`);
    t.ok(spec.checkResponse(r).ok, `${status}: valid`, { errors: spec.checkResponse(r).errors });
  }
  t.equal(REQUIRED.length, 31);
});

t.test('an upstream\'s own settings replace the request\'s, but never instructions or tools, and never with a null the spec forbids', async (t) => {
  const settings = ResponseSettings.fromRequest(codexLike);
  const rs = new ResponseStream('resp_7', 'm/x', settings);
  rs.frame([F.ResponseFields, { service_tier: 'flex', top_p: 0.98, temperature: null, store: true, instructions: 'not ours', tools: [], max_tool_calls: null, billing: { payer: 'developer' } }]);
  const r = JSON.parse(rs.responseJson('in_progress')) as Record<string, unknown>;
  t.match(r, { service_tier: 'flex', top_p: 0.98, temperature: 1, store: true, instructions: 'You are Codex.', max_tool_calls: null });
  t.equal((r.tools as unknown[]).length, 2);
  t.notOk('billing' in r, 'fields outside the spec\'s settings are not passed on');
});

t.test('the settings text is built once and shared between responses with the same instructions and tools', async (t) => {
  const big = { ...codexLike, instructions: 'x'.repeat(20_000) };
  const a = ResponseSettings.fromRequest(JSON.parse(JSON.stringify(big)) as ResponsesRequest);
  const b = ResponseSettings.fromRequest(JSON.parse(JSON.stringify(big)) as ResponsesRequest);
  t.equal(a.json, a.json);
  t.equal(a.json, b.json);
  t.ok(a.json.includes('"instructions":"xxx'));
});

t.test('items are completed to what the spec requires of them (ids, statuses, no null encrypted_content)', async (t) => {
  const rs = new ResponseStream('resp_8', 'a/b');
  const text = rs.start() +
    rs.frame([F.ItemAdded, 0, { type: 'reasoning', summary: [] } as never]) +
    rs.frame([F.ItemDone, 0, { type: 'reasoning', id: 'rs_up', summary: [{ type: 'summary_text', text: 's' }], encrypted_content: null }]) +
    rs.frame([F.ItemDone, 1, { type: 'function_call', call_id: 'c', name: 'f', arguments: '{}' }]) +
    rs.frame([F.Completed, null, null]);
  const events = parse(text);
  conforms(t, events);
  const done = events.filter((e) => e.data.type === 'response.output_item.done').map((e) => e.data.item as Record<string, unknown>);
  t.equal(done[0].id, 'item_resp_8_0', 'the id the stream announced');
  t.notOk('encrypted_content' in done[0]);
  t.match(done[1], { id: 'item_resp_8_1', status: 'completed' });
  t.match(events.find((e) => e.data.type === 'response.function_call_arguments.done')!.data, { item_id: 'item_resp_8_1', output_index: 1 });
});

t.test('pass-through frames: the upstream event with RouterHub numbers; the done item joins the output in its place', async (t) => {
  const rs = new ResponseStream('resp_9', 'a/b', undefined, 1);
  const item = { type: 'web_search_call', id: 'ws_1', status: 'completed', action: { type: 'search', query: 'q' } };
  const text = rs.start() +
    rs.frame([F.PassThrough, 0, { type: 'response.output_item.added', item: { type: 'web_search_call', id: 'ws_1', status: 'in_progress' } }]) +
    rs.frame([F.PassThrough, 0, { type: 'response.web_search_call.searching', item_id: 'ws_1' }]) +
    rs.frame([F.PassThrough, 0, { type: 'response.output_item.done', item }]) +
    rs.frame([F.ItemAdded, 1, { type: 'message', id: 'msg_1', role: 'assistant', status: 'in_progress', content: [] }]) +
    rs.frame([F.TextDelta, 1, 'Found it.']) +
    rs.frame([F.ItemDone, 1, { type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Found it.', annotations: [] }] }]) +
    rs.frame([F.Completed, usage, null]);
  const events = parse(text);
  t.same(events.slice(2, 5).map((e) => e.data), [
    { type: 'response.output_item.added', output_index: 0, item: { type: 'web_search_call', id: 'ws_1', status: 'in_progress' }, sequence_number: 2 },
    { type: 'response.web_search_call.searching', output_index: 0, item_id: 'ws_1', sequence_number: 3 },
    { type: 'response.output_item.done', output_index: 0, item, sequence_number: 4 },
  ]);
  t.equal(events[3].event, 'response.web_search_call.searching');
  const completed = events.at(-1)!.data as { response: { output: Array<{ type: string }> } };
  t.same(completed.response.output.map((i) => i.type), ['web_search_call', 'message']);
  t.same(completed.response.output[0], item);
  // What RouterHub produces itself still follows the spec; the spec has no hosted-tool items or events.
  conforms(t, events.filter((e) => !String(e.data.type).startsWith('response.web_search_call.') && (e.data.item as { type?: string } | undefined)?.type !== 'web_search_call' && e.data.type !== 'response.completed'));
  t.notOk(spec.checkEvent(events[3].data as { type: string }).ok, 'the spec does not define web_search_call events');
  t.notOk(spec.checkResponse(completed.response).ok, "nor a web_search_call in a Response's output (its ItemField is a closed oneOf)");
});
