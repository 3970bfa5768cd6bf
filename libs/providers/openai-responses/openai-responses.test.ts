import t from 'tap';
import { createParser } from 'eventsource-parser';
import { ResponseStream } from '../../protocol/sse';
import { F, type Frame } from '../../wire/frames';
import { openaiResponses } from './index';
import { buildRequest, buildRequestFromSource } from './request';
import { chunks, codexRequest, replay } from '../replay';
import { parseJsonBytes } from '../../protocol/json-bytes';
import { keyOf, objectRanges, rootStart } from '../../protocol/json-ranges';
import { encodeState, stateForDeployment, tagState } from '../reasoning-state';
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

t.test('request: easy-input messages and item references pass as sent (a reference keeps its id)', async (t) => {
  const input = [{ role: 'user', content: 'hi' }, { type: 'item_reference', id: 'msg_1' }, { type: 'web_search_call', id: 'ws_1', status: 'completed' }] as ResponsesRequest['input'];
  t.same(JSON.parse(buildRequest({ model: 'm', input }, dep, '').body).input, [{ role: 'user', content: 'hi' }, { type: 'item_reference', id: 'msg_1' }, { type: 'web_search_call', status: 'completed' }]);
});

t.test('request: store:true keeps ids', async (t) => {
  const up = buildRequest({ model: 'm', store: true, input: [{ type: 'message', id: 'msg_1', role: 'user', content: 'hi' }] }, dep, '');
  t.equal(JSON.parse(up.body).input[0].id, 'msg_1');
  t.notOk(up.headers.authorization);
});

/**
 * The request as the worker prepares it from `bytes` (parsed, its reasoning state sorted for the
 * deployment tagged `tag`), sent both ways: spliced from the bytes, and serialized.
 */
function bothWays(bytes: Buffer, tag = 'dep1') {
  const req = parseJsonBytes(bytes) as ResponsesRequest;
  const source = { bytes, input: Array.isArray(req.input) ? req.input : null };
  if (Array.isArray(req.input)) req.input = stateForDeployment(req.input, tag).input;
  const spliced = buildRequestFromSource(req, dep, 'sk-up', source);
  const serialized = buildRequest(req, dep, 'sk-up');
  return { spliced, sent: spliced && JSON.parse(spliced.body.toString('utf8')), serialized: JSON.parse(serialized.body) as unknown, url: serialized.url, headers: serialized.headers };
}

/** JSON text of `v` with random spacing, keys sometimes written as \u escapes, and decoy duplicates JSON.parse overrides. */
function hostileJson(v: unknown, rnd: (n: number) => number): string {
  const ws = () => ['', ' ', '\n  ', '\t'][rnd(4)];
  const key = (k: string) => (rnd(5) === 0 ? `"${[...k].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"` : JSON.stringify(k));
  if (Array.isArray(v)) return `[${ws()}${v.map((x) => hostileJson(x, rnd)).join(`${ws()},${ws()}`)}${ws()}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v);
    const members = entries.map(([k, x]) => `${key(k)}${ws()}:${ws()}${hostileJson(x, rnd)}`);
    if (entries.length > 0 && rnd(3) === 0) members.unshift(`${key(entries[rnd(entries.length)][0])}:${JSON.stringify(['decoy', { id: 'x' }])}`);
    return `{${ws()}${members.join(`,${ws()}`)}${ws()}}`;
  }
  // A string sometimes starts with an escape where it need not (as a tag in front of reasoning state may).
  if (typeof v === 'string' && /^[a-z]/.test(v) && rnd(6) === 0) return `"\\u${v.charCodeAt(0).toString(16).padStart(4, '0')}${JSON.stringify(v).slice(2)}`;
  return JSON.stringify(v);
}

