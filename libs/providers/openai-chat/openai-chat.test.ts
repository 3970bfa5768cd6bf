import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { FunctionCallItem, CustomToolCallItem, InputItem, MessageItem, OutputItem, ReasoningItem, ResponsesRequest, Usage } from '../../protocol/types';
import { F, type Frame } from '../../wire/frames';
import { openaiChatWire } from '../mock/openai-chat';
import type { MockTurn } from '../mock/script';
import { openaiChat } from './index';
import { buildRequest, toChatRequest, type ChatMessage, type ChatTool } from './request';
import { CUSTOM_TOOL_INPUT_PARAM } from '../output';
import { fixturePath, chunks, codexRequest, everyInputShape, PDF_DATA_URL, refusal, replay, withInput } from '../replay';

const dep = { provider: 'openai-chat', base_url: 'http://localhost:8000/v1/', model: 'Qwen/Qwen3-Coder' };
const openaiDep = { provider: 'openai-chat', base_url: 'https://api.openai.com/v1', model: 'gpt-4.1' };

const done = (frames: Frame[]): OutputItem[] => frames.filter((f) => f[0] === F.ItemDone).map((f) => f[2] as OutputItem);
const added = (frames: Frame[]): OutputItem[] => frames.filter((f) => f[0] === F.ItemAdded).map((f) => f[2] as OutputItem);
const ofType = <T extends OutputItem>(items: OutputItem[], type: T['type']): T[] => items.filter((i) => i.type === type) as T[];
const textDeltas = (frames: Frame[]): string => frames.filter((f) => f[0] === F.TextDelta).map((f) => f[2]).join('');
const usageOf = (out: { terminal: unknown }): Usage => (out.terminal as [number, Usage, string | null])[1];

