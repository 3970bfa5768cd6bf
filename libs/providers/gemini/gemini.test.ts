import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { F, type Frame } from '../../wire/frames';
import type { InputItem, OutputItem, ReasoningItem, ResponsesRequest, Tool, Usage } from '../../protocol/types';
import { gemini } from './index';
import { buildRequest, toGeminiRequest } from './request';
import { cleanSchema } from './schema';
import { decodeGeminiState } from './state';
import { parseJsonPath } from './stream';
import { geminiWire } from '../mock/gemini';
import type { MockTurn } from '../mock/script';
import { chunks, codexRequest, everyInputShape, fixturePath, PDF_DATA_URL, refusal, replay, withInput } from '../replay';

type Json = Record<string, any>; // test assertions walk arbitrary Gemini JSON

const dep = { provider: 'gemini', base_url: 'https://generativelanguage.googleapis.com/v1beta/', model: 'gemini-3-pro-preview' };
const dep25 = { ...dep, model: 'gemini-2.5-flash' };

const done = (frames: Frame[]): OutputItem[] => frames.filter((f) => f[0] === F.ItemDone).map((f) => f[2] as OutputItem);
const ofType = <T extends OutputItem['type']>(frames: Frame[], type: T) => done(frames).filter((i) => i.type === type) as Array<Extract<OutputItem, { type: T }>>;
const text = (frames: Frame[]) => frames.filter((f) => f[0] === F.TextDelta).map((f) => f[2]).join('');
const usageOf = (out: { terminal: unknown }) => (out.terminal as [number, Usage | null, string | null])[1]!;
const sigsOf = (frames: Frame[]) => ofType(frames, 'reasoning').flatMap((r) => decodeGeminiState(r.encrypted_content) ?? []);
const fixtureJson = (file: string) => JSON.stringify(JSON.parse(readFileSync(fixturePath('gemini', file), 'utf8')));
const sigInFixture = (file: string, n = 0) => chunks('gemini', file).flatMap((l) => [...l.matchAll(/"thoughtSignature":"([^"]+)"/g)].map((m) => m[1]))[n];

/** The next turn as Codex would send it: history + this response's items + tool outputs. */
function nextTurn(frames: Frame[], outputs: InputItem[] = [], tools?: Tool[]): Json {
  const input = [{ type: 'message', role: 'user', content: 'go' }, ...done(frames), ...outputs] as InputItem[];
  return toGeminiRequest({ model: 'g', input, tools }, dep);
}

const APPLY_PATCH: Tool = { type: 'custom', name: 'apply_patch', description: 'Edit files.', format: { type: 'grammar', syntax: 'lark', definition: 'start: begin_patch hunk+ end_patch' } };

// ---------------------------------------------------------------------------------------------
// Recorded streams

t.test('stream: gemini-3 text with a trailing signature part', async (t) => {
  const { frames, out } = replay(gemini, chunks('gemini', 'google-text.chunks.txt'));
  t.equal(text(frames), 'There are **3** "r"s in strawberry.\n\nst**r**awbe**rr**y');
  const [msg] = ofType(frames, 'message');
  t.equal((msg.content as Array<{ text: string }>)[0].text, text(frames));
  t.same(sigsOf(frames), [{ sig: sigInFixture('google-text.chunks.txt'), msg_id: msg.id }]);
  t.same(out.terminal, [F.Completed, { input_tokens: 9, input_tokens_details: { cached_tokens: 0 }, output_tokens: 208, output_tokens_details: { reasoning_tokens: 185 }, total_tokens: 217 }, null]);
  // The signature goes back on the message's last text part.
  const body = nextTurn(frames);
  t.same(body.contents[1], { role: 'model', parts: [{ text: text(frames), thoughtSignature: sigInFixture('google-text.chunks.txt') }] });
});

t.test('stream: non-streaming bodies replay as one chunk (text + signature on the same part; JSON output)', async (t) => {
  const one = replay(gemini, [fixtureJson('google-text.json')]);
  t.equal(text(one.frames), "There are **3** r's in strawberry.\n\nHere is the breakdown: st**r**awbe**rr**y.");
  t.equal(sigsOf(one.frames).length, 1);
  t.equal(usageOf(one.out).output_tokens_details.reasoning_tokens, 244);
  const json = replay(gemini, [fixtureJson('google-response-schema-7689.json')]);
  t.same(JSON.parse(text(json.frames)), { location: 'Paris' });
  t.equal(json.out.terminal?.[0], F.Completed);
});

t.test('stream: gemini-3 function call; its signature round-trips onto the functionCall part', async (t) => {
  const { frames, out } = replay(gemini, chunks('gemini', 'google-tool-call-gemini3.chunks.txt'));
  const [call] = ofType(frames, 'function_call');
  t.equal(call.name, 'weather');
  t.match(call.call_id, /^call_/);
  t.same(JSON.parse(call.arguments), { location: 'San Francisco' });
  // The reasoning item that carries the signature comes before the call it signs.
  t.same(done(frames).map((i) => i.type), ['reasoning', 'function_call']);
  t.same(sigsOf(frames), [{ sig: sigInFixture('google-tool-call-gemini3.chunks.txt'), call_id: call.call_id }]);
  t.equal(usageOf(out).output_tokens, 15 + 804);

  const body = nextTurn(frames, [{ type: 'function_call_output', call_id: call.call_id, output: 'sunny, 18C' }]);
  t.same(body.contents.slice(1), [
    { role: 'model', parts: [{ functionCall: { name: 'weather', args: { location: 'San Francisco' } }, thoughtSignature: sigInFixture('google-tool-call-gemini3.chunks.txt') }] },
    { role: 'user', parts: [{ functionResponse: { name: 'weather', response: { output: 'sunny, 18C' } } }] },
  ]);
});

t.test('stream: text then a call with a Gemini id (the id is the call_id and goes back)', async (t) => {
  const { frames } = replay(gemini, chunks('gemini', 'issue-10781.1.chunks.txt'));
  t.equal(text(frames), 'Let me check.');
  const [call] = ofType(frames, 'function_call');
  t.equal(call.call_id, 'g1bmv6il');
  t.same(done(frames).map((i) => i.type), ['message', 'reasoning', 'function_call'], 'items keep the parts\' order');
  t.same(JSON.parse(call.arguments), { city: 'San Francisco' });
  const body = nextTurn(frames, [{ type: 'function_call_output', call_id: 'g1bmv6il', output: 'foggy' }]);
  const model = body.contents[1];
  t.equal(model.role, 'model');
  t.same(model.parts[0], { text: 'Let me check.' });
  t.same(model.parts[1].functionCall, { name: 'get_weather', args: { city: 'San Francisco' }, id: 'g1bmv6il' });
  t.equal(model.parts[1].thoughtSignature, sigInFixture('issue-10781.1.chunks.txt'));
  t.same(body.contents[2].parts[0].functionResponse, { name: 'get_weather', response: { output: 'foggy' }, id: 'g1bmv6il' });
});

t.test('stream: thoughts, a no-argument call, then parallel calls with streamed partialArgs', async (t) => {
  const { frames, out } = replay(gemini, chunks('gemini', 'google-stream-no-args-tool-call.chunks.txt'));
  const [reasoning] = ofType(frames, 'reasoning');
  t.match(reasoning.summary[0].text, /^\*\*Processing User Requests\*\*/);
  const calls = ofType(frames, 'function_call');
  t.same(calls.map((c) => [c.name, JSON.parse(c.arguments)]), [['read_theme', {}], ['read_screen', { id: 'A' }], ['read_screen', { id: 'B' }], ['read_screen', { id: 'C' }]]);
  t.equal(new Set(calls.map((c) => c.call_id)).size, 4);
  t.same(sigsOf(frames), [{ sig: sigInFixture('google-stream-no-args-tool-call.chunks.txt'), call_id: calls[0].call_id }]);
  t.same(usageOf(out), { input_tokens: 249, input_tokens_details: { cached_tokens: 0 }, output_tokens: 241, output_tokens_details: { reasoning_tokens: 183 }, total_tokens: 490 });

  const outputs = calls.map((c) => ({ type: 'function_call_output', call_id: c.call_id, output: `ok ${c.name}` }) as InputItem);
  const body = nextTurn(frames, outputs);
  t.equal(body.contents.length, 3, 'the four calls are one model turn, the four results one user turn');
  t.same(body.contents[1].parts.map((p: Json) => !!p.thoughtSignature), [true, false, false, false]);
  t.same(body.contents[2].parts.map((p: Json) => p.functionResponse.name), ['read_theme', 'read_screen', 'read_screen', 'read_screen']);
});

t.test('stream: two calls whose string argument streams in partialArgs pieces', async (t) => {
  const { frames, out } = replay(gemini, chunks('gemini', 'google-stream-tool-call-arguments.chunks.txt'));
  const calls = ofType(frames, 'function_call');
  t.same(calls.map((c) => JSON.parse(c.arguments)), [{ location: 'Boston' }, { location: 'San Francisco' }]);
  t.same(calls.map((c) => c.name), ['getWeather', 'getWeather']);
  const args = frames.filter((f) => f[0] === F.ArgsDelta).map((f) => f[2]);
  t.same(args, calls.map((c) => c.arguments), 'each call streams its complete JSON');
  t.equal(sigsOf(frames)[0].call_id, calls[0].call_id);
  t.equal(out.terminal?.[0], F.Completed);
});

t.test('stream: gemma thoughts become a reasoning item, then the answer', async (t) => {
  const { frames, out } = replay(gemini, chunks('gemini', 'gemma-4-output-usage.chunks.txt'));
  const [reasoning] = ofType(frames, 'reasoning');
  t.match(reasoning.summary[0].text, /^\*   User input: "Reply with exactly: hello"/);
  t.match(reasoning.summary[0].text, /Output: "hello"$/);
  t.equal(text(frames), 'hello');
  t.same(done(frames).map((i) => i.type), ['reasoning', 'message']);
  t.same(usageOf(out), { input_tokens: 6, input_tokens_details: { cached_tokens: 0 }, output_tokens: 77, output_tokens_details: { reasoning_tokens: 76 }, total_tokens: 83 });
});

// ---------------------------------------------------------------------------------------------
// RouterHub scenario fixtures (rh-*)

t.test('stream: MAX_TOKENS → incomplete max_output_tokens', async (t) => {
  const { frames, out } = replay(gemini, chunks('gemini', 'rh-max-tokens.chunks.txt'));
  t.equal(text(frames), 'Here is a long explanation of how the cache works, step by step: first the');
  t.equal(out.terminal?.[0], F.Completed);
  t.equal(out.terminal?.[2], 'max_output_tokens');
  t.equal(usageOf(out).output_tokens, 16 + 40);
});

t.test('stream: SAFETY finish and a blocked prompt → incomplete content_filter', async (t) => {
  const safety = replay(gemini, chunks('gemini', 'rh-safety.chunks.txt'));
  t.equal(text(safety.frames), 'I can explain the general');
  t.equal(safety.out.terminal?.[2], 'content_filter');
  const blocked = replay(gemini, chunks('gemini', 'rh-prompt-blocked.chunks.txt'));
  t.equal(done(blocked.frames).length, 0);
  t.equal(blocked.out.terminal?.[0], F.Completed);
  t.equal(blocked.out.terminal?.[2], 'content_filter');
  t.equal(usageOf(blocked.out).input_tokens, 9);
});

t.test('stream: cachedContentTokenCount → cached_tokens (input includes it)', async (t) => {
  const { frames, out } = replay(gemini, chunks('gemini', 'rh-cached-tokens.chunks.txt'));
  t.equal(text(frames), 'The build passes on main.');
  t.same(usageOf(out), { input_tokens: 2310, input_tokens_details: { cached_tokens: 2048 }, output_tokens: 126, output_tokens_details: { reasoning_tokens: 120 }, total_tokens: 2436 });
});

t.test('stream: parallel calls in one chunk; only the first carries the signature, and only it gets it back', async (t) => {
  const { frames } = replay(gemini, chunks('gemini', 'rh-parallel-calls.chunks.txt'));
  const calls = ofType(frames, 'function_call');
  t.same(calls.map((c) => JSON.parse(c.arguments)), [{ cmd: 'ls -la', workdir: '/repo' }, { cmd: 'git status --short' }]);
  t.not(calls[0].call_id, calls[1].call_id);
  const body = nextTurn(frames, calls.map((c) => ({ type: 'function_call_output', call_id: c.call_id, output: 'done' }) as InputItem));
  const parts = body.contents[1].parts;
  t.equal(parts[0].thoughtSignature, sigInFixture('rh-parallel-calls.chunks.txt'));
  t.notOk('thoughtSignature' in parts[1]);
  t.notOk('id' in parts[0].functionCall, 'generated call ids are not sent as Gemini ids');
  t.equal(body.contents[2].parts.length, 2);
});

t.test('stream: apply_patch (custom tool) comes back as a custom_tool_call with the raw patch', async (t) => {
  const req: ResponsesRequest = { model: 'g', input: 'hi', tools: [APPLY_PATCH] };
  const { frames } = replay(gemini, chunks('gemini', 'rh-apply-patch.chunks.txt'), req);
  const patch = '*** Begin Patch\n*** Add File: hello.txt\n+hello\n*** End Patch\n';
  const [call] = ofType(frames, 'custom_tool_call');
  t.equal(call.name, 'apply_patch');
  t.equal(call.input, patch);
  t.equal(frames.filter((f) => f[0] === F.CustomInputDelta).map((f) => f[2]).join(''), patch);
  t.equal(frames.filter((f) => f[0] === F.ArgsDelta).length, 0, 'no JSON argument deltas for an emulated custom call');
  const [reasoning] = ofType(frames, 'reasoning');
  t.match(reasoning.summary[0].text, /Creating the file/);
  const body = nextTurn(frames, [{ type: 'custom_tool_call_output', call_id: call.call_id, output: 'Success.' }], [APPLY_PATCH]);
  t.same(body.contents[1].parts, [{ functionCall: { name: 'apply_patch', args: { input: patch } }, thoughtSignature: sigInFixture('rh-apply-patch.chunks.txt') }]);
  t.same(body.contents[2].parts, [{ functionResponse: { name: 'apply_patch', response: { output: 'Success.' } } }]);
});

t.test('stream: MALFORMED_FUNCTION_CALL → failed with the finish message', async (t) => {
  const { out } = replay(gemini, chunks('gemini', 'rh-malformed-function-call.chunks.txt'));
  t.equal(out.terminal?.[0], F.Failed);
  const err = out.terminal?.[1] as { code: string; message: string };
  t.equal(err.code, 'malformed_function_call');
  t.match(err.message, /malformed function call: Malformed function call: print\(default_api/);
  t.ok(out.retryable);
});

t.test('stream: no finishReason leaves no terminal; an error chunk fails', async (t) => {
  const cut = replay(gemini, chunks('gemini', 'google-text.chunks.txt').slice(0, 2));
  t.equal(cut.out.terminal, null);
  const err = replay(gemini, [chunks('gemini', 'google-text.chunks.txt')[0], '{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}']);
  t.equal(err.out.terminal?.[0], F.Failed);
  t.match(err.out.terminal?.[1], { code: 'server_is_overloaded', message: /in the stream, UNAVAILABLE: The model is overloaded/ });
  t.equal(err.out.terminal?.[2], 503);
  t.ok(err.out.retryable);
});

// ---------------------------------------------------------------------------------------------
// Request translation

t.test('request: the captured Codex turn translates to a valid Gemini request', async (t) => {
  const captured = { body: codexRequest() };
  const up = buildRequest(captured.body, dep, 'AIza-test');
  t.equal(up.url, 'https://generativelanguage.googleapis.com/v1beta/models/gemini-3-pro-preview:streamGenerateContent?alt=sse');
  t.equal(up.headers['x-goog-api-key'], 'AIza-test');
  t.notOk('authorization' in up.headers);
  const body = JSON.parse(up.body) as Json;
  t.same(Object.keys(body).sort(), ['contents', 'generationConfig', 'systemInstruction', 'tools']);

  t.match(body.systemInstruction.parts[0].text, /^You are Codex/);
  t.equal(body.systemInstruction.parts.length, 4, 'both developer messages (1 + 3 parts)');
  t.same(body.contents.map((c: Json) => c.role), ['user']);
  t.equal(body.contents[0].parts.length, 2);
  t.equal(body.contents[0].parts[1].text, 'say hi');
  t.same(body.generationConfig, { thinkingConfig: { thinkingLevel: 'HIGH', includeThoughts: true } });

  const decls = body.tools[0].functionDeclarations as Json[];
  const names = decls.map((d) => d.name);
  t.same(names, ['exec_command', 'write_stdin', 'request_user_input', 'apply_patch', 'view_image', 'get_goal', 'create_goal', 'update_goal']);
  t.notOk(names.includes('web_search') || names.includes('tool_search'));
  const patch = decls.find((d) => d.name === 'apply_patch')!;
  t.same(patch.parameters, { type: 'object', properties: { input: { type: 'string', description: 'The raw apply_patch input text.' } }, required: ['input'] });
  t.match(patch.description, /full patch/);
  t.match(patch.description, /begin_patch hunk\+ end_patch/, 'the grammar is in the description');
  t.notOk('parameters' in decls.find((d) => d.name === 'get_goal')!, 'no-argument function: parameters unset');

  // Every schema node uses only Gemini's Schema fields.
  const allowed = new Set(['type', 'format', 'description', 'nullable', 'enum', 'items', 'properties', 'required', 'anyOf', 'minItems', 'maxItems', 'minimum', 'maximum', 'minLength', 'maxLength', 'pattern', 'minProperties', 'maxProperties']);
  const walk = (node: Json, path: string): void => {
    for (const [k, v] of Object.entries(node)) {
      if (!allowed.has(k)) t.fail(`${path}.${k} is not a Gemini Schema field`);
      if (k === 'properties') for (const [p, sub] of Object.entries(v as Json)) walk(sub as Json, `${path}.properties.${p}`);
      if (k === 'items') walk(v as Json, `${path}.items`);
      if (k === 'anyOf') (v as Json[]).forEach((s, i) => walk(s, `${path}.anyOf[${i}]`));
    }
  };
  for (const d of decls) if (d.parameters) walk(d.parameters, d.name);
  t.notMatch(JSON.stringify(decls), /additionalProperties|"strict"|\$schema/);
  const exec = decls[0].parameters;
  t.same(exec.required, ['cmd']);
  t.same(exec.properties.sandbox_permissions.enum, ['use_default', 'require_escalated']);
  t.same(exec.properties.prefix_rule.items, { type: 'string' });
  const questions = decls.find((d) => d.name === 'request_user_input')!.parameters.properties.questions;
  t.same(questions.items.required, ['id', 'header', 'question', 'options']);
});

t.test('request: history items, roles, merging, images and unknown items', async (t) => {
  const req: ResponsesRequest = {
    model: 'g',
    instructions: 'Be brief.',
    input: [
      { type: 'message', role: 'system', content: 'System text.' },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'look' }, { type: 'input_image', image_url: 'data:image/png;base64,iVBORw0KGgo=' }, { type: 'input_image', image_url: 'https://example.com/a.JPG' }] },
      { type: 'message', role: 'user', content: 'and this' },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Looking.' }] },
      { type: 'function_call', call_id: 'call_1', name: 'exec_command', arguments: 'not json' },
      { type: 'web_search_call', id: 'ws_1', status: 'completed' },
      { type: 'function_call_output', call_id: 'call_1', output: [{ type: 'input_text', text: 'img:' }, { type: 'input_image', image_url: 'data:image/jpeg;base64,/9j/' }] },
      { type: 'function_call_output', call_id: 'call_missing', output: 'orphan' },
      { type: 'reasoning', summary: [], encrypted_content: 'gAAAA-openai-opaque' },
    ],
  };
  const body = toGeminiRequest(req, dep25) as Json;
  t.same(body.systemInstruction, { parts: [{ text: 'Be brief.' }, { text: 'System text.' }] });
  t.same(body.contents, [
    { role: 'user', parts: [{ text: 'look' }, { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } }, { fileData: { mimeType: 'image/jpeg', fileUri: 'https://example.com/a.JPG' } }, { text: 'and this' }] },
    { role: 'model', parts: [{ text: 'Looking.' }, { functionCall: { name: 'exec_command', args: {} } }] },
    { role: 'user', parts: [
      { functionResponse: { name: 'exec_command', response: { output: 'img:' } } },
      { inlineData: { mimeType: 'image/jpeg', data: '/9j/' } },
      { text: 'Tool output (call_missing):\norphan' },
    ] },
  ]);
  t.notOk('generationConfig' in body, 'no reasoning asked of a 2.5 model: nothing to configure');
});