/** A history item of a random kind, with text that has quotes, backslashes, brackets and non-ASCII in it. */
function randomItem(i: number, rnd: (n: number) => number): unknown {
  const text = ['plain', 'say "hi"', 'C:\\dir\\', '] } [ {', 'caf\u00e9 \u2019 \u2026 \ud83d\ude00', '\\"'][rnd(6)] + i;
  switch (rnd(9)) {
    case 0: return { type: 'message', id: `msg_${i}`, role: 'assistant', content: [{ type: 'output_text', text }] };
    case 1: return { type: 'function_call', id: `fc_${i}`, call_id: `c${i}`, name: 'exec_command', arguments: JSON.stringify({ cmd: text }) };
    case 2: return { type: 'function_call_output', call_id: `c${i}`, output: text };
    case 3: return { type: 'reasoning', id: `rs_${i}`, summary: [{ type: 'summary_text', text }], encrypted_content: 'b3BhcXVl' };
    case 4: return { type: 'reasoning', id: `rs_${i}`, summary: [], encrypted_content: encodeState('anthropic', { signature: text }) };
    case 5: return { type: 'reasoning', id: `rs_${i}`, summary: [], encrypted_content: tagState(rnd(2) ? 'dep1' : 'other', 'blob') };
    case 6: return { type: 'item_reference', id: `msg_${i}` };
    case 7: return { role: 'user', content: text };
    default: return { id: `msg_${i}`, type: 'message', role: 'user', content: [{ type: 'input_text', text }], ...(rnd(2) ? { id: `dup_${i}` } : {}) };
  }
}

t.test('request from source: what the serialized request holds, from the bytes the client sent', async (t) => {
  const codex = Buffer.from(JSON.stringify({ ...codexRequest(), stream: true }));
  const { spliced, sent, serialized, url, headers } = bothWays(codex);
  t.ok(spliced, 'a Codex request is spliced');
  t.strictSame(sent, serialized);
  t.equal(spliced!.url, url);
  t.same(spliced!.headers, headers);

  // A seeded generator (mulberry32): every run tries the same documents.
  let seed = 7;
  const rnd = (n: number) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), seed | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) % n;
  };
  for (let doc = 0; doc < 300; doc++) {
    const body: Record<string, unknown> = { model: 'openai/gpt-5.3-codex', instructions: 'Be terse \u2019', input: Array.from({ length: rnd(12) }, (_, i) => randomItem(i, rnd)) };
    if (rnd(2)) body.store = rnd(2) === 0;
    if (rnd(2)) body.client_metadata = { session_id: 's' };
    if (rnd(2)) body.stream = false;
    if (rnd(4) === 0) body.input = 'just text';
    if (rnd(6) === 0) delete body.input;
    if (rnd(2)) body.tools = [{ type: 'function', name: 'exec_command', parameters: { type: 'object', properties: { cmd: { type: 'string' } } } }];
    const bytes = Buffer.from(hostileJson(body, rnd));
    const { spliced, sent, serialized } = bothWays(bytes);
    if (!spliced) {
      t.fail(`not spliced: ${bytes}`);
      continue;
    }
    if (!t.strictSame(sent, serialized, `document ${doc}`)) t.comment(bytes.toString());
    // Of duplicate top-level keys only the one JSON.parse keeps is sent (a stricter parser upstream may refuse them).
    const keys = objectRanges(spliced.body, rootStart(spliced.body)).members.map((m) => keyOf(spliced.body, m));
    t.equal(new Set(keys).size, keys.length, `document ${doc}: no duplicate keys`);
  }
});

t.test('request from source: reasoning tagged for this deployment loses its tag in the bytes, as written', async (t) => {
  const item = '{ "type" : "reasoning", "id":"rs_1", "encrypted_content" : "rhd1.dep1.b64blob" , "summary":[ ] }';
  const plain = bothWays(Buffer.from(`{"model":"m","input":[${item}]}`));
  t.strictSame(plain.sent, plain.serialized);
  t.match(plain.spliced!.body.toString(), '{ "type" : "reasoning", "encrypted_content" : "b64blob" , "summary":[ ] }', 'copied, with only the id and the tag cut');
  // Written with an escape, the tag is not where the bytes can cut it: that item is serialized.
  const escaped = bothWays(Buffer.from(`{"model":"m","input":[${item.replace('"rhd1.', '"rhd1\\u002e')}]}`));
  t.strictSame(escaped.sent, escaped.serialized);
  t.match(escaped.spliced!.body.toString(), '{"type":"reasoning","encrypted_content":"b64blob","summary":[]}');
});