/** The `data:` payloads of a raw SSE text (blank-line separated events, `data:` lines only). */
function sseData(text: string): string[] {
  return text
    .split(/\n\n+/)
    .map((ev) => ev.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n'))
    .filter((d) => d !== '');
}

// ---------------------------------------------------------------------------------------------
// Stream: recorded fixtures

t.test('stream: plain text (OpenAI) with the usage-only chunk', async (t) => {
  const { frames, out } = replay(openaiChat, chunks('openai-chat', 'openai-text.chunks.txt'));
  const items = done(frames);
  t.equal(items.length, 1);
  const msg = items[0] as MessageItem;
  t.equal(msg.type, 'message');
  const text = textDeltas(frames);
  t.ok(text.length > 500);
  t.equal((msg.content as Array<{ text: string }>)[0].text, text);
  t.equal(out.terminal?.[0], F.Completed);
  t.equal(out.terminal?.[2], null);
  t.same(usageOf(out), { input_tokens: 16, input_tokens_details: { cached_tokens: 0 }, output_tokens: 300, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 316 });
});

t.test('stream: text then a no-argument tool call; the follow-up text turn', async (t) => {
  const { frames, out } = replay(openaiChat, chunks('openai-chat', 'issue-15789-step-1.chunks.txt'));
  const items = done(frames);
  t.same(items.map((i) => i.type), ['message', 'function_call']);
  t.equal(((items[0] as MessageItem).content as Array<{ text: string }>)[0].text, 'PRE_TOOL');
  const call = items[1] as FunctionCallItem;
  t.equal(call.call_id, 'call_NZa7xqfefoaMI2YYHowVXVlU');
  t.equal(call.name, 'weather');
  t.equal(call.arguments, '{}');
  t.equal(out.terminal?.[0], F.Completed);
  t.equal(usageOf(out).input_tokens, 58);

  const step2 = replay(openaiChat, chunks('openai-chat', 'issue-15789-step-2.chunks.txt'));
  t.same(done(step2.frames).map((i) => i.type), ['message']);
  t.match(textDeltas(step2.frames), /^POST_TOOL/);
  t.equal(step2.out.terminal?.[0], F.Completed);
});

t.test('stream: Groq delivers a tool call whole in one chunk; usage top-level and under x_groq', async (t) => {
  const { frames, out } = replay(openaiChat, chunks('openai-chat', 'groq-tool-call.chunks.txt'));
  const items = done(frames);
  t.equal(items.length, 1);
  const call = items[0] as FunctionCallItem;
  t.same({ type: call.type, call_id: call.call_id, name: call.name, arguments: call.arguments }, { type: 'function_call', call_id: 'tk85n1k4m', name: 'weather', arguments: '{}' });
  t.equal(out.terminal?.[0], F.Completed);
  t.equal(usageOf(out).input_tokens, 210);
  t.equal(usageOf(out).output_tokens, 15);
});

t.test('stream: DeepSeek reasoning comes before the tool call; cached and reasoning tokens', async (t) => {
  const { frames, out } = replay(openaiChat, chunks('openai-chat', 'deepseek-tool-call.chunks.txt'));
  t.same(added(frames).map((i) => i.type), ['reasoning', 'function_call']);
  const items = done(frames);
  t.same(items.map((i) => i.type), ['reasoning', 'function_call'], 'the reasoning item is done before the call');
  const reasoning = items[0] as ReasoningItem;
  t.match(reasoning.summary[0].text, /^The user is asking/);
  const streamed = frames.filter((f) => f[0] === F.ReasoningDelta).map((f) => f[3]).join('');
  t.equal(reasoning.summary[0].text, streamed);
  const call = items[1] as FunctionCallItem;
  t.same(JSON.parse(call.arguments), { location: 'San Francisco' });
  t.equal(frames.filter((f) => f[0] === F.ArgsDelta).map((f) => f[2]).join(''), call.arguments);
  const usage = usageOf(out);
  t.equal(usage.input_tokens, 339);
  t.equal(usage.input_tokens_details.cached_tokens, 320);
  t.equal(usage.output_tokens_details.reasoning_tokens, 39);
});

t.test('stream: finish_reason length is incomplete (max_output_tokens)', async (t) => {
  const { out } = replay(openaiChat, chunks('openai-chat', 'deepseek-text.chunks.txt'));
  t.equal(out.terminal?.[0], F.Completed);
  t.equal(out.terminal?.[2], 'max_output_tokens');
  t.equal(usageOf(out).output_tokens, 400);
});

t.test('stream: Azure prompt_filter_results chunk (choices: []) is ignored', async (t) => {
  const { frames, out } = replay(openaiChat, chunks('openai-chat', 'azure-model-router.1.chunks.txt'));
  t.same(added(frames).map((i) => i.type), ['message']);
  t.equal(textDeltas(frames), 'Capital of Denmark.');
  t.equal(out.terminal?.[0], F.Completed);
  t.equal(usageOf(out).output_tokens_details.reasoning_tokens, 64);
});

t.test('stream: raw .sse with a tool call at index 1 and [DONE]', async (t) => {
  const data = sseData(readFileSync(fixturePath('openai-chat', 'anthropic-fallback-tool-call.sse'), 'utf8'));
  t.equal(data[data.length - 1], '[DONE]');
  const { frames, out } = replay(openaiChat, data);
  const items = done(frames);
  t.same(items.map((i) => i.type), ['message', 'function_call']);
  t.equal(textDeltas(frames), 'Reading it.');
  const call = items[1] as FunctionCallItem;
  t.equal(call.call_id, 'toolu_sanitized');
  t.same(JSON.parse(call.arguments), { path: 'a.txt' });
  t.equal(out.terminal?.[0], F.Completed);
  t.equal(usageOf(out), null, 'no usage chunk: usage null');
});

t.test('stream: several tool calls, each its own item with its own arguments', async (t) => {
  const { frames, out } = replay(openaiChat, chunks('openai-chat', 'rh-parallel-tool-calls.chunks.txt'));
  const calls = ofType<FunctionCallItem>(done(frames), 'function_call');
  t.same(calls.map((c) => c.call_id), ['call_rhA1', 'call_rhB2', 'call_rhC3']);
  t.same(calls.map((c) => JSON.parse(c.arguments)), [{ cmd: 'ls -la' }, { cmd: 'cat README.md', workdir: 'docs' }, { path: 'a.png' }]);
  t.equal(usageOf(out).input_tokens_details.cached_tokens, 768);
});

t.test('stream: Ollama reuses index 0 for every call of a batch: a new id is a new call', async (t) => {
  const { frames } = replay(openaiChat, chunks('openai-chat', 'rh-ollama-index0-parallel.chunks.txt'));
  const calls = ofType<FunctionCallItem>(done(frames), 'function_call');
  t.same(calls.map((c) => c.call_id), ['call_rhOll1', 'call_rhOll2']);
  t.same(calls.map((c) => JSON.parse(c.arguments).filePath), ['hello.py', 'world.py']);
});

t.test('stream: finish_reason content_filter is incomplete (content_filter)', async (t) => {
  const { frames, out } = replay(openaiChat, chunks('openai-chat', 'rh-content-filter.chunks.txt'));
  t.equal(textDeltas(frames), 'Here is the start');
  t.equal(out.terminal?.[2], 'content_filter');
});

t.test('stream: an apply_patch function call becomes a custom_tool_call with the raw patch', async (t) => {
  const req: ResponsesRequest = { model: 'x/y', input: 'hi', tools: [{ type: 'custom', name: 'apply_patch' }] };
  const { frames } = replay(openaiChat, chunks('openai-chat', 'rh-custom-tool-apply-patch.chunks.txt'), req);
  const items = done(frames);
  t.same(items.map((i) => i.type), ['message', 'custom_tool_call']);
  const call = items[1] as CustomToolCallItem;
  t.equal(call.call_id, 'call_rhPatch1');
  t.equal(call.input, '*** Begin Patch\n*** Add File: hello.txt\n+hello\n*** End Patch\n');
  t.equal(frames.filter((f) => f[0] === F.CustomInputDelta).map((f) => f[2]).join(''), call.input);
  t.equal(frames.filter((f) => f[0] === F.ArgsDelta).length, 0, 'no JSON argument deltas leak out');
});

t.test('stream: in-stream error payloads fail the response (vLLM, OpenRouter)', async (t) => {
  const vllm = replay(openaiChat, chunks('openai-chat', 'rh-vllm-stream-error.chunks.txt'));
  t.equal(vllm.out.terminal?.[0], F.Failed);
  t.ok(vllm.out.retryable, 'a server error: another deployment may succeed');
  const err = vllm.out.terminal?.[1] as { message: string; code: string };
  t.match(err.message, /OpenAI-compatible upstream \(Chat Completions\)/);
  t.match(err.message, /EngineCore encountered an issue/);
  t.match(err.message, /retry/i);
  t.equal(done(vllm.frames).length, 1, 'the partial message is closed');

  const or = replay(openaiChat, chunks('openai-chat', 'rh-openrouter-stream-error.chunks.txt'));
  t.equal(or.out.terminal?.[0], F.Failed);
  t.ok(or.out.retryable);
  t.match((or.out.terminal?.[1] as { message: string }).message, /Provider disconnected/);
});

t.test('stream: in-stream rate limit, context overflow and unknown errors', async (t) => {
  const rl = replay(openaiChat, ['{"error":{"message":"Rate limit exceeded","type":"rate_limit_error","param":null,"code":"429"}}']);
  t.equal(rl.out.terminal?.[0], F.Failed);
  t.equal((rl.out.terminal?.[1] as { code: string }).code, 'rate_limit_exceeded');
  t.ok(rl.out.retryable);
  const ctx = replay(openaiChat, ['{"error":{"message":"This model\'s maximum context length is 32768 tokens","type":"BadRequestError","param":null,"code":400}}']);
  t.equal((ctx.out.terminal?.[1] as { code: string }).code, 'context_length_exceeded');
  t.notOk(ctx.out.retryable);
  const odd = replay(openaiChat, ['{"error":"something odd"}']);
  t.equal(odd.out.terminal?.[0], F.Failed);
  t.same([odd.out.terminal?.[2], (odd.out.terminal?.[1] as { code: string }).code], [502, 'upstream_error'], 'an error the classifier cannot place: the provider failed');
  t.ok(odd.out.retryable, 'before any output, another deployment may succeed');
});

t.test('stream: ends after finish_reason without [DONE] → completed; with neither → no terminal', async (t) => {
  const lines = chunks('openai-chat', 'issue-15789-step-1.chunks.txt');
  const noUsage = replay(openaiChat, lines.slice(0, -1)); // up to the finish chunk
  t.equal(noUsage.out.terminal?.[0], F.Completed);
  const cut = replay(openaiChat, chunks('openai-chat', 'openai-text.chunks.txt').slice(0, 20));
  t.equal(cut.out.terminal, null);
  t.ok(cut.out.hasOutput);
});

t.test('stream: non-JSON data and [DONE] after an error change nothing', async (t) => {
  const { out } = replay(openaiChat, ['keep-alive', '{"error":{"message":"boom","code":500}}', '[DONE]']);
  t.equal(out.terminal?.[0], F.Failed);
});

// ---------------------------------------------------------------------------------------------
// Request

const codexBody = (): ResponsesRequest =>
  codexRequest();

t.test('request: a real Codex turn (developer messages, custom apply_patch, hosted tools)', async (t) => {
  const req = codexBody();
  const up = buildRequest(req, dep, '');
  t.equal(up.url, 'http://localhost:8000/v1/chat/completions');
  t.notOk(up.headers.authorization, 'no key, no Authorization (local servers)');
  const body = JSON.parse(up.body) as { messages: ChatMessage[]; tools: ChatTool[]; [k: string]: unknown };
  t.equal(body.model, 'Qwen/Qwen3-Coder');
  t.equal(body.stream, true);
  t.same(body.stream_options, { include_usage: true });
  const systems = body.messages.filter((m) => m.role === 'system');
  t.equal(systems.length, 1);
  t.equal(body.messages[0].role, 'system');
  t.match(body.messages[0].content as string, /^You are Codex/);
  t.match(body.messages[0].content as string, /<permissions instructions>/);
  t.notOk(body.messages.some((m) => (m.role as string) === 'developer'));
  t.same(body.messages.slice(1).map((m) => m.role), ['user', 'user']);
  t.equal(body.messages[2].content, 'say hi');

  const names = body.tools.map((tool) => tool.function.name);
  t.ok(names.includes('exec_command'));
  t.notOk(names.includes('web_search'));
  t.notOk(names.includes('tool_search'));
  t.ok(body.tools.every((tool) => tool.type === 'function'));
  const patch = body.tools.find((tool) => tool.function.name === 'apply_patch')!;
  t.same(patch.function.parameters.required, [CUSTOM_TOOL_INPUT_PARAM]);
  t.same((patch.function.parameters.properties as Record<string, { type: string }>)[CUSTOM_TOOL_INPUT_PARAM].type, 'string');
  t.match(patch.function.description!, /full patch/);
  t.match(patch.function.description!, /begin_patch/, 'the grammar is in the description');
  t.equal(body.tool_choice, 'auto');
  t.equal(body.parallel_tool_calls, true);
  t.equal(body.reasoning_effort, 'medium');
  for (const key of ['client_metadata', 'store', 'include', 'text', 'input', 'reasoning', 'prompt_cache_key', 'max_tokens']) t.notOk(key in body, `no ${key}`);
});

t.test('request: OpenAI itself gets prompt_cache_key and max_completion_tokens; others max_tokens', async (t) => {
  const req: ResponsesRequest = { model: 'm', input: 'hi', prompt_cache_key: 'k', max_output_tokens: 256, temperature: 0.2, top_p: 0.9 };
  const oa = JSON.parse(buildRequest(req, { ...openaiDep, headers: { 'x-extra': '1' } }, 'sk-1').body);
  t.equal(oa.prompt_cache_key, 'k');
  t.equal(oa.max_completion_tokens, 256);
  t.notOk('max_tokens' in oa);
  const up = buildRequest(req, { ...openaiDep, headers: { 'x-extra': '1' } }, 'sk-1');
  t.equal(up.headers.authorization, 'Bearer sk-1');
  t.equal(up.headers['x-extra'], '1');
  const local = toChatRequest(req, dep);
  t.equal(local.max_tokens, 256);
  t.notOk('prompt_cache_key' in local);
  t.equal(local.temperature, 0.2);
  t.equal(local.top_p, 0.9);
  t.same(local.messages, [{ role: 'user', content: 'hi' }]);
  t.notOk('tools' in local);
  t.notOk('tool_choice' in local, 'no tool_choice without tools');
});

t.test('request: reasoning effort, tool_choice, namespace tools, response_format', async (t) => {
  const base: ResponsesRequest = { model: 'm', input: 'hi', tools: [{ type: 'namespace', name: 'multi_agent_v1', tools: [{ type: 'function', name: 'spawn_agent', parameters: { type: 'object', properties: {} } }, { type: 'function', name: 'close_agent', strict: true }] }] };
  const effort = (e: string) => toChatRequest({ ...base, reasoning: { effort: e } }, dep).reasoning_effort;
  t.equal(effort('xhigh'), 'high');
  t.equal(effort('minimal'), 'minimal');
  t.equal(effort('none'), undefined);
  t.equal(toChatRequest({ ...base, reasoning: { summary: 'auto' } }, dep).reasoning_effort, undefined);
  const body = toChatRequest({ ...base, tool_choice: { type: 'function', name: 'spawn_agent' } }, dep);
  t.same((body.tools as ChatTool[]).map((x) => x.function.name), ['spawn_agent', 'close_agent']);
  t.equal((body.tools as ChatTool[])[1].function.strict, true);
  t.same((body.tools as ChatTool[])[1].function.parameters, { type: 'object', properties: {} });
  t.same(body.tool_choice, { type: 'function', function: { name: 'spawn_agent' } });
  const schema = { type: 'object', properties: { a: { type: 'string' } }, required: ['a'], additionalProperties: false };
  const fmt = toChatRequest({ model: 'm', input: 'hi', text: { verbosity: 'low', format: { type: 'json_schema', name: 'codex_output_schema', strict: true, schema } } }, dep);
  t.same(fmt.response_format, { type: 'json_schema', json_schema: { name: 'codex_output_schema', strict: true, schema } });
  t.notOk('verbosity' in fmt);
});

t.test('request: multi-turn history with tool calls, tool outputs, reasoning and images', async (t) => {
  const req: ResponsesRequest = {
    model: 'm',
    instructions: 'Be brief.',
    input: [
      { type: 'message', id: 'msg_1', role: 'developer', content: [{ type: 'input_text', text: 'You are Codex.' }] },
      { type: 'message', id: 'msg_2', role: 'user', content: [{ type: 'input_text', text: 'list files and patch' }] },
      { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'thinking' }], encrypted_content: 'x' },
      { type: 'message', id: 'msg_3', role: 'assistant', content: [{ type: 'output_text', text: 'Looking.' }] },
      { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'exec_command', arguments: '{"cmd":"ls"}' },
      { type: 'custom_tool_call', id: 'ctc_1', call_id: 'call_2', name: 'apply_patch', input: '*** Begin Patch\n*** End Patch\n' },
      { type: 'function_call_output', id: 'fco_1', call_id: 'call_1', output: 'a.txt\n' },
      { type: 'custom_tool_call_output', id: 'ctco_1', call_id: 'call_2', output: [{ type: 'input_text', text: 'Exit code: 0' }] },
      { type: 'web_search_call', id: 'ws_1', status: 'completed' },
      { type: 'function_call', id: 'fc_2', call_id: 'call_3', name: 'view_image', arguments: '' },
      { type: 'function_call_output', id: 'fco_2', call_id: 'call_3', output: [{ type: 'input_image', image_url: 'data:image/png;base64,AAAA', detail: 'high' }] },
      { type: 'message', id: 'msg_4', role: 'assistant', content: [{ type: 'output_text', text: 'Done.' }] },
      { type: 'message', id: 'msg_5', role: 'user', content: [{ type: 'input_text', text: 'what is this?' }, { type: 'input_image', image_url: 'https://x/y.png' }] },
    ],
  };
  const messages = toChatRequest(req, dep).messages as ChatMessage[];
  t.same(messages, [
    { role: 'system', content: 'Be brief.\n\nYou are Codex.' },
    { role: 'user', content: 'list files and patch' },
    {
      role: 'assistant',
      content: 'Looking.',
      tool_calls: [
        { id: 'call_1', type: 'function', function: { name: 'exec_command', arguments: '{"cmd":"ls"}' } },
        { id: 'call_2', type: 'function', function: { name: 'apply_patch', arguments: JSON.stringify({ input: '*** Begin Patch\n*** End Patch\n' }) } },
      ],
    },
    { role: 'tool', tool_call_id: 'call_1', content: 'a.txt\n' },
    { role: 'tool', tool_call_id: 'call_2', content: 'Exit code: 0' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_3', type: 'function', function: { name: 'view_image', arguments: '{}' } }] },
    { role: 'tool', tool_call_id: 'call_3', content: '(the image output follows in the next message)' },
    { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'high' } }] },
    { role: 'assistant', content: 'Done.' },
    { role: 'user', content: [{ type: 'text', text: 'what is this?' }, { type: 'image_url', image_url: { url: 'https://x/y.png' } }] },
  ]);
  // Every tool message answers a tool call of the assistant message before it.
  const ids = new Set<string>();
  for (const m of messages) {
    if (m.role === 'assistant') m.tool_calls?.forEach((c) => ids.add(c.id));
    if (m.role === 'tool') t.ok(ids.has(m.tool_call_id), `tool message ${m.tool_call_id} follows its call`);
  }
});