t.test('request: tool_choice, namespace tools, generation and thinking config', async (t) => {
  const tools: Tool[] = [
    { type: 'function', name: 'exec_command', parameters: { type: 'object', properties: { cmd: { type: 'string' } }, required: ['cmd'] } },
    { type: 'namespace', name: 'multi_agent_v1', tools: [{ type: 'function', name: 'spawn_agent', description: 'Spawn.', parameters: { type: 'object', properties: {} } }] },
    { type: 'web_search' },
  ];
  const base: ResponsesRequest = { model: 'g', input: 'hi', tools };
  const decls = (toGeminiRequest(base, dep) as Json).tools[0].functionDeclarations;
  t.same(decls.map((d: Json) => d.name), ['exec_command', 'spawn_agent']);
  t.same((toGeminiRequest({ ...base, tool_choice: 'required' }, dep) as Json).toolConfig, { functionCallingConfig: { mode: 'ANY' } });
  t.same((toGeminiRequest({ ...base, tool_choice: 'none' }, dep) as Json).toolConfig, { functionCallingConfig: { mode: 'NONE' } });
  t.same((toGeminiRequest({ ...base, tool_choice: { type: 'function', name: 'exec_command' } }, dep) as Json).toolConfig, { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['exec_command'] } });
  t.notOk('toolConfig' in (toGeminiRequest({ ...base, tool_choice: 'auto' }, dep) as Json));
  t.notOk('tools' in (toGeminiRequest({ model: 'g', input: 'hi', tools: [{ type: 'web_search' }] }, dep) as Json));

  const gen = (req: Partial<ResponsesRequest>, d = dep) => (toGeminiRequest({ model: 'g', input: 'hi', ...req }, d) as Json).generationConfig;
  t.same(gen({ max_output_tokens: 100, temperature: 0.2, top_p: 0.9 }), { maxOutputTokens: 100, temperature: 0.2, topP: 0.9 });
  t.same(gen({ reasoning: { effort: 'low' } }), { thinkingConfig: { thinkingLevel: 'LOW', includeThoughts: true } });
  t.same(gen({ reasoning: { effort: 'xhigh', summary: 'none' } }), { thinkingConfig: { thinkingLevel: 'HIGH', includeThoughts: false } });
  t.same(gen({ reasoning: { effort: 'medium' } }, dep25), { thinkingConfig: { thinkingBudget: 8192, includeThoughts: true } });
  t.same(gen({ reasoning: { effort: 'none' } }, dep25), { thinkingConfig: { thinkingBudget: 0 } });
  t.same(gen({ reasoning: { effort: 'none' } }, { ...dep, model: 'gemini-2.5-pro' }), { thinkingConfig: { thinkingBudget: 128 } });
  t.same(gen({ reasoning: { summary: 'auto' } }), { thinkingConfig: { includeThoughts: true } });
  t.equal(gen({ reasoning: { effort: 'high' } }, { ...dep, model: 'gemini-2.0-flash' }), undefined);
  t.same(gen({ text: { format: { type: 'json_schema', name: 'x', schema: { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false } } } }),
    { responseMimeType: 'application/json', responseSchema: { type: 'object', properties: { a: { type: 'string' } } } });

  const withHeaders = buildRequest({ model: 'g', input: 'hi' }, { ...dep, headers: { 'x-extra': '1' } }, '');
  t.equal(withHeaders.headers['x-extra'], '1');
  t.notOk('x-goog-api-key' in withHeaders.headers);
});

