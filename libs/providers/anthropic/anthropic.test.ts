import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ApiError, FunctionCallItem, InputItem, OutputItem, ReasoningItem, ResponsesRequest, Usage } from '../../protocol/types';
import { F, type Frame } from '../../wire/frames';
import { anthropic } from './index';
import { buildRequest, toAnthropicRequest, type AnthropicMessage, type ToolResultBlock, type ToolUseBlock } from './request';
import { decodeReasoning } from './state';
import { anthropicWire } from '../mock/anthropic';
import type { MockTurn } from '../mock/script';
import { MockUpstream } from '../mock/server';
import { CUSTOM_TOOL_INPUT_PARAM } from '../output';
import { chunks, codexRequest, everyInputShape, fixturePath, PDF_DATA_URL, refusal, replay, withInput } from '../replay';

const dep = { provider: 'anthropic', base_url: 'https://api.anthropic.com/v1/', model: 'claude-sonnet-4-5' };
const APPLY_PATCH = { type: 'custom', name: 'apply_patch', description: 'Edit files.', format: { type: 'grammar', syntax: 'lark', definition: 'start: begin_patch hunk+ end_patch' } } as const;

/** SSE text (`event:`/`data:` lines, blank-line separated) to events, as the worker's parser yields them. */
function parseSse(text: string): Array<{ event?: string; data: string }> {
  return text.split(/\r?\n\r?\n/).filter((b) => b.trim() !== '').map((b) => {
    let event: string | undefined;
    const data: string[] = [];
    for (const line of b.split(/\r?\n/)) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    return { event, data: data.join('\n') };
  });
}

const done = (frames: Frame[]): OutputItem[] => frames.filter((f) => f[0] === F.ItemDone).map((f) => f[2] as OutputItem);
const text = (frames: Frame[]) => frames.filter((f) => f[0] === F.TextDelta).map((f) => f[2]).join('');
const usageOf = (r: { out: { terminal: unknown } }) => (r.out.terminal as [number, Usage, string | null])[1];
const incompleteOf = (r: { out: { terminal: unknown } }) => (r.out.terminal as [number, Usage, string | null])[2];

// ---------------------------------------------------------------------------------------------
// Stream: recorded Anthropic streams.

t.test('stream: text', async (t) => {
  const r = replay(anthropic, chunks('anthropic', 'anthropic-text.chunks.txt'));
  const items = done(r.frames);
  t.equal(items.length, 1);
  t.equal(items[0].type, 'message');
  const streamed = text(r.frames);
  t.equal(streamed, "Hello! I'm doing well, thank you for asking. How are you doing today? Is there anything I can help you with?");
  t.equal((items[0] as { content: Array<{ text: string }> }).content[0].text, streamed);
  t.equal(r.out.terminal?.[0], F.Completed);
  t.equal(incompleteOf(r), null);
  t.same(usageOf(r), { input_tokens: 12, input_tokens_details: { cached_tokens: 0 }, output_tokens: 30, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 42 });
});

t.test('stream: long structured text arrives whole', async (t) => {
  const r = replay(anthropic, chunks('anthropic', 'anthropic-json-output-format.1.chunks.txt'));
  const items = done(r.frames);
  t.equal(items.length, 1);
  t.doesNotThrow(() => JSON.parse((items[0] as { content: Array<{ text: string }> }).content[0].text));
});

t.test('stream: text then a tool call with complete JSON arguments and call_id', async (t) => {
  const r = replay(anthropic, chunks('anthropic', 'issue-10781.1.chunks.txt'));
  const [msg, call] = done(r.frames) as [OutputItem, FunctionCallItem];
  t.equal(msg.type, 'message');
  t.equal(call.type, 'function_call');
  t.equal(call.call_id, 'toolu_01Ni1uw4HXYxUhc4iFMqx7yY');
  t.equal(call.name, 'get_weather');
  t.same(JSON.parse(call.arguments), { city: 'San Francisco' });
  t.equal(r.frames.filter((f) => f[0] === F.ArgsDelta).map((f) => f[2]).join(''), call.arguments);
  t.equal(r.out.terminal?.[0], F.Completed);
  t.equal(incompleteOf(r), null);
});

t.test('stream: forced tool without text', async (t) => {
  const r = replay(anthropic, chunks('anthropic', 'anthropic-json-tool.1.chunks.txt'));
  const items = done(r.frames) as FunctionCallItem[];
  t.equal(items.length, 1);
  t.equal(items[0].name, 'json');
  t.equal(JSON.parse(items[0].arguments).elements[0].temperature, 58);
});

t.test('stream: a tool call with no arguments gets {}', async (t) => {
  const r = replay(anthropic, chunks('anthropic', 'anthropic-tool-no-args.chunks.txt'));
  const call = done(r.frames)[1] as FunctionCallItem;
  t.equal(call.name, 'updateIssueList');
  t.equal(call.arguments, '{}');
});