t.test('request: reasoning goes back to a server that produced it, in its field; other reasoning is dropped', async (t) => {
  // Turn one from a DeepSeek-style stream: its reasoning item records the field the server used.
  const turn1 = replay(openaiChat, chunks('openai-chat', 'deepseek-tool-call.chunks.txt'));
  const items = turn1.frames.filter((f) => f[0] === F.ItemDone).map((f) => f[2] as InputItem);
  const thinking = (items[0] as ReasoningItem).summary.map((s) => s.text).join('');
  const call = items.find((i) => i.type === 'function_call') as FunctionCallItem;
  const history: InputItem[] = [
    { type: 'message', role: 'user', content: 'weather?' },
    ...items,
    { type: 'function_call_output', call_id: call.call_id, output: 'sunny' },
  ];
  const messages = toChatRequest({ model: 'm', input: history }, dep).messages as ChatMessage[];
  const assistant = messages.find((m) => m.role === 'assistant') as Extract<ChatMessage, { role: 'assistant' }>;
  t.equal(assistant.reasoning_content, thinking, 'the same text, on the assistant turn that called the tool');
  t.equal(assistant.tool_calls?.[0].id, call.call_id);
  const foreign: InputItem[] = [
    { type: 'message', role: 'user', content: 'weather?' },
    { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'OpenAI reasoning' }], encrypted_content: 'gAAAAB-opaque' },
    { type: 'function_call', call_id: 'c1', name: 'weather', arguments: '{}' },
    { type: 'function_call_output', call_id: 'c1', output: 'sunny' },
  ];
  const local = toChatRequest({ model: 'm', input: foreign }, dep).messages as ChatMessage[];
  t.notOk(local.some((m) => 'reasoning_content' in m));
});