t.test('stream: a call to a namespace tool comes back with its namespace', async (t) => {
  const req: ResponsesRequest = { model: 'g', input: 'hi', tools: [{ type: 'namespace', name: 'multi_agent_v1', tools: [{ type: 'function', name: 'spawn_agent', parameters: null }] }] };
  const line = JSON.stringify({ candidates: [{ content: { parts: [{ functionCall: { name: 'spawn_agent', args: { task: 'x' } } }], role: 'model' }, finishReason: 'STOP', index: 0 }] });
  const { frames } = replay(gemini, [line], req);
  const [call] = ofType(frames, 'function_call');
  t.equal(call.namespace, 'multi_agent_v1');
  t.same(JSON.parse(call.arguments), { task: 'x' });
  t.match(call.id, /^fc_/);
});

t.test('schema cleaning', async (t) => {
  const schema = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    title: 'Args',
    additionalProperties: false,
    $defs: { Mode: { type: 'string', enum: ['fast', 'slow'], description: 'How.' } },
    properties: {
      path: { type: ['string', 'null'], format: 'uri', default: null },
      when: { type: 'string', format: 'date-time' },
      mode: { $ref: '#/$defs/Mode' },
      kind: { const: 'file' },
      level: { type: 'integer', enum: [1, 2, 3], description: 'Depth.' },
      maybe: { anyOf: [{ type: 'number', minimum: 0 }, { type: 'null' }] },
      either: { oneOf: [{ type: 'string' }, { type: 'integer' }] },
      both: { allOf: [{ type: 'object', properties: { a: { type: 'string' } }, required: ['a'] }, { properties: { b: { type: 'boolean' } } }] },
      empty: { type: 'object', properties: {}, additionalProperties: { type: 'string' } },
      list: { type: 'array' },
      multi: { type: ['string', 'number'] },
    },
    required: ['path', 'ghost'],
  };
  t.same(cleanSchema(schema), {
    type: 'object',
    properties: {
      path: { type: 'string', nullable: true },
      when: { type: 'string', format: 'date-time' },
      mode: { type: 'string', enum: ['fast', 'slow'], description: 'How.' },
      kind: { enum: ['file'], type: 'string' },
      level: { type: 'integer', description: 'Depth. Allowed values: 1, 2, 3.' },
      maybe: { type: 'number', minimum: 0, nullable: true },
      either: { anyOf: [{ type: 'string' }, { type: 'integer' }] },
      both: { type: 'object', properties: { a: { type: 'string' }, b: { type: 'boolean' } }, required: ['a'] },
      empty: { type: 'object' },
      list: { type: 'array', items: { type: 'string' } },
      multi: { anyOf: [{ type: 'string' }, { type: 'number' }] },
    },
    required: ['path'],
  });
  const tree = { $defs: { Node: { type: 'object', properties: { name: { type: 'string' }, children: { type: 'array', items: { $ref: '#/$defs/Node' } } } } }, $ref: '#/$defs/Node' };
  t.same(cleanSchema(tree), { type: 'object', properties: { name: { type: 'string' }, children: { type: 'array', items: {} } } }, 'recursion stops');
  t.same(cleanSchema({ description: 'Outer.', anyOf: [{ type: 'string', description: 'Inner.' }, { type: 'null' }] }), { type: 'string', description: 'Outer.', nullable: true });
  t.same(parseJsonPath('$.foo.bar[0]["x y"]'), ['foo', 'bar', 0, 'x y']);
  t.equal(parseJsonPath('foo'), null);
});

