// Usage through the whole path: a provider's recorded usage object (as its server sends it) reaches
// the client's response.completed in Responses terms, the ledger records the same counts, and the
// cost uses the catalog's cache-read and cache-write prices. Real cluster, every provider family.
import { readFileSync } from 'node:fs';
import Redis from 'ioredis';
import t from 'tap';
import type { Usage } from '../../libs/protocol/types';
import { fixturePath } from '../../libs/providers/replay';
import { everyFamily, familyCatalog, postResponses, sleep, startTestCluster, terminals, waitUntil, type TestCluster } from '../../libs/testing/cluster';
import { LedgerProbe, withLedgerCluster } from '../../libs/testing/ledger';

/** USD per million tokens; reads and 5-minute writes at Anthropic's ratios to input. */
const PRICING = { input: 3, cached_input: 0.3, cache_write_input: 3.75, output: 15 };

const MODELS = everyFamily('usage');

let tc: TestCluster;
let redis: Redis;
let probe: LedgerProbe;

withLedgerCluster(t, () => startTestCluster((url) => familyCatalog(url, MODELS, { pricing: PRICING })), (c) => ({ tc, redis, probe } = c));

/** The usage object of a recording: `pick` finds it among the recording's parsed lines. */
function recordedUsage(family: string, file: string, pick: (line: Record<string, unknown>) => unknown): Record<string, unknown> {
  const lines = readFileSync(fixturePath(family, file), 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  const found = lines.map(pick).filter((u) => u).at(-1);
  if (!found) throw new Error(`no usage in ${file}`);
  return found as Record<string, unknown>;
}

const CASES: Array<{ name: string; model: string; wireUsage: Record<string, unknown>; expect: Omit<Usage, 'cost'> }> = [
  {
    name: 'xAI (openai-chat): reasoning counted beside completion_tokens is billed as output',
    model: 'usage/chat',
    wireUsage: recordedUsage('openai-chat', 'xai-tool-call.chunks.txt', (l) => l.usage),
    expect: { input_tokens: 291, input_tokens_details: { cached_tokens: 290 }, output_tokens: 222, output_tokens_details: { reasoning_tokens: 196 }, total_tokens: 513 },
  },
  {
    name: 'Qwen explicit cache (openai-chat): reads and writes at their prices',
    model: 'usage/chat',
    wireUsage: recordedUsage('openai-chat', 'rh-qwen-explicit-cache.chunks.txt', (l) => l.usage),
    expect: { input_tokens: 3019, input_tokens_details: { cached_tokens: 1024, cache_write_tokens: 1500 }, output_tokens: 104, output_tokens_details: { reasoning_tokens: 96 }, total_tokens: 3123 },
  },
  {
    name: 'Anthropic cache write: written input at the cache-write price',
    model: 'usage/anthropic',
    wireUsage: recordedUsage('anthropic', 'anthropic-issue-5942-cache-write.chunks.txt', (l) => l.type === 'message_delta' && l.usage),
    expect: { input_tokens: 18642, input_tokens_details: { cached_tokens: 0, cache_write_tokens: 18639 }, output_tokens: 1, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 18643 },
  },
  {
    name: 'Gemini implicit cache and thoughts',
    model: 'usage/gemini',
    wireUsage: recordedUsage('gemini', 'rh-cached-tokens.chunks.txt', (l) => l.usageMetadata),
    expect: { input_tokens: 2310, input_tokens_details: { cached_tokens: 2048 }, output_tokens: 126, output_tokens_details: { reasoning_tokens: 120 }, total_tokens: 2436 },
  },
  {
    name: 'OpenAI Responses: cache read and reasoning as sent',
    model: 'usage/responses',
    wireUsage: recordedUsage('openai-responses', 'openai-phase.1.chunks.txt', (l) => (l.response as { usage?: unknown } | undefined)?.usage),
    expect: { input_tokens: 7112, input_tokens_details: { cached_tokens: 3072 }, output_tokens: 463, output_tokens_details: { reasoning_tokens: 64 }, total_tokens: 7575 },
  },
];

for (const c of CASES) {
  t.test(c.name, async (t) => {
    const before = await probe.totals(c.model);
    tc.mock.script({ parts: [{ type: 'text', text: 'The build passes.' }], wireUsage: c.wireUsage });
    const r = await postResponses(tc.cluster.baseUrl, tc.key, { model: c.model, stream: true, input: 'Does the build pass?' });
    t.equal(r.status, 200);
    const end = terminals(r.events);
    t.equal(end.length, 1);
    t.equal(end[0].data.type, 'response.completed');
    const { cost, ...seen } = (end[0].data.response as { usage: Usage }).usage;
    t.same(seen, c.expect, 'the client sees the provider\'s usage in Responses terms');

    const u = c.expect;
    const written = u.input_tokens_details.cache_write_tokens ?? 0;
    const fresh = u.input_tokens - u.input_tokens_details.cached_tokens - written;
    const micro = Math.round(fresh * PRICING.input + u.input_tokens_details.cached_tokens * PRICING.cached_input + written * PRICING.cache_write_input + u.output_tokens * PRICING.output);
    t.equal(cost, micro / 1e6, 'cost: fresh, cached and written input and output, each at its price');

    t.ok(await waitUntil(async () => (await probe.since(c.model, before)).requests >= 1, 5000), 'the ledger line is written');
    await sleep(100);
    const d = await probe.since(c.model, before);
    t.same(
      { requests: d.requests, input: d.input_tokens, cached: d.cached_tokens, written: d.cache_write_tokens, output: d.output_tokens, reasoning: d.reasoning_tokens, cost: d.cost_micro_usd, estimated: d.estimated },
      { requests: 1, input: u.input_tokens, cached: u.input_tokens_details.cached_tokens, written, output: u.output_tokens, reasoning: u.output_tokens_details.reasoning_tokens, cost: micro, estimated: 0 },
      'the ledger records what the client saw',
    );
  });
}