// ---------------------------------------------------------------------------------------------
// Mock wire round trip

t.test('mock: a rendered turn replays through the adapter into the same items', async (t) => {
  const turn: MockTurn = {
    parts: [
      { type: 'reasoning', text: 'Need to list files first.' },
      { type: 'text', text: 'Let me look at the files.' },
      { type: 'function_call', name: 'exec_command', arguments: '{"cmd":"ls -la","workdir":"/tmp"}', call_id: 'call_x' },
      { type: 'custom_tool_call', name: 'apply_patch', input: '*** Begin Patch\n*** Add File: a.txt\n+a\n*** End Patch\n' },
    ],
    usage: { input: 120, cached: 100, output: 30, reasoning: 7 },
  };
  const events = openaiChatWire.events(turn, { model: 'mock-model', id: 'mock1' });
  t.ok(events.every((e) => e.startsWith('data: ') && e.endsWith('\n\n') && !e.includes('event:')));
  const data = sseData(events.join(''));
  t.equal(data[data.length - 1], '[DONE]');
  const first = JSON.parse(data[0]);
  t.equal(first.object, 'chat.completion.chunk');
  t.equal(first.choices[0].delta.role, 'assistant');
  const usageChunk = JSON.parse(data[data.length - 2]);
  t.same(usageChunk.choices, []);
  t.same(usageChunk.usage, { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150, prompt_tokens_details: { cached_tokens: 100 }, completion_tokens_details: { reasoning_tokens: 7 } });
  t.equal(JSON.parse(data[data.length - 3]).choices[0].finish_reason, 'tool_calls');

  const req: ResponsesRequest = { model: 'x/y', input: 'hi', tools: [{ type: 'custom', name: 'apply_patch' }] };
  const { frames, out } = replay(openaiChat, data, req);
  const items = done(frames);
  t.same(items.map((i) => i.type), ['reasoning', 'message', 'function_call', 'custom_tool_call']);
  t.equal((items[0] as ReasoningItem).summary[0].text, 'Need to list files first.');
  t.equal(((items[1] as MessageItem).content as Array<{ text: string }>)[0].text, 'Let me look at the files.');
  const call = items[2] as FunctionCallItem;
  t.same([call.call_id, call.name, call.arguments], ['call_x', 'exec_command', '{"cmd":"ls -la","workdir":"/tmp"}']);
  t.equal((items[3] as CustomToolCallItem).input, '*** Begin Patch\n*** Add File: a.txt\n+a\n*** End Patch\n');
  t.equal((items[3] as CustomToolCallItem).call_id, 'call_mock1_3');
  t.equal(out.terminal?.[0], F.Completed);
  t.same(usageOf(out), { input_tokens: 120, input_tokens_details: { cached_tokens: 100 }, output_tokens: 30, output_tokens_details: { reasoning_tokens: 7 }, total_tokens: 150 });
});

