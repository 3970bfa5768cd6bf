// What a response costs: fresh input, cache reads, cache writes and output, each at its price.
import t from 'tap';
import type { Usage } from '../protocol/types';
import { cacheSavingsMicroUsd, costMicroUsd } from './usage';

const usage = (input: number, cached: number, written: number, output: number): Usage => ({
  input_tokens: input,
  input_tokens_details: written > 0 ? { cached_tokens: cached, cache_write_tokens: written } : { cached_tokens: cached },
  output_tokens: output,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: input + output,
});

t.test('cache reads and writes at their own prices (Anthropic: reads 0.1×, 5-minute writes 1.25× input)', async (t) => {
  const pricing = { input: 3, cached_input: 0.3, cache_write_input: 3.75, output: 15 };
  // The recorded Anthropic cache write, then its read: 3 fresh + 18,639 written / read, 1 output.
  t.equal(costMicroUsd(usage(18642, 0, 18639, 1), pricing), Math.round(3 * 3 + 18639 * 3.75 + 15));
  t.equal(costMicroUsd(usage(18642, 18639, 0, 1), pricing), Math.round(3 * 3 + 18639 * 0.3 + 15));
});

t.test('a catalog without cache prices charges cached and written input as input', async (t) => {
  t.equal(costMicroUsd(usage(1000, 600, 300, 10), { input: 2, output: 8 }), 1000 * 2 + 10 * 8);
  t.equal(costMicroUsd(usage(1000, 600, 300, 10), { input: 2, cached_input: 0.5, output: 8 }), 100 * 2 + 600 * 0.5 + 300 * 2 + 10 * 8, 'writes at input when only reads have a price');
});

t.test('no pricing: nothing charged', async (t) => {
  t.equal(costMicroUsd(usage(1000, 0, 0, 10), null), 0);
});

t.test('savings: reads at the full price less their price, less the premium of writes', async (t) => {
  const sonnet = { input: 3, cached_input: 0.3, cache_write_input: 3.75, output: 15 };
  t.equal(cacheSavingsMicroUsd(usage(10_000, 6_000, 0, 100), sonnet), Math.round(6_000 * (3 - 0.3)));
  t.equal(cacheSavingsMicroUsd(usage(10_000, 6_000, 3_000, 100), sonnet), Math.round(6_000 * 2.7 - 3_000 * 0.75));
  t.equal(cacheSavingsMicroUsd(usage(4_000, 0, 4_000, 10), sonnet), -3_000, 'a first turn that only writes costs more than no caching');
  t.equal(cacheSavingsMicroUsd(usage(4_000, 2_000, 0, 10), { input: 1, output: 2 }), 0, 'no cached price: nothing saved');
  t.equal(cacheSavingsMicroUsd(usage(4_000, 2_000, 0, 10), null), 0);
});