// ---------------------------------------------------------------------------------------------
// Mock upstream wire

/** The `data:` payloads of a rendered stream; throws on anything Gemini would not send. */
function sseData(events: string[]): string[] {
  const raw = events.join('');
  if (/^event:/m.test(raw)) throw new Error('Gemini sends no event lines');
  return raw.split('\r\n\r\n').filter((e) => e !== '').map((e) => {
    if (!e.startsWith('data: ')) throw new Error(`not a data line: ${e}`);
    return e.slice('data: '.length);
  });
}

t.test('mock: a rendered turn replays through the adapter into the same items', async (t) => {
  const patch = '*** Begin Patch\n*** Add File: a.txt\n+a\n*** End Patch\n';
  const turn: MockTurn = {
    parts: [
      { type: 'reasoning', text: 'Plan: list files, then patch.', signature: 'c2lnLTE=' },
      { type: 'text', text: 'Listing the files first.' },
      { type: 'function_call', name: 'exec_command', arguments: '{"cmd":"ls"}' },
      { type: 'custom_tool_call', name: 'apply_patch', input: patch, call_id: 'gm-7' },
    ],
    usage: { input: 500, cached: 200, output: 90, reasoning: 30 },
  };
  const events = geminiWire.events(turn, { model: 'gemini-3-pro-preview', id: 'mock1' });
  const data = sseData(events);
  t.equal(data.length, events.length);
  for (const d of data) t.match(JSON.parse(d), { modelVersion: 'gemini-3-pro-preview', responseId: 'mock1', usageMetadata: { promptTokenCount: 500 } });

  const req: ResponsesRequest = { model: 'g', input: 'hi', tools: [APPLY_PATCH] };
  const { frames, out } = replay(gemini, data, req);
  const items = done(frames);
  t.same(items.map((i) => i.type), ['reasoning', 'message', 'function_call', 'custom_tool_call']);
  const reasoning = items[0] as ReasoningItem;
  t.equal(reasoning.summary[0].text, 'Plan: list files, then patch.');
  const [msg] = ofType(frames, 'message');
  t.equal(text(frames), 'Listing the files first.');
  t.same(decodeGeminiState(reasoning.encrypted_content), [{ sig: 'c2lnLTE=', msg_id: msg.id }], 'the signature rode on the part after the thought');
  const [call] = ofType(frames, 'function_call');
  t.same([call.name, call.arguments], ['exec_command', '{"cmd":"ls"}']);
  const [custom] = ofType(frames, 'custom_tool_call');
  t.same([custom.call_id, custom.input], ['gm-7', patch]);
  t.same(out.terminal, [F.Completed, { input_tokens: 500, input_tokens_details: { cached_tokens: 200 }, output_tokens: 90, output_tokens_details: { reasoning_tokens: 30 }, total_tokens: 590 }, null]);
});