t.test('request from source: bytes that are not UTF-8 are serialized (with U+FFFD), not forwarded as sent', async (t) => {
  const bytes = Buffer.concat([Buffer.from('{"model":"m","input":"caf'), Buffer.from([0xe9]), Buffer.from('"}')]);
  const { spliced, serialized } = bothWays(bytes);
  t.equal(spliced, null);
  t.match(serialized, { input: 'caf\ufffd' });
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

/** The client's view of a replayed upstream stream: RouterHub's events, parsed, and its final Response object. */
function clientView(file: string): { upstream: Array<Record<string, any>>; events: Array<Record<string, any>>; frames: Frame[]; response: Record<string, any> } {
  const lines = chunks('openai-responses', file);
  const { frames, out } = replay(openaiResponses, lines);
  const rs = new ResponseStream('resp_rh', 'x/y');
  let text = rs.start();
  for (const f of [...frames, out.terminal!]) text += rs.frame(f);
  const events: Array<Record<string, any>> = [];
  const parser = createParser({ onEvent: (e) => events.push({ event: e.event, ...JSON.parse(e.data) }) });
  parser.feed(text);
  return { upstream: lines.map((l) => JSON.parse(l)), events, frames, response: JSON.parse(rs.responseJson(rs.terminal!)) };
}

/** Events as the client compares them with the upstream's: without the numbers RouterHub gives. */
const unnumbered = ({ sequence_number: _s, event: _e, ...rest }: Record<string, any>) => rest;

t.test('stream: a web_search_call and its events pass through; its citations reach the message', async (t) => {
  const { upstream, events, response } = clientView('rh-web-search-call.chunks.txt');
  const hosted = (e: Record<string, any>) => String(e.type).startsWith('response.web_search_call.') || e.item?.type === 'web_search_call';
  t.same(events.filter(hosted).map(unnumbered), upstream.filter(hosted).map(unnumbered), 'every web_search_call event, as the upstream sent it');
  t.same(events.filter(hosted).map((e) => e.type), [
    'response.output_item.added', 'response.web_search_call.in_progress', 'response.web_search_call.searching',
    'response.web_search_call.completed', 'response.output_item.done',
  ]);
  t.ok(events.filter(hosted).every((e) => e.event === e.type), 'each on its own `event:` line');
  t.same(events.map((e) => e.sequence_number), events.map((_, i) => i), "RouterHub's sequence numbers, with no gap");
  const citation = events.find((e) => e.type === 'response.output_text.annotation.added');
  t.match(citation, { output_index: 2, item_id: 'msg_rh_ws_01', annotation: { type: 'url_citation' } });
  const upstreamOutput = upstream.at(-1)!.response.output;
  t.same(response.output.map((i: { type: string }) => i.type), ['reasoning', 'web_search_call', 'message']);
  t.same(response.output[1], upstreamOutput[1], 'the final output holds the search as the upstream reported it');
  t.same(response.output[2].content[0].annotations, upstreamOutput[2].content[0].annotations);
  t.match(response.usage, { input_tokens: 8412, output_tokens: 212 });
});

t.test('stream: an image_generation_call passes through with its partial image and result', async (t) => {
  const { upstream, events, frames, response } = clientView('rh-image-generation-call.chunks.txt');
  const hosted = (e: Record<string, any>) => String(e.type).startsWith('response.image_generation_call.') || e.item?.type === 'image_generation_call';
  t.same(events.filter(hosted).map(unnumbered), upstream.filter(hosted).map(unnumbered));
  t.match(events.find((e) => e.type === 'response.image_generation_call.partial_image'), { output_index: 1, partial_image_index: 0, partial_image_b64: /^iVBOR/ });
  t.equal(frames.filter((f) => f[0] === F.PassThrough).length, 6, 'added, 4 progress events, done');
  t.same(response.output[1], upstream.at(-1)!.response.output[1], 'the generated image is in the final output');
  t.equal(response.status, 'completed');
});

t.test('stream: a pass-through item is output (no failover after it) and keeps the text path as it was', async (t) => {
  const lines = chunks('openai-responses', 'rh-image-generation-call.chunks.txt');
  t.ok(replay(openaiResponses, lines.slice(0, 5)).out.hasOutput, 'a started hosted-tool call was paid for: no failover');
  const text = replay(openaiResponses, chunks('openai-responses', 'azure-text.1.chunks.txt')).frames;
  t.notOk(text.some((f) => f[0] === F.PassThrough), 'an ordinary text stream has no pass-through frame');
  const odd = replay(openaiResponses, [
    lines[4],
    JSON.stringify({ type: 'response.image_generation_call.evil\nevent: x', output_index: 1, item_id: 'ig_rh_ig_01' }),
  ]).frames;
  t.equal(odd.filter((f) => f[0] === F.PassThrough).length, 1, 'an event name unfit for an SSE line is not sent on');
});
