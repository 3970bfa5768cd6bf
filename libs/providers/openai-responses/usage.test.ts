// openai-responses usage: recorded streams (OpenAI, Azure, xAI) through the stream mapper.
import t from 'tap';
import type { Usage } from '../../protocol/types';
import { chunks, replay } from '../replay';
import { openaiResponses } from './index';
import { responsesUsage } from './usage';

const usageOf = (file: string): Usage | null => replay(openaiResponses, chunks('openai-responses', file)).out.terminal?.[1] as Usage | null;
const usage = (input: number, cached: number, output: number, reasoning: number, total: number, cacheWrite = 0): Usage => ({
  input_tokens: input,
  input_tokens_details: cacheWrite > 0 ? { cached_tokens: cached, cache_write_tokens: cacheWrite } : { cached_tokens: cached },
  output_tokens: output,
  output_tokens_details: { reasoning_tokens: reasoning },
  total_tokens: total,
});

t.test('OpenAI: the counts pass as sent (output includes reasoning, input includes cached)', async (t) => {
  t.same(usageOf('openai-phase.1.chunks.txt'), usage(7112, 3072, 463, 64, 7575), 'cache read and reasoning');
  t.same(usageOf('issue-16021-openai-zod-patterns-live.chunks.txt'), usage(14308, 14080, 5, 0, 14313), 'cache_write_tokens 0: no writes to report');
  t.same(usageOf('openai-issue-11239.1.chunks.txt'), usage(84, 0, 39, 15, 123));
  t.same(usageOf('azure-text.1.chunks.txt'), usage(11, 0, 11, 0, 22), 'Azure OpenAI');
});

t.test('xAI\'s Responses API counts reasoning inside output_tokens, unlike its Chat API', async (t) => {
  t.same(usageOf('rh-xai-responses-reasoning.chunks.txt'), usage(216, 192, 923, 323, 1139));
});

t.test('responsesUsage: cache writes, and counts that stray from Responses terms', async (t) => {
  t.same(responsesUsage({ input_tokens: 5000, input_tokens_details: { cached_tokens: 1000, cache_write_tokens: 3000 }, output_tokens: 20, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 5020 }),
    usage(5000, 1000, 20, 0, 5020, 3000));
  t.same(responsesUsage({ input_tokens: 12, output_tokens: 1, output_tokens_details: { reasoning_tokens: 228 }, total_tokens: 241 }),
    usage(12, 0, 229, 228, 241), 'reasoning beside output_tokens (the total shows it): added');
  t.same(responsesUsage({ input_tokens: 100, input_tokens_details: { cached_tokens: 300 }, output_tokens: 10, total_tokens: 410 }),
    usage(400, 300, 10, 0, 410), 'cached beside input_tokens: added');
});