t.test('mock: stops, stream errors, request view and error bodies', async (t) => {
  const parts: MockTurn['parts'] = [{ type: 'text', text: 'partial answer here' }];
  const cut = replay(gemini, sseData(geminiWire.events({ parts, stop: 'max_tokens' }, { model: 'm', id: 'x' })));
  t.equal(cut.out.terminal?.[2], 'max_output_tokens');
  const filtered = replay(gemini, sseData(geminiWire.events({ parts, stop: 'content_filter' }, { model: 'm', id: 'x' })));
  t.equal(filtered.out.terminal?.[2], 'content_filter');
  const broken = replay(gemini, sseData(geminiWire.events({ parts: [...parts, { type: 'text', text: 'never sent' }], streamError: { afterParts: 1, message: 'boom' } }, { model: 'm', id: 'x' })));
  t.equal(text(broken.frames), 'partial answer here');
  t.equal(broken.out.terminal, null, 'no finishReason: the worker fails the response');

  t.ok(geminiWire.matches('/v1beta/models/gemini-2.5-flash:streamGenerateContent'));
  t.notOk(geminiWire.matches('/v1beta/models/gemini-2.5-flash:generateContent'));
  t.notOk(geminiWire.matches('/v1/responses'));

  const body = toGeminiRequest({
    model: 'g',
    tools: [{ type: 'function', name: 'exec_command', parameters: { type: 'object', properties: { cmd: { type: 'string' } } } }, APPLY_PATCH],
    input: [
      { type: 'message', role: 'user', content: 'run: ls' },
      { type: 'function_call', call_id: 'call_1', name: 'exec_command', arguments: '{"cmd":"ls"}' },
      { type: 'function_call_output', call_id: 'call_1', output: 'a.txt' },
    ],
  }, dep);
  t.same(geminiWire.view(body), { lastUserText: 'run: ls', toolResults: ['a.txt'], tools: ['exec_command', 'apply_patch'] });

  const rl = geminiWire.errorResponse({ status: 429, retryAfter: 21 });
  t.equal(rl.status, 429);
  t.notOk('retry-after' in rl.headers);
  const mapped = gemini.mapError(rl.status, rl.headers, rl.body);
  t.equal(mapped.httpStatus, 429);
  t.equal(mapped.retryAfterSeconds, 21);
  const unavailable = geminiWire.errorResponse({ status: 503 });
  t.match(JSON.parse(unavailable.body), { error: { code: 503, status: 'UNAVAILABLE' } });
  t.equal(gemini.mapError(503, unavailable.headers, unavailable.body).error.code, 'server_is_overloaded');
  for (const [status, name] of [[400, 'INVALID_ARGUMENT'], [403, 'PERMISSION_DENIED'], [404, 'NOT_FOUND']] as const) {
    t.equal(JSON.parse(geminiWire.errorResponse({ status }).body).error.status, name);
  }
});

