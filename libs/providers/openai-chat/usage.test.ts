// openai-chat usage: recorded streams of servers whose usage differs (which count reasoning where,
// the names of cached tokens, cache writes, usage on which chunk) through the stream mapper.
import { readFileSync } from 'node:fs';
import t from 'tap';
import type { Usage } from '../../protocol/types';
import { chunks, fixturePath, replay } from '../replay';
import { openaiChat } from './index';
import { chatUsage } from './usage';

const usageOf = (file: string): Usage | null => replay(openaiChat, [...chunks('openai-chat', file), '[DONE]']).out.terminal?.[1] as Usage | null;
const usage = (input: number, cached: number, output: number, reasoning: number, total = input + output, cacheWrite = 0): Usage => ({
  input_tokens: input,
  input_tokens_details: cacheWrite > 0 ? { cached_tokens: cached, cache_write_tokens: cacheWrite } : { cached_tokens: cached },
  output_tokens: output,
  output_tokens_details: { reasoning_tokens: reasoning },
  total_tokens: total,
});

t.test('xAI counts reasoning beside completion_tokens: output adds it, total is xAI\'s', async (t) => {
  // The recording of issue 9: completion 26, reasoning 196, total 513 = 291 + 26 + 196.
  t.same(usageOf('xai-tool-call.chunks.txt'), usage(291, 290, 26 + 196, 196, 513));
  t.same(usageOf('xai-text.chunks.txt'), usage(12, 11, 1 + 290, 290, 303));
});

t.test('xAI grok-beta repeats cumulative usage on every chunk: the last counts', async (t) => {
  t.same(usageOf('rh-xai-grok-beta-cumulative-usage.chunks.txt'), usage(41, 0, 80, 0, 121));
});

t.test('DeepSeek counts reasoning inside completion_tokens; prompt_cache_hit_tokens are cached', async (t) => {
  t.same(usageOf('deepseek-tool-call.chunks.txt'), usage(339, 320, 83, 39, 422), 'deepseek-reasoner, cache hit');
  // Reasoning equal to the whole completion is still inside it: the total says so. Usage on the finish chunk.
  t.same(usageOf('issue-19789-live-usage.chunks.txt'), usage(88, 0, 4, 4, 92));
});

t.test('Mistral: usage on the finish chunk, no usage-only chunk', async (t) => {
  t.same(usageOf('mistral-usage-raw-live.chunks.txt'), usage(19, 0, 2, 0, 21));
});

t.test('Qwen (DashScope compatible mode): usage chunk with no choices; explicit-cache writes kept apart from reads', async (t) => {
  t.same(usageOf('alibaba-tool-call.chunks.txt'), usage(295, 0, 22, 0, 317));
  t.same(usageOf('rh-qwen-explicit-cache.chunks.txt'), usage(3019, 1024, 104, 96, 3123, 1500));
});

t.test('OpenAI: cached prompt tokens and reasoning inside completion_tokens', async (t) => {
  t.same(usageOf('rh-openai-cached-reasoning.chunks.txt'), usage(2150, 1920, 340, 320, 2490));
  t.same(usageOf('azure-model-router.1.chunks.txt'), usage(15, 0, 78, 64, 93), 'Azure OpenAI, reasoning model');
  // api.openai.com's recorded usage objects (non-streaming bodies; the stream's usage chunk carries the same object).
  const recorded = JSON.parse(readFileSync(fixturePath('openai-chat', 'openai-chat-cached-input-tokens-11178.json'), 'utf8')) as { attempts: Array<{ rawResponseBody: { usage: object } }> };
  const [miss, hit] = recorded.attempts.map((a) => replay(openaiChat, [JSON.stringify({ choices: [{ index: 0, delta: { content: 'ok' }, finish_reason: 'stop' }] }), JSON.stringify({ choices: [], usage: a.rawResponseBody.usage }), '[DONE]']).out.terminal?.[1]);
  t.same(miss, usage(10122, 0, 1, 0, 10123));
  t.same(hit, usage(10122, 9984, 1, 0, 10123));
});

t.test('Moonshot puts usage (and its cached_tokens) inside the last choice', async (t) => {
  t.same(usageOf('rh-moonshot-usage-in-choice.chunks.txt'), usage(146, 128, 26, 0, 172));
});

t.test('Groq: usage top-level and again under x_groq', async (t) => {
  t.same(usageOf('groq-tool-call.chunks.txt'), usage(210, 0, 15, 0, 225));
});

t.test('chatUsage: conventions the recordings do not cover', async (t) => {
  t.same(chatUsage({ prompt_tokens: 4142, completion_tokens: 254, total_tokens: 8724, prompt_tokens_details: { cached_tokens: 4328 } }),
    usage(4142 + 4328, 4328, 254, 0, 8724), 'cached counted outside the prompt (xAI at times): added to input');
  t.same(chatUsage({ prompt_tokens: 12, completion_tokens: 1, completion_tokens_details: { reasoning_tokens: 228 } }),
    usage(12, 0, 229, 228), 'no total, reasoning larger than the completion: it was outside');
  t.same(chatUsage({ prompt_tokens: 100, completion_tokens: 50, total_tokens: 170, completion_tokens_details: { reasoning_tokens: 30 } }),
    usage(100, 0, 50, 30, 170), 'a gap that is not the reasoning count: output as sent, total as sent');
  t.same(chatUsage({ prompt_tokens: 20, completion_tokens: 2, total_tokens: 22, num_cached_tokens: 16, prompt_token_details: { cached_tokens: 16 } }),
    usage(20, 16, 2, 0, 22), 'Mistral\'s other names for cached tokens');
  t.same(chatUsage({ prompt_tokens: 900, completion_tokens: 10, total_tokens: 910, prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 800 } }),
    usage(900, 0, 10, 0, 910, 800), 'OpenRouter\'s cache_write_tokens');
});

t.test('a chunk whose usage has no counts does not replace the counts before it', async (t) => {
  const r = replay(openaiChat, [
    JSON.stringify({ choices: [{ index: 0, delta: { content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 9, completion_tokens: 1, total_tokens: 10 } }),
    JSON.stringify({ choices: [], usage: { queue_time: 0.01 } }),
    '[DONE]',
  ]);
  t.same(r.out.terminal?.[1], usage(9, 0, 1, 0, 10));
});