t.test('stream: parallel tool calls each get their own item (recorded and rh- fixture)', async (t) => {
  const recorded = done(replay(anthropic, chunks('anthropic', 'anthropic-issue-15652-false.chunks.txt')).frames) as FunctionCallItem[];
  t.same(recorded.map((c) => JSON.parse(c.arguments).query), ['alpha', 'beta', 'gamma']);
  t.equal(new Set(recorded.map((c) => c.call_id)).size, 3);
  t.equal(new Set(recorded.map((c) => c.id)).size, 3);

  const r = replay(anthropic, chunks('anthropic', 'rh-parallel-tool-calls.chunks.txt'));
  const [msg, a, b] = done(r.frames) as [OutputItem, FunctionCallItem, FunctionCallItem];
  t.equal(msg.type, 'message');
  t.same([a.name, a.call_id, JSON.parse(a.arguments)], ['exec_command', 'toolu_01RhParallelA000000000001', { cmd: 'cat a.txt' }]);
  t.same([b.name, b.call_id, JSON.parse(b.arguments)], ['view_image', 'toolu_01RhParallelB000000000002', { path: 'b.png' }]);
});

t.test('stream: raw SSE wire format (event: lines) is read the same', async (t) => {
  const events = parseSse(readFileSync(fixturePath('anthropic', 'fallback-anthropic.sse'), 'utf8'));
  t.equal(events[0].event, 'message_start');
  const r = replay(anthropic, events);
  const [msg, call] = done(r.frames) as [OutputItem, FunctionCallItem];
  t.equal((msg as { content: Array<{ text: string }> }).content[0].text, 'Reading it.');
  t.same([call.name, call.call_id, JSON.parse(call.arguments)], ['read_file', 'toolu_sanitized', { path: 'a.txt' }]);
  t.equal(r.out.terminal?.[0], F.Completed);
});

t.test('stream: a call to a custom tool (apply_patch) becomes a custom_tool_call with the raw patch', async (t) => {
  const req: ResponsesRequest = { model: 'anthropic/claude', input: 'add hello.txt', tools: [APPLY_PATCH] };
  const r = replay(anthropic, chunks('anthropic', 'rh-custom-tool-apply-patch.chunks.txt'), req);
  const items = done(r.frames);
  t.equal(items.length, 1);
  t.same(items[0], { type: 'custom_tool_call', id: items[0].id, call_id: 'toolu_01RhApplyPatch00000000001', name: 'apply_patch', input: '*** Begin Patch\n*** Add File: hello.txt\n+hello\n*** End Patch\n', status: 'completed' });
  t.notOk(r.frames.some((f) => f[0] === F.ArgsDelta), 'no JSON argument deltas leak out');
});

t.test('stream: thinking becomes reasoning whose encrypted_content round-trips to the same thinking block', async (t) => {
  const r = replay(anthropic, chunks('anthropic', 'anthropic-clear-thinking.1.chunks.txt'));
  const [reasoning, msg] = done(r.frames) as [ReasoningItem, OutputItem];
  t.equal(reasoning.type, 'reasoning');
  const thinking = 'The previous result was 925. Now I need to divide that by 5.\n\n925 ÷ 5 = 185';
  t.equal(reasoning.summary[0].text, thinking);
  t.equal(r.frames.filter((f) => f[0] === F.ReasoningDelta).map((f) => f[3]).join(''), thinking);
  t.equal(msg.type, 'message');
  t.equal(text(r.frames), '925 ÷ 5 = 185');

  // Codex sends the item back unchanged next turn: the same thinking block must reach Anthropic.
  const next = toAnthropicRequest({ model: 'm', input: [{ type: 'message', role: 'user', content: 'divide' }, reasoning, msg, { type: 'message', role: 'user', content: 'thanks' }], reasoning: { effort: 'low' } }, dep);
  t.same(next.messages[1].content[0], { type: 'thinking', thinking, signature: 'EvQBCkYICxgCKkAxhD4NUKFzudtZ6NzbZdEiBACIScTzqjPViM596iWLZIk4EFKYYBj3B6Ptl3b0dcQv/VeJBNbejNWIWRBn+KPNEgz6HWtKx7p+QRgKsEoaDGjsiqfht7gTRFYHiyIwD1VSmNqHxv3wy8KEMP+LYb/TC4UH3H97tuoaADARFFcA0phdfxnzKQxFnc9lwY+dKlzUsaKSUAFeu1bDL5ikZJ1vL0Fkz6JjoFke0L/wOJRIUDUlDUOFJ1tZ3ea7g6LGE/5hwuvWgLwewdcm64d+43l7F57XrOmqNd6flI2K/oPr/4yzNgvi/EhT6Ca17BgB' });
  t.same(next.messages[1].content[1], { type: 'text', text: '925 ÷ 5 = 185' });
});