t.test('mock: stop reasons and the in-stream error round trip', async (t) => {
  const run = (turn: MockTurn) => replay(openaiChat, sseData(openaiChatWire.events(turn, { model: 'm', id: 'r' }).join('')));
  t.equal(run({ parts: [{ type: 'text', text: 'cut here' }], stop: 'max_tokens' }).out.terminal?.[2], 'max_output_tokens');
  t.equal(run({ parts: [{ type: 'text', text: 'filtered' }], stop: 'content_filter' }).out.terminal?.[2], 'content_filter');
  const plain = run({ parts: [{ type: 'text', text: 'just text' }] });
  t.equal(plain.out.terminal?.[0], F.Completed);
  t.equal(plain.out.terminal?.[2], null);

  const failed = run({ parts: [{ type: 'text', text: 'partial answer' }, { type: 'text', text: 'never sent' }], streamError: { afterParts: 1, message: 'Engine died' } });
  t.equal(failed.out.terminal?.[0], F.Failed);
  t.ok(failed.out.retryable);
  t.match((failed.out.terminal?.[1] as { message: string }).message, /Engine died/);
  t.equal(textDeltas(failed.frames), 'partial answer');
  // The mock sends tool calls' arguments in pieces, like OpenAI.
  const pieces = openaiChatWire.events({ parts: [{ type: 'function_call', name: 'f', arguments: '{"a":"0123456789"}' }] }, { model: 'm', id: 'p' });
  t.ok(pieces.filter((e) => e.includes('"arguments"')).length > 2);
});

