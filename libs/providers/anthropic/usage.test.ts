// anthropic usage: input without cache in message_start, output so far in message_delta, cache
// reads and writes, through the stream mapper.
import t from 'tap';
import type { Usage } from '../../protocol/types';
import { chunks, replay } from '../replay';
import { anthropic } from './index';

const usageOf = (lines: string[]): Usage => replay(anthropic, lines.map((data) => ({ event: (JSON.parse(data) as { type: string }).type, data }))).out.terminal?.[1] as Usage;

t.test('cache write (recorded): input = input + written; the writes kept apart for pricing', async (t) => {
  t.same(usageOf(chunks('anthropic', 'anthropic-issue-5942-cache-write.chunks.txt')), {
    input_tokens: 3 + 18639, input_tokens_details: { cached_tokens: 0, cache_write_tokens: 18639 }, output_tokens: 1, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 18643,
  });
});

t.test('cache read (recorded, the next request): the same prompt, now cached', async (t) => {
  t.same(usageOf(chunks('anthropic', 'anthropic-issue-5942-cache-read.chunks.txt')), {
    input_tokens: 3 + 18639, input_tokens_details: { cached_tokens: 18639 }, output_tokens: 1, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 18643,
  });
});

t.test('read and write in one response, thinking inside output_tokens; message_delta raises message_start\'s counts', async (t) => {
  // message_start: input 2, cache read 3031, output 2; message_delta: input 6, write 452, read 9429, output 383 (182 thinking).
  t.same(usageOf(chunks('anthropic', 'anthropic-code-execution-20260120-issue-18193.chunks.txt')), {
    input_tokens: 6 + 9429 + 452, input_tokens_details: { cached_tokens: 9429, cache_write_tokens: 452 }, output_tokens: 383, output_tokens_details: { reasoning_tokens: 182 }, total_tokens: 6 + 9429 + 452 + 383,
  });
});

t.test('a message_delta with zeros for the counts it leaves out keeps message_start\'s', async (t) => {
  const lines = [
    { type: 'message_start', message: { usage: { input_tokens: 40, cache_read_input_tokens: 2000, cache_creation_input_tokens: 500, output_tokens: 1 } } },
    { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 75 } },
    { type: 'message_stop' },
  ].map((e) => JSON.stringify(e));
  t.same(usageOf(lines), { input_tokens: 2540, input_tokens_details: { cached_tokens: 2000, cache_write_tokens: 500 }, output_tokens: 75, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 2615 });
});