t.test('stream: thinking then a client tool_use; the next request keeps thinking first and pairs the call', async (t) => {
  const r = replay(anthropic, chunks('anthropic', 'rh-thinking-tool-use.chunks.txt'));
  const [reasoning, call] = done(r.frames) as [ReasoningItem, FunctionCallItem];
  t.equal(reasoning.summary[0].text, 'The user wants the files listed. I will run ls in the workspace.');
  t.ok(reasoning.encrypted_content);
  t.same(JSON.parse(call.arguments), { cmd: 'ls -la', workdir: '/repo' });
  t.same(usageOf(r), { input_tokens: 6000, input_tokens_details: { cached_tokens: 4800 }, output_tokens: 96, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 6096 });

  const output: InputItem = { type: 'function_call_output', id: 'fco_1', call_id: call.call_id, output: 'a.txt\nb.txt' };
  const next = toAnthropicRequest({ model: 'm', input: [{ type: 'message', role: 'user', content: 'list files' }, reasoning, call, output], reasoning: { effort: 'high' } }, dep);
  t.same(next.messages.map((m) => m.content.map((b) => b.type)), [['text'], ['thinking', 'tool_use'], ['tool_result']]);
  t.equal((next.messages[2].content[0] as ToolResultBlock).tool_use_id, call.call_id);
  t.same(next.thinking, { type: 'enabled', budget_tokens: 16384 });
});

t.test('stream: thinking with only a signature, server tools ignored, cache and thinking-token usage', async (t) => {
  const r = replay(anthropic, chunks('anthropic', 'anthropic-code-execution-20260120-issue-18193.chunks.txt'));
  const items = done(r.frames);
  t.same(items.map((i) => i.type), ['reasoning', 'message'], 'server_tool_use and its results produce no items');
  const block = decodeReasoning((items[0] as ReasoningItem).encrypted_content);
  t.equal(block?.type, 'thinking');
  t.equal(block?.type === 'thinking' && block.thinking, '');
  t.same(usageOf(r), { input_tokens: 6 + 9429 + 452, input_tokens_details: { cached_tokens: 9429, cache_write_tokens: 452 }, output_tokens: 383, output_tokens_details: { reasoning_tokens: 182 }, total_tokens: 6 + 9429 + 452 + 383 });
});

t.test('stream: redacted thinking goes back as redacted_thinking', async (t) => {
  const r = replay(anthropic, chunks('anthropic', 'rh-redacted-thinking.chunks.txt'));
  const [reasoning] = done(r.frames) as [ReasoningItem];
  t.same(reasoning.summary, []);
  t.same(decodeReasoning(reasoning.encrypted_content), { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPkNRj2YfWXGmKDxH4mPnZ5sQ7vB4URj6pj0wREqyXGGfPbBYTDzmpw' });
});

t.test('stream: prompt-cache write and read; max_tokens stop is incomplete', async (t) => {
  const write = replay(anthropic, chunks('anthropic', 'anthropic-issue-5942-cache-write.chunks.txt'));
  t.same(usageOf(write), { input_tokens: 18642, input_tokens_details: { cached_tokens: 0, cache_write_tokens: 18639 }, output_tokens: 1, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 18643 });
  t.equal(incompleteOf(write), 'max_output_tokens');
  const read = replay(anthropic, chunks('anthropic', 'anthropic-issue-5942-cache-read.chunks.txt'));
  t.same(usageOf(read), { input_tokens: 18642, input_tokens_details: { cached_tokens: 18639 }, output_tokens: 1, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 18643 });
  t.equal(incompleteOf(read), 'max_output_tokens');
  t.equal(done(read.frames).length, 1, 'the partial answer is still delivered');
});

t.test('stream: refusal is incomplete with content_filter', async (t) => {
  const r = replay(anthropic, chunks('anthropic', 'anthropic-refusal.chunks.txt'));
  t.equal(r.out.terminal?.[0], F.Completed);
  t.equal(incompleteOf(r), 'content_filter');
  t.equal(done(r.frames).length, 0);
});

t.test('stream: overloaded error mid-stream fails retryably, after closing the partial item', async (t) => {
  const r = replay(anthropic, chunks('anthropic', 'rh-overloaded-midstream.chunks.txt'));
  t.equal(r.out.terminal?.[0], F.Failed);
  const [, error, status] = r.out.terminal as [number, ApiError, number, number | null];
  t.equal(error.code, 'server_is_overloaded');
  t.match(error.message, /Anthropic/);
  t.match(error.message, /retry/);
  t.equal(status, 503);
  t.ok(r.out.retryable);
  t.ok(r.out.hasOutput, 'text was already streamed: the worker will not fail over');
});

t.test('stream: other in-stream errors', async (t) => {
  const ev = (type: string, message: string) => JSON.stringify({ type: 'error', error: { type, message } });
  const rl = replay(anthropic, [ev('rate_limit_error', 'Rate limited')]);
  t.equal((rl.out.terminal?.[1] as ApiError).code, 'rate_limit_exceeded');
  t.ok(rl.out.retryable);
  t.ok(replay(anthropic, [ev('api_error', 'Internal server error')]).out.retryable);
  const bad = replay(anthropic, [ev('invalid_request_error', 'prompt is too long: 210000 tokens > 200000 maximum')]);
  t.equal((bad.out.terminal?.[1] as ApiError).code, 'context_length_exceeded');
  t.notOk(bad.out.retryable);
});

t.test('stream: unknown events and deltas are ignored; a stream cut before any stop leaves no terminal', async (t) => {
  const lines = chunks('anthropic', 'anthropic-text.chunks.txt');
  const extra = [JSON.stringify({ type: 'some_future_event', x: 1 }), JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'future_delta' } })];
  const r = replay(anthropic, [...lines.slice(0, 3), ...extra, ...lines.slice(3)]);
  t.equal(r.out.terminal?.[0], F.Completed);
  t.equal(replay(anthropic, lines.slice(0, 5)).out.terminal, null);
  // message_delta carried the stop reason: the answer is whole even without message_stop.
  t.equal(replay(anthropic, lines.slice(0, -1)).out.terminal?.[0], F.Completed);
});