t.test('mock: view() reads a chat request; errorResponse() is an OpenAI error body', async (t) => {
  const body = toChatRequest(
    {
      model: 'm',
      input: [
        { type: 'message', role: 'user', content: 'run: ls' },
        { type: 'function_call', call_id: 'c1', name: 'exec_command', arguments: '{"cmd":"ls"}' },
        { type: 'function_call_output', call_id: 'c1', output: 'a.txt' },
      ],
      tools: [{ type: 'function', name: 'exec_command' }, { type: 'custom', name: 'apply_patch' }, { type: 'web_search' }],
    },
    dep,
  );
  t.same(openaiChatWire.view(body), { lastUserText: 'run: ls', toolResults: ['a.txt'], tools: ['exec_command', 'apply_patch'] });
  t.ok(openaiChatWire.matches('/v1/chat/completions'));
  t.notOk(openaiChatWire.matches('/v1/responses'));

  const e = openaiChatWire.errorResponse({ status: 429, retryAfter: 3 });
  t.equal(e.status, 429);
  t.equal(e.headers['retry-after'], '3');
  const parsed = JSON.parse(e.body);
  t.same(Object.keys(parsed.error).sort(), ['code', 'message', 'param', 'type']);
  const mapped = openaiChat.mapError(e.status, e.headers, e.body);
  t.equal(mapped.httpStatus, 429);
  t.equal(mapped.retryAfterSeconds, 3);
});

