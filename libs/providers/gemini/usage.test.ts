// gemini usage: usageMetadata repeated on each chunk, thoughts outside candidatesTokenCount,
// implicit-cache and tool-use prompt tokens, through the stream mapper.
import t from 'tap';
import type { Usage } from '../../protocol/types';
import { chunks, replay } from '../replay';
import { gemini } from './index';

const usageOf = (lines: string[]): Usage | null => replay(gemini, lines).out.terminal?.[1] as Usage | null;
const usage = (input: number, cached: number, output: number, reasoning: number, total: number): Usage => ({
  input_tokens: input, input_tokens_details: { cached_tokens: cached }, output_tokens: output, output_tokens_details: { reasoning_tokens: reasoning }, total_tokens: total,
});

t.test('implicit cache: cachedContentTokenCount is cached, inside promptTokenCount; thoughts are output', async (t) => {
  t.same(usageOf(chunks('gemini', 'rh-cached-tokens.chunks.txt')), usage(2310, 2048, 6 + 120, 120, 2436));
});

t.test('thoughts (recorded, gemini-3-pro-preview): candidates + thoughts, Gemini\'s total', async (t) => {
  t.same(usageOf(chunks('gemini', 'google-text.chunks.txt')), usage(9, 0, 23 + 185, 185, 217));
});

t.test('a count left out of later chunks keeps its value; one left out of earlier chunks arrives last (gemma-4)', async (t) => {
  const lines = chunks('gemini', 'gemma-4-output-usage.chunks.txt');
  t.same(usageOf(lines), usage(6, 0, 77, 76, 83));
  // The last chunk without its usageMetadata: the counts so far stand.
  const last = JSON.parse(lines[lines.length - 1]) as { usageMetadata?: unknown };
  delete last.usageMetadata;
  t.same(usageOf([...lines.slice(0, -1), JSON.stringify(last)]), usage(6, 0, 77, 76, 83));
});

t.test('tool-use prompt tokens (search grounding) are input: input + output = Gemini\'s total', async (t) => {
  t.same(usageOf(chunks('gemini', 'rh-tool-use-prompt.chunks.txt')), usage(40 + 310, 0, 9 + 40, 40, 399));
});