// ---------------------------------------------------------------------------------------------
// Request translation.

function codexBody(): ResponsesRequest {
  return codexRequest();
}

t.test('request: a real Codex body (developer messages, apply_patch, hosted tools)', async (t) => {
  const req = codexBody();
  const up = buildRequest(req, dep, 'sk-ant');
  t.equal(up.url, 'https://api.anthropic.com/v1/messages');
  t.equal(up.headers['x-api-key'], 'sk-ant');
  t.equal(up.headers['anthropic-version'], '2023-06-01');
  t.equal(up.headers['content-type'], 'application/json');
  const body = JSON.parse(up.body) as Record<string, unknown> & ReturnType<typeof toAnthropicRequest>;
  t.equal(body.model, 'claude-sonnet-4-5');
  t.equal(body.stream, true);
  t.notOk('client_metadata' in body || 'store' in body || 'include' in body || 'prompt_cache_key' in body || 'text' in body);
  // Both developer messages (1 + 3 text parts) are the system prompt; only user turns remain.
  t.equal(body.system?.length, 4);
  t.match(body.system?.[0].text, /^You are Codex/);
  t.same(body.messages.map((m) => m.role), ['user']);
  t.equal(body.messages[0].content.length, 2);
  t.equal((body.messages[0].content[1] as { text: string }).text, (req.input as Array<{ content: Array<{ text: string }> }>)[3].content[0].text);

  const names = body.tools?.map((tool) => tool.name);
  t.same(names, ['exec_command', 'write_stdin', 'request_user_input', 'apply_patch', 'view_image', 'get_goal', 'create_goal', 'update_goal']);
  const patch = body.tools?.find((tool) => tool.name === 'apply_patch');
  t.same(patch?.input_schema.required, [CUSTOM_TOOL_INPUT_PARAM]);
  t.equal((patch?.input_schema.properties as Record<string, { type: string }>)[CUSTOM_TOOL_INPUT_PARAM].type, 'string');
  t.match(patch?.description, /FREEFORM/);
  t.match(patch?.description, /begin_patch hunk\+ end_patch/);
  t.same(body.tools?.[0].input_schema, (req.tools?.[0] as { parameters: unknown }).parameters);

  t.same(body.tool_choice, { type: 'auto' });
  t.same(body.thinking, { type: 'enabled', budget_tokens: 8192 });
  t.equal(body.max_tokens, 64000);
  // Cache breakpoints: last tool, last system block, last block of the conversation.
  const marked = [body.tools?.at(-1), body.system?.at(-1), body.messages[0].content.at(-1)];
  t.same(marked.map((b) => (b as { cache_control?: unknown })?.cache_control), [{ type: 'ephemeral' }, { type: 'ephemeral' }, { type: 'ephemeral' }]);
  t.equal(up.body.split('"cache_control"').length - 1, 3);
});