// ---------------------------------------------------------------------------------------------
// HTTP errors

t.test('errors: 429, 401, 404, 500, 503, context overflow, vLLM numeric code', async (t) => {
  const rl = openaiChat.mapError(429, { 'retry-after': '7' }, '{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}');
  t.equal(rl.httpStatus, 429);
  t.equal(rl.retryAfterSeconds, 7);
  t.match(rl.error.message, /OpenAI-compatible upstream \(Chat Completions\)/);
  t.match(rl.error.message, /try again in 7s/);
  t.ok(rl.retryable);
  const auth = openaiChat.mapError(401, {}, '{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}');
  t.equal(auth.httpStatus, 502);
  t.ok(auth.retryable);
  t.equal(openaiChat.mapError(404, {}, '{"error":{"message":"model not found"}}').error.code, 'upstream_model_not_found');
  const boom = openaiChat.mapError(500, {}, 'Internal Server Error');
  t.equal(boom.httpStatus, 502);
  t.ok(boom.retryable);
  t.equal(openaiChat.mapError(503, {}, '').error.code, 'server_is_overloaded');
  const ctx = openaiChat.mapError(400, {}, '{"error":{"message":"This model\'s maximum context length is 8192 tokens. However, you requested 9000 tokens.","type":"BadRequestError","param":null,"code":400}}');
  t.equal(ctx.error.code, 'context_length_exceeded');
  t.notOk(ctx.retryable);
  const bad = openaiChat.mapError(400, {}, '{"error":{"message":"Unsupported parameter","type":"BadRequestError","param":null,"code":400}}');
  t.equal(bad.httpStatus, 400);
  t.notMatch(bad.error.code, /^\d+$/, 'a numeric vLLM code is not passed on as the error code');
  t.notOk(bad.retryable);
});