// ---------------------------------------------------------------------------------------------
// Errors

t.test('errors: Google error bodies', async (t) => {
  const quota = readFileSync(fixturePath('gemini', 'google-429-retry-info.json'), 'utf8');
  const rl = gemini.mapError(429, {}, quota);
  t.equal(rl.httpStatus, 429);
  t.equal(rl.retryAfterSeconds, 35, 'RetryInfo 34.4s, rounded up');
  t.ok(rl.retryable);
  t.match(rl.error.message, /^Google Gemini is rate limiting this model: You exceeded your current quota.*try again in 35s/);
  t.equal(gemini.mapError(429, { 'retry-after': '7' }, quota).retryAfterSeconds, 7, 'a Retry-After header wins');

  const ctx = gemini.mapError(400, {}, '{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}');
  t.equal(ctx.error.code, 'context_length_exceeded');
  t.notOk(ctx.retryable);
  const bad = gemini.mapError(400, {}, '[{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}]');
  t.equal(bad.error.code, 'upstream_auth_failed');
  t.ok(bad.retryable);
  const invalid = gemini.mapError(400, {}, '{"error":{"code":400,"message":"Request contains an invalid argument.","status":"INVALID_ARGUMENT"}}');
  t.same([invalid.httpStatus, invalid.error.code, invalid.retryable], [400, 'invalid_request', false], 'the same code as every family\'s invalid request');
  t.match(invalid.error.message, /Request contains an invalid argument/);
  t.equal(gemini.mapError(404, {}, '{"error":{"code":404,"message":"models/x is not found","status":"NOT_FOUND"}}').error.code, 'upstream_model_not_found');
  t.equal(gemini.mapError(500, {}, 'not json').httpStatus, 502);
});