t.test('request: history with calls, outputs, custom calls, images and foreign reasoning', async (t) => {
  const req: ResponsesRequest = {
    model: 'anthropic/claude',
    instructions: 'Be brief.',
    input: [
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'look' }, { type: 'input_image', image_url: 'data:image/png;base64,iVBORw0KGgo=' }, { type: 'input_image', image_url: 'https://example.com/a.png' }] },
      { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'openai thoughts' }], encrypted_content: 'gAAAAABoPaQ-opaque' },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Running two things.' }] },
      { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'exec_command', arguments: '{"cmd":"ls"}' },
      { type: 'function_call', id: 'fc_2', call_id: 'call.2', name: 'get_goal', arguments: '' },
      { type: 'function_call_output', id: 'fco_1', call_id: 'call_1', output: 'a.txt' },
      { type: 'function_call_output', id: 'fco_2', call_id: 'call.2', output: [{ type: 'input_text', text: 'goal' }, { type: 'input_image', image_url: 'data:image/jpeg;base64,/9j/' }] },
      { type: 'message', role: 'developer', content: 'Late developer note.' },
      { type: 'custom_tool_call', id: 'ctc_1', call_id: 'call_3', name: 'apply_patch', input: '*** Begin Patch\n*** End Patch\n' },
      { type: 'custom_tool_call_output', id: 'ctco_1', call_id: 'call_3', output: 'Success.' },
      { type: 'local_shell_call', id: 'ls_1', call_id: 'x', action: {} },
      { type: 'web_search_call', id: 'ws_1' },
      { type: 'message', role: 'user', content: 'next' },
    ],
    tools: [APPLY_PATCH, { type: 'web_search' }, { type: 'namespace', name: 'multi_agent_v1', tools: [{ type: 'function', name: 'spawn_agent', parameters: null }] }],
    tool_choice: 'auto',
    parallel_tool_calls: false,
    temperature: 0.2,
  };
  const body = toAnthropicRequest(req, dep);
  t.same(body.system?.map((b) => b.text), ['Be brief.', 'Late developer note.']);
  t.same(body.messages.map((m) => m.role), ['user', 'assistant', 'user', 'assistant', 'user']);
  const [user, assistant, results, patchCall, last] = body.messages as AnthropicMessage[];
  t.same(user.content.slice(1), [
    { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
    { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } },
  ]);
  // The OpenAI reasoning item is not ours: dropped.
  t.same(assistant.content, [
    { type: 'text', text: 'Running two things.' },
    { type: 'tool_use', id: 'call_1', name: 'exec_command', input: { cmd: 'ls' } },
    { type: 'tool_use', id: 'call_2', name: 'get_goal', input: {} },
  ]);
  t.same(results.content, [
    { type: 'tool_result', tool_use_id: 'call_1', content: 'a.txt' },
    // The end of the previous request (the turn before the last assistant turn): a cache breakpoint.
    { type: 'tool_result', tool_use_id: 'call_2', content: [{ type: 'text', text: 'goal' }, { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/' } }], cache_control: { type: 'ephemeral' } },
  ]);
  t.same(patchCall.content, [{ type: 'tool_use', id: 'call_3', name: 'apply_patch', input: { input: '*** Begin Patch\n*** End Patch\n' } }]);
  t.same(last.content.map((b) => b.type), ['tool_result', 'text'], 'tool results first in a user turn');
  t.same((last.content[0] as ToolResultBlock).content, 'Success.');

  t.same(body.tools?.map((tool) => tool.name), ['apply_patch', 'spawn_agent'], 'web_search dropped, namespace flattened');
  t.same(body.tools?.[1].input_schema, { type: 'object', properties: {} });
  t.same(body.tool_choice, { type: 'auto', disable_parallel_tool_use: true });
  t.equal(body.temperature, 0.2);
  t.notOk(body.thinking);
  t.equal(body.max_tokens, 32000);
});

t.test('request: unpaired calls and outputs are repaired', async (t) => {
  const body = toAnthropicRequest({
    model: 'm',
    input: [
      { type: 'message', role: 'user', content: 'go' },
      { type: 'function_call', call_id: 'c1', name: 'exec_command', arguments: '{}' },
      { type: 'function_call_output', call_id: 'zz', output: 'stray' },
      { type: 'message', role: 'user', content: 'continue' },
    ],
  }, dep);
  const results = body.messages[2].content;
  t.same(results[0], { type: 'tool_result', tool_use_id: 'c1', content: 'No output: the call was not run.', is_error: true });
  t.same(results.slice(1).map((b) => b.type), ['text', 'text']);
  t.match((results[1] as { text: string }).text, /zz[\s\S]*stray/);
});

t.test('request: tool_choice, effort budgets and token limits', async (t) => {
  const tools = [{ type: 'function', name: 'f', parameters: { type: 'object', properties: {} } }];
  const base: ResponsesRequest = { model: 'm', input: 'hi', tools };
  t.same(toAnthropicRequest({ ...base, tool_choice: 'none' }, dep).tool_choice, { type: 'none' });
  t.same(toAnthropicRequest({ ...base, tool_choice: 'required' }, dep).tool_choice, { type: 'any' });
  t.same(toAnthropicRequest({ ...base, tool_choice: { type: 'function', name: 'f' } }, dep).tool_choice, { type: 'tool', name: 'f' });
  t.notOk(toAnthropicRequest({ model: 'm', input: 'hi', tool_choice: 'auto' }, dep).tool_choice, 'no tools, no tool_choice');

  const budget = (effort: string | null, extra: Partial<ResponsesRequest> = {}) => toAnthropicRequest({ ...base, reasoning: { effort }, ...extra }, dep);
  t.same(['minimal', 'low', 'medium', 'high', 'xhigh'].map((e) => budget(e).thinking?.budget_tokens), [1024, 4096, 8192, 16384, 32000]);
  t.notOk(budget('none').thinking);
  t.notOk(budget(null).thinking);
  t.notOk(toAnthropicRequest(base, dep).thinking);
  // Budget below max_tokens; no thinking when it cannot fit or a tool is forced; no temperature with thinking.
  const capped = budget('high', { max_output_tokens: 4000 });
  t.equal(capped.max_tokens, 4000);
  t.equal(capped.thinking?.budget_tokens, 2000);
  t.notOk(budget('high', { max_output_tokens: 1000 }).thinking);
  t.notOk(budget('high', { tool_choice: 'required' }).thinking);
  const warm = budget('medium', { temperature: 0.7, top_p: 0.9 });
  t.notOk('temperature' in warm);
  t.notOk('top_p' in warm);
  t.equal(toAnthropicRequest({ ...base, top_p: 0.9 }, dep).top_p, 0.9);
});

t.test('request: thinking is off when the tool loop being continued has no thinking block', async (t) => {
  const input: InputItem[] = [
    { type: 'message', role: 'user', content: 'go' },
    { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}' },
    { type: 'function_call_output', call_id: 'c1', output: 'ok' },
  ];
  t.notOk(toAnthropicRequest({ model: 'm', input, reasoning: { effort: 'high' } }, dep).thinking);
});

t.test('request: deployment headers are merged', async (t) => {
  const up = buildRequest({ model: 'm', input: 'hi' }, { ...dep, base_url: 'https://proxy.example/v1', headers: { 'anthropic-beta': 'x' } }, '');
  t.equal(up.url, 'https://proxy.example/v1/messages');
  t.equal(up.headers['anthropic-beta'], 'x');
  t.notOk('x-api-key' in up.headers);
  const body = JSON.parse(up.body);
  t.same(body.messages, [{ role: 'user', content: [{ type: 'text', text: 'hi', cache_control: { type: 'ephemeral' } }] }]);
  t.notOk('system' in body || 'tools' in body);
});

// ---------------------------------------------------------------------------------------------
// Errors.

t.test('errors: Anthropic error bodies', async (t) => {
  const body = (type: string, message: string) => JSON.stringify({ type: 'error', error: { type, message }, request_id: 'req_1' });
  const overloaded = anthropic.mapError(529, {}, body('overloaded_error', 'Overloaded'));
  t.equal(overloaded.httpStatus, 503);
  t.equal(overloaded.error.code, 'server_is_overloaded');
  t.ok(overloaded.retryable);
  t.match(overloaded.error.message, /Anthropic/);
  const rl = anthropic.mapError(429, { 'retry-after': '12' }, body('rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit'));
  t.equal(rl.httpStatus, 429);
  t.equal(rl.retryAfterSeconds, 12);
  t.ok(rl.retryable);
  const ctx = anthropic.mapError(400, {}, body('invalid_request_error', 'prompt is too long: 208310 tokens > 200000 maximum'));
  t.equal(ctx.error.code, 'context_length_exceeded');
  t.notOk(ctx.retryable);
  const auth = anthropic.mapError(401, {}, body('authentication_error', 'invalid x-api-key'));
  t.equal(auth.httpStatus, 502);
  t.ok(auth.retryable);
  const bad = anthropic.mapError(400, {}, body('invalid_request_error', 'messages: roles must alternate'));
  t.equal(bad.httpStatus, 400);
  t.notOk(bad.retryable);
  t.match(bad.error.message, /roles must alternate/);
  const big = anthropic.mapError(413, {}, body('request_too_large', 'Request exceeds the maximum allowed number of bytes.'));
  t.equal(big.error.code, 'request_too_large');
});

// ---------------------------------------------------------------------------------------------
// The mock upstream speaks what the adapter reads.

function roundTrip(turn: MockTurn, req?: ResponsesRequest) {
  const sse = anthropicWire.events(turn, { model: 'claude-mock', id: 'mock1' }).join('');
  const events = parseSse(sse);
  for (const e of events) if (e.event !== (JSON.parse(e.data) as { type: string }).type) throw new Error(`event line ${e.event} does not match data`);
  return { events, ...replay(anthropic, events, req) };
}

t.test('mock: a full turn round-trips through the adapter', async (t) => {
  const turn: MockTurn = {
    parts: [
      { type: 'reasoning', text: 'Think about it.', signature: 'sig-1' },
      { type: 'text', text: 'Here is the plan.' },
      { type: 'function_call', name: 'exec_command', arguments: '{"cmd":"echo hi"}', call_id: 'toolu_a' },
      { type: 'custom_tool_call', name: 'apply_patch', input: '*** Begin Patch\n*** Add File: x\n+y\n*** End Patch\n', call_id: 'toolu_b' },
    ],
    usage: { input: 500, cached: 300, output: 40, reasoning: 10 },
  };
  const r = roundTrip(turn, { model: 'm', input: 'x', tools: [APPLY_PATCH] });
  t.equal(r.events[0].event, 'message_start');
  t.equal(r.events.at(-1)?.event, 'message_stop');
  t.ok(r.events.some((e) => e.event === 'ping'));
  const items = done(r.frames);
  t.same(items.map((i) => i.type), ['reasoning', 'message', 'function_call', 'custom_tool_call']);
  t.equal((items[0] as ReasoningItem).summary[0].text, 'Think about it.');
  t.same(decodeReasoning((items[0] as ReasoningItem).encrypted_content), { type: 'thinking', thinking: 'Think about it.', signature: 'sig-1' });
  t.equal((items[1] as { content: Array<{ text: string }> }).content[0].text, 'Here is the plan.');
  t.same([(items[2] as FunctionCallItem).call_id, (items[2] as FunctionCallItem).arguments], ['toolu_a', '{"cmd":"echo hi"}']);
  t.same([(items[3] as { call_id: string }).call_id, (items[3] as { input: string }).input], ['toolu_b', '*** Begin Patch\n*** Add File: x\n+y\n*** End Patch\n']);
  t.same(usageOf(r), { input_tokens: 500, input_tokens_details: { cached_tokens: 300 }, output_tokens: 40, output_tokens_details: { reasoning_tokens: 10 }, total_tokens: 540 });
  t.equal(incompleteOf(r), null);
});

t.test('mock: generated signatures, stops and stream errors', async (t) => {
  const thought = roundTrip({ parts: [{ type: 'reasoning', text: 'hmm' }] });
  t.equal(decodeReasoning((done(thought.frames)[0] as ReasoningItem).encrypted_content)?.type, 'thinking');
  t.equal(incompleteOf(roundTrip({ parts: [{ type: 'text', text: 'cut' }], stop: 'max_tokens' })), 'max_output_tokens');
  t.equal(incompleteOf(roundTrip({ parts: [], stop: 'content_filter' })), 'content_filter');
  const failed = roundTrip({ parts: [{ type: 'text', text: 'a b' }, { type: 'text', text: 'never' }], streamError: { afterParts: 1, message: 'Overloaded' } });
  t.equal(failed.events.at(-1)?.event, 'error');
  t.same(JSON.parse(failed.events.at(-1)!.data), { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
  t.equal(done(failed.frames).length, 1);
  t.equal((failed.out.terminal?.[1] as ApiError).code, 'server_is_overloaded');
  t.ok(failed.out.retryable);
});

t.test('mock: error responses and request view', async (t) => {
  const overloaded = anthropicWire.errorResponse({ status: 503, type: 'overloaded_error' });
  t.equal(overloaded.status, 529);
  t.same(JSON.parse(overloaded.body).error, { type: 'overloaded_error', message: 'Overloaded' });
  t.equal(anthropic.mapError(overloaded.status, overloaded.headers, overloaded.body).error.code, 'server_is_overloaded');
  const rl = anthropicWire.errorResponse({ status: 429, retryAfter: 5 });
  t.equal(rl.headers['retry-after'], '5');
  t.equal(JSON.parse(rl.body).type, 'error');
  t.equal(anthropic.mapError(rl.status, rl.headers, rl.body).retryAfterSeconds, 5);
  t.equal(JSON.parse(anthropicWire.errorResponse({ status: 401 }).body).error.type, 'authentication_error');
  t.ok(anthropicWire.matches('/v1/messages'));
  t.notOk(anthropicWire.matches('/v1/responses'));

  const body = JSON.parse(buildRequest({
    model: 'm',
    input: [
      { type: 'message', role: 'user', content: '<environment_context>…</environment_context>' },
      { type: 'message', role: 'user', content: 'run: ls' },
      { type: 'function_call', call_id: 'c1', name: 'exec_command', arguments: '{"cmd":"ls"}' },
      { type: 'function_call_output', call_id: 'c1', output: 'a.txt' },
    ],
    tools: [{ type: 'function', name: 'exec_command' }],
  }, dep, 'k').body) as Record<string, unknown>;
  t.same(anthropicWire.view(body), { lastUserText: 'run: ls', toolResults: ['a.txt'], tools: ['exec_command'] });
});

t.test('mock: the mock upstream serves Anthropic over HTTP (demo tool loop, then an HTTP error)', async (t) => {
  const mock = await MockUpstream.start();
  t.teardown(() => mock.close());
  const deployment = { ...dep, base_url: `${mock.url}/v1` };
  const req: ResponsesRequest = { model: 'm', input: 'run: echo hi', tools: [{ type: 'function', name: 'exec_command', parameters: { type: 'object', properties: { cmd: { type: 'string' } } } }] };
  const up = buildRequest(req, deployment, 'sk-test');
  const res = await fetch(up.url, { method: 'POST', headers: up.headers, body: up.body });
  t.equal(res.status, 200);
  const r = replay(anthropic, parseSse(await res.text()), req);
  const [call] = done(r.frames) as FunctionCallItem[];
  t.same([call.name, JSON.parse(call.arguments)], ['exec_command', { cmd: 'echo hi' }]);
  t.equal(mock.requests[0].family, 'anthropic');
  t.equal(mock.requests[0].headers['x-api-key'], 'sk-test');

  mock.script({ parts: [], httpError: { status: 529 } });
  const failed = await fetch(up.url, { method: 'POST', headers: up.headers, body: up.body });
  t.equal(failed.status, 529);
  t.equal(anthropic.mapError(failed.status, Object.fromEntries(failed.headers), await failed.text()).error.code, 'server_is_overloaded');
});

t.test('every copied fixture replays to a terminal', async (t) => {
  const tools = [APPLY_PATCH];
  for (const file of ['anthropic-text.chunks.txt', 'anthropic-json-output-format.1.chunks.txt', 'anthropic-json-tool.1.chunks.txt', 'anthropic-tool-no-args.chunks.txt', 'issue-10781.1.chunks.txt', 'anthropic-issue-15652-false.chunks.txt', 'anthropic-clear-thinking.1.chunks.txt', 'anthropic-code-execution-20260120-issue-18193.chunks.txt', 'anthropic-issue-5942-cache-write.chunks.txt', 'anthropic-issue-5942-cache-read.chunks.txt', 'anthropic-refusal.chunks.txt', 'rh-thinking-tool-use.chunks.txt', 'rh-parallel-tool-calls.chunks.txt', 'rh-custom-tool-apply-patch.chunks.txt', 'rh-redacted-thinking.chunks.txt']) {
    const r = replay(anthropic, chunks('anthropic', file), { model: 'm', input: 'x', tools });
    t.equal(r.out.terminal?.[0], F.Completed, file);
    // Every item that was added is done, and tool calls carry valid JSON.
    t.equal(r.frames.filter((f) => f[0] === F.ItemAdded).length, done(r.frames).length, file);
    for (const item of done(r.frames)) if (item.type === 'function_call') t.doesNotThrow(() => JSON.parse(item.arguments), file);
  }
});

t.test('request: tool_use input is always an object; an empty output has no content', async (t) => {
  const body = toAnthropicRequest({ model: 'm', input: [{ type: 'function_call', call_id: 'c', name: 'f', arguments: '[1,2]' }, { type: 'function_call_output', call_id: 'c', output: '' }] }, dep);
  t.same((body.messages[0].content[0] as ToolUseBlock).input, {});
  t.same(body.messages[1].content[0], { type: 'tool_result', tool_use_id: 'c', cache_control: { type: 'ephemeral' } });
});

t.test('request: every input shape (easy-input messages, string and part content, input_file) reaches Anthropic', async (t) => {
  const body = toAnthropicRequest(everyInputShape(), dep);
  t.match(body.system, [{ type: 'text', text: 'Be terse.' }, { type: 'text', text: 'Cite pages.' }]);
  t.match(body.messages, [
    { role: 'user', content: [
      { type: 'text', text: 'What is in this file?' },
      { type: 'text', text: 'Page one?' },
      { type: 'document', title: 'report.pdf', source: { type: 'base64', media_type: 'application/pdf', data: PDF_DATA_URL.split(',')[1] } },
    ] },
    { role: 'assistant', content: [{ type: 'text', text: 'A report.' }] },
    { role: 'user', content: [{ type: 'text', text: 'And this?' }, { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } }] },
  ]);
  t.equal(body.messages.length, 3, 'the web_search_call record is dropped');
  const text = toAnthropicRequest(withInput({ role: 'user', content: [{ type: 'input_file', filename: 'notes.txt', file_data: `data:text/plain;base64,${Buffer.from('hello').toString('base64')}` }, { type: 'input_file', file_url: 'https://example.com/r.pdf' }] }), dep);
  t.match(text.messages[0].content, [{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'hello' } }, { type: 'document', source: { type: 'url', url: 'https://example.com/r.pdf' } }]);
});

t.test('request: what Anthropic cannot take is a 400 naming input[i] and the family', async (t) => {
  const refused = (req: ResponsesRequest) => refusal(anthropic, req, dep);
  t.match(refused(withInput({ role: 'user', content: 'hi' }, { type: 'image_generation_call_v2', id: 'ig' })), { status: 400, code: 'unsupported_input', param: 'input[1]', message: /^input\[1\] is a 'image_generation_call_v2' item, which the anthropic family cannot take/ });
  t.match(refused(withInput({ type: 'item_reference', id: 'msg_1' })), { param: 'input[0]', message: /stores no responses/ });
  t.match(refused(withInput({ type: 'compaction', encrypted_content: 'x' })), { param: 'input[0]', message: /openai-responses/ });
  t.match(refused(withInput({ role: 'user', content: [{ type: 'input_text', text: 'hi' }, { type: 'input_audio', input_audio: {} }] })), { param: 'input[0].content[1]', message: /'input_audio' content part/ });
  t.match(refused(withInput({ role: 'user', content: [{ type: 'input_image', file_id: 'file-1' }] })), { param: 'input[0].content[0]', message: /file_id/ });
  t.match(refused(withInput({ role: 'user', content: [{ type: 'input_file', filename: 'a.docx', file_data: 'data:application/vnd.openxmlformats-officedocument.wordprocessingml.document;base64,UEs=' }] })), { param: 'input[0].content[0]', message: /PDF and plain-text/ });
  t.match(refused(withInput({ role: 'developer', content: [{ type: 'input_image', image_url: 'https://example.com/a.png' }] })), { param: 'input[0].content[0]', message: /an image in the system prompt/ });
  t.match(refused(withInput({ type: 'function_call_output', call_id: 'c', output: [{ type: 'input_video' }] })), { param: 'input[0].output[0]' });
});