t.test('request: every input shape (easy-input messages, string and part content, input_file) reaches Chat Completions', async (t) => {
  const messages = toChatRequest(everyInputShape(), dep).messages as ChatMessage[];
  t.same(messages, [
    { role: 'system', content: 'Be terse.\n\nCite pages.' },
    { role: 'user', content: 'What is in this file?' },
    { role: 'user', content: [{ type: 'text', text: 'Page one?' }, { type: 'file', file: { file_data: PDF_DATA_URL, filename: 'report.pdf' } }] },
    { role: 'assistant', content: 'A report.' },
    { role: 'user', content: [{ type: 'text', text: 'And this?' }, { type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] },
  ], 'the web_search_call record is dropped');
  const tool = toChatRequest(withInput(
    { type: 'function_call', call_id: 'c1', name: 'read', arguments: '{}' },
    { type: 'function_call_output', call_id: 'c1', output: [{ type: 'input_text', text: 'here' }, { type: 'input_file', file_data: PDF_DATA_URL }] },
  ), dep).messages as ChatMessage[];
  t.same(tool.slice(1), [
    { role: 'tool', tool_call_id: 'c1', content: 'here\n(the attached output follows in the next message)' },
    { role: 'user', content: [{ type: 'file', file: { file_data: PDF_DATA_URL, filename: 'document.pdf' } }] },
  ], 'a PDF a tool returned follows as a user message');
});

t.test('request: what Chat Completions cannot take is a 400 naming input[i] and the family', async (t) => {
  const refused = (req: ResponsesRequest) => refusal(openaiChat, req, dep);
  t.match(refused(withInput({ role: 'user', content: 'hi' }, { type: 'computer_call_output', call_id: 'c' })), { status: 400, code: 'unsupported_input', param: 'input[1]', message: /^input\[1\] is a 'computer_call_output' item, which the openai-chat family cannot take/ });
  t.match(refused(withInput({ role: 'user', content: [{ type: 'input_file', file_url: 'https://example.com/r.pdf' }] })), { param: 'input[0].content[0]', message: /file_data/ });
  t.match(refused(withInput({ role: 'user', content: [{ type: 'input_file', filename: 'n.txt', file_data: 'aGk=' }] })), { param: 'input[0].content[0]', message: /'text\/plain' file.*PDF files only/ });
  t.match(refused(withInput({ role: 'assistant', content: [{ type: 'input_image', image_url: 'https://example.com/a.png' }] })), { param: 'input[0].content[0]', message: /an image in an assistant message/ });
});