t.test('request: every input shape (easy-input messages, string and part content, input_file) reaches Gemini', async (t) => {
  const body = toGeminiRequest(everyInputShape(), dep25) as Json;
  t.same(body.systemInstruction, { parts: [{ text: 'Be terse.' }, { text: 'Cite pages.' }] });
  t.same(body.contents, [
    { role: 'user', parts: [{ text: 'What is in this file?' }, { text: 'Page one?' }, { inlineData: { mimeType: 'application/pdf', data: PDF_DATA_URL.split(',')[1] } }] },
    { role: 'model', parts: [{ text: 'A report.' }] },
    { role: 'user', parts: [{ text: 'And this?' }, { fileData: { mimeType: 'image/png', fileUri: 'https://example.com/a.png' } }] },
  ], 'the web_search_call record is dropped');
  const url = toGeminiRequest(withInput({ role: 'user', content: [{ type: 'input_file', file_url: 'https://example.com/r.pdf' }, { type: 'input_file', filename: 'n.txt', file_data: 'aGk=' }] }), dep25) as Json;
  t.same(url.contents[0].parts, [{ fileData: { mimeType: 'application/pdf', fileUri: 'https://example.com/r.pdf' } }, { inlineData: { mimeType: 'text/plain', data: 'aGk=' } }], 'file_url, and bare base64 typed by the file name');
});

t.test('request: what Gemini cannot take is a 400 naming input[i] and the family', async (t) => {
  const refused = (req: ResponsesRequest) => refusal(gemini, req, dep25);
  t.match(refused(withInput({ role: 'user', content: 'hi' }, { type: 'compaction', encrypted_content: 'x' })), { status: 400, code: 'unsupported_input', param: 'input[1]', message: /^input\[1\] is a 'compaction' item, which the gemini family cannot take/ });
  t.match(refused(withInput({ type: 'mystery_item' })), { param: 'input[0]', message: /does not know this item type/ });
  t.match(refused(withInput({ role: 'user', content: [{ type: 'input_file', file_id: 'file-1' }] })), { param: 'input[0].content[0]', message: /keeps no uploaded files/ });
  t.match(refused(withInput({ role: 'user', content: [{ type: 'input_file', file_data: 'AAAA' }] })), { param: 'input[0].content[0]', message: /media type is unknown/ });
  t.match(refused(withInput({ role: 'system', content: [{ type: 'input_file', file_data: PDF_DATA_URL }] })), { param: 'input[0].content[0]', message: /a file in the system instruction/ });
});
