import t from 'tap';
import { F } from '../../wire/frames';
import { openaiResponses } from './index';
import { buildRequest } from './request';
import { chunks, replay } from '../replay';
import type { ApiError, ResponsesRequest } from '../../protocol/types';

const dep = { provider: 'openai-responses', base_url: 'https://api.example/v1/', model: 'gpt-5.3-codex' };

t.test('request: store:false strips item ids, drops client_metadata, keeps everything else', async (t) => {
  const req: ResponsesRequest = {
    model: 'openai/gpt-5.3-codex',
    stream: false,
    store: false,
    input: [
      { type: 'message', id: 'msg_1', role: 'developer', content: [{ type: 'input_text', text: 'sys' }] },
      { type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: 'opaque' },
      { type: 'function_call', id: 'fc_1', call_id: 'c1', name: 'exec_command', arguments: '{}' },
    ],
    client_metadata: { session_id: 's' },
    prompt_cache_key: 'k',
  };
  const up = buildRequest(req, dep, 'sk-up');
  t.equal(up.url, 'https://api.example/v1/responses');
  t.equal(up.headers.authorization, 'Bearer sk-up');
  const body = JSON.parse(up.body);
  t.equal(body.model, 'gpt-5.3-codex');
  t.equal(body.stream, true);
  t.notOk('client_metadata' in body);
  t.equal(body.prompt_cache_key, 'k');
  t.same(body.input.map((i: { id?: string }) => i.id), [undefined, undefined, undefined]);
  t.equal(body.input[1].encrypted_content, 'opaque');
});

t.test('request: store:true keeps ids', async (t) => {
  const up = buildRequest({ model: 'm', store: true, input: [{ type: 'message', id: 'msg_1', role: 'user', content: 'hi' }] }, dep, '');
  t.equal(JSON.parse(up.body).input[0].id, 'msg_1');
  t.notOk(up.headers.authorization);
});

t.test('stream: text', async (t) => {
  const { frames, out } = replay(openaiResponses, chunks('openai-responses', 'azure-text.1.chunks.txt'));
  const text = frames.filter((f) => f[0] === F.TextDelta).map((f) => f[2]).join('');
  const done = frames.find((f) => f[0] === F.ItemDone);
  t.ok(text.length > 0);
  t.same(done?.[2], frames.find((f) => f[0] === F.ItemDone)?.[2]);
  t.equal((done?.[2] as { content: Array<{ text: string }> }).content[0].text, text);
  t.equal(out.terminal?.[0], F.Completed);
});

t.test('stream: function call carries call_id and complete arguments', async (t) => {
  const { frames, out } = replay(openaiResponses, chunks('openai-responses', 'azure-tool-call.1.chunks.txt'));
  const done = frames.find((f) => f[0] === F.ItemDone)?.[2] as { type: string; call_id: string; arguments: string };
  t.equal(done.type, 'function_call');
  t.ok(done.call_id);
  t.doesNotThrow(() => JSON.parse(done.arguments));
  const args = frames.filter((f) => f[0] === F.ArgsDelta).map((f) => f[2]).join('');
  t.equal(args, done.arguments);
  t.equal(out.terminal?.[0], F.Completed);
});

t.test('stream: reasoning keeps encrypted_content; usage counts reasoning', async (t) => {
  const { frames, out } = replay(openaiResponses, chunks('openai-responses', 'openai-issue-11239.1.chunks.txt'));
  const reasoning = frames.find((f) => f[0] === F.ItemDone && (f[2] as { type: string }).type === 'reasoning')?.[2] as { encrypted_content: string };
  t.ok(reasoning.encrypted_content);
  const usage = out.terminal?.[1] as { output_tokens_details: { reasoning_tokens: number } };
  t.ok(usage.output_tokens_details.reasoning_tokens > 0);
});

t.test('stream: cached tokens', async (t) => {
  const { out } = replay(openaiResponses, chunks('openai-responses', 'openai-phase.1.chunks.txt'));
  t.equal((out.terminal?.[1] as { input_tokens_details: { cached_tokens: number } }).input_tokens_details.cached_tokens, 3072);
});

t.test('stream: custom tool call input', async (t) => {
  const { frames } = replay(openaiResponses, chunks('openai-responses', 'openai-custom-text-tool.1.chunks.txt'));
  const done = frames.find((f) => f[0] === F.ItemDone && (f[2] as { type: string }).type === 'custom_tool_call')?.[2] as { input: string };
  t.equal(frames.filter((f) => f[0] === F.CustomInputDelta).map((f) => f[2]).join(''), done.input);
});

t.test('stream: in-stream error becomes a failed terminal', async (t) => {
  const { out } = replay(openaiResponses, chunks('openai-responses', 'openai-error.1.chunks.txt'));
  t.equal(out.terminal?.[0], F.Failed);
  const [, error, status] = out.terminal as [number, ApiError, number, number | null];
  t.equal(error.code, 'upstream_quota_exceeded', 'the deployment\'s billing, not the client\'s quota (insufficient_quota)');
  t.equal(status, 502);
  t.match(error.message, /You exceeded your current quota/);
  t.ok(out.retryable, 'another deployment may have credit');
});

t.test('stream: a stream that just ends leaves no terminal (the worker fails it)', async (t) => {
  const lines = chunks('openai-responses', 'azure-text.1.chunks.txt');
  const { out } = replay(openaiResponses, lines.slice(0, 4));
  t.equal(out.terminal, null);
});

t.test('errors: 429 with retry-after, 401, 500, context overflow', async (t) => {
  const rl = openaiResponses.mapError(429, { 'retry-after': '7' }, '{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}');
  t.equal(rl.httpStatus, 429);
  t.equal(rl.retryAfterSeconds, 7);
  t.match(rl.error.message, /try again in 7s/);
  t.ok(rl.retryable);
  const auth = openaiResponses.mapError(401, {}, '{"error":{"message":"Incorrect API key provided"}}');
  t.equal(auth.httpStatus, 502);
  t.ok(auth.retryable);
  const boom = openaiResponses.mapError(500, {}, 'oops');
  t.equal(boom.httpStatus, 502);
  t.ok(boom.retryable);
  const ctx = openaiResponses.mapError(400, {}, '{"error":{"message":"Your input exceeds the context window of this model.","code":"context_length_exceeded"}}');
  t.equal(ctx.error.code, 'context_length_exceeded');
  t.notOk(ctx.retryable);
});
