// Hosted-tool output from an openai-responses upstream reaches the client through the real cluster
// (ingress, NATS, worker): recorded streams with a web_search_call and an image_generation_call are
// replayed by the mock upstream, and the client gets their items and events as the upstream sent
// them (with RouterHub's sequence numbers), streamed and not, raw and through the OpenAI SDK. And
// a history that only OpenAI can read goes past a family that cannot take it, to the route plan's
// openai-responses deployment.
import OpenAI from 'openai';
import t from 'tap';
import type { MockTurn } from '../../libs/providers/mock/script';
import { chunks } from '../../libs/providers/replay';
import { postResponses, startTestCluster, type TestCluster } from '../../libs/testing/cluster';
import { OpenResponsesSpec } from '../../libs/testing/openresponses';

const MODEL = 'hosted/responses';
/** Anthropic first, OpenAI Responses as the fallback. */
const FALLBACK = 'hosted/fallback';
const spec = new OpenResponsesSpec();
let tc: TestCluster;
let client: OpenAI;

t.before(async () => {
  tc = await startTestCluster((url) => [
    { id: MODEL, deployments: [{ provider: 'openai-responses', base_url: `${url}/v1` }] },
    { id: FALLBACK, deployments: [{ provider: 'anthropic', base_url: `${url}/v1` }, { provider: 'openai-responses', base_url: `${url}/v1` }] },
  ]);
  client = new OpenAI({ apiKey: tc.key, baseURL: `${tc.cluster.baseUrl}/v1`, maxRetries: 0, timeout: 20_000 });
});
t.teardown(() => tc.stop());
t.beforeEach(() => tc.mock.reset());

const RECORDINGS = [
  { file: 'rh-web-search-call.chunks.txt', item: 'web_search_call' },
  { file: 'rh-image-generation-call.chunks.txt', item: 'image_generation_call' },
] as const;

/** The mock upstream answers with the recording instead of a scripted turn. */
const replayed = (file: string): MockTurn => ({ parts: [], recorded: chunks('openai-responses', file) });

const unnumbered = ({ sequence_number: _s, ...rest }: Record<string, unknown>) => rest;

for (const r of RECORDINGS) {
  const upstream = chunks('openai-responses', r.file).map((l) => JSON.parse(l) as Record<string, any>);
  const hosted = (e: Record<string, any>) => String(e.type).startsWith(`response.${r.item}.`) || e.item?.type === r.item;
  const upstreamItem = upstream.at(-1)!.response.output.find((i: { type: string }) => i.type === r.item);

  t.test(`${r.item}: streamed, its events and item as the upstream sent them`, async (t) => {
    tc.mock.script(replayed(r.file));
    const res = await postResponses(tc.cluster.baseUrl, tc.key, { model: MODEL, stream: true, input: 'go' });
    t.equal(res.status, 200);
    const events = res.events.map((e) => e.data as Record<string, any>);
    t.same(events.filter(hosted).map(unnumbered), upstream.filter(hosted).map(unnumbered));
    t.same(events.map((e) => e.sequence_number), events.map((_, i) => i), 'numbered by RouterHub, no gap');
    const completed = events.at(-1)!;
    t.equal(completed.type, 'response.completed');
    t.same(completed.response.output.find((i: { type: string }) => i.type === r.item), upstreamItem, 'the item is in the final output');
    // The spec knows no hosted-tool items or events; everything RouterHub produces itself conforms.
    for (const e of events.filter((e) => !hosted(e) && e.type !== 'response.completed')) {
      const v = spec.checkEvent(e as { type: string });
      t.ok(v.ok, `${e.type} conforms`, { errors: v.errors });
    }
  });

  t.test(`${r.item}: stream:false and the OpenAI SDK's stream hold the item`, async (t) => {
    tc.mock.script(replayed(r.file), replayed(r.file));
    const res = await postResponses(tc.cluster.baseUrl, tc.key, { model: MODEL, stream: false, input: 'go' });
    t.equal(res.status, 200);
    t.same((res.json!.output as Array<{ type: string }>).find((i) => i.type === r.item), upstreamItem);
    const stream = client.responses.stream({ model: MODEL, input: 'go' });
    const seen: string[] = [];
    stream.on('event', (e) => seen.push(e.type));
    const final = await stream.finalResponse();
    t.same(final.output.find((i) => i.type === r.item), upstreamItem, 'the SDK assembles the item from the passed-through events');
    t.ok(seen.some((type) => type.startsWith(`response.${r.item}.`)), 'the SDK saw its progress events');
  });
}

t.test('an item a family cannot take moves the request to the next deployment of the plan, whose family can', async (t) => {
  const input = [{ type: 'compaction', encrypted_content: 'gAAAA-earlier-history' }, { role: 'user', content: 'go on' }];
  tc.mock.script({ parts: [{ type: 'text', text: 'Going on.' }] });
  const served = await postResponses(tc.cluster.baseUrl, tc.key, { model: FALLBACK, stream: false, input });
  t.equal(served.status, 200);
  t.equal((served.json!.output as Array<{ content: Array<{ text: string }> }>)[0].content[0].text, 'Going on.');
  t.same(tc.mock.requests.map((r) => r.family), ['openai-responses'], 'anthropic was never called');
  t.match(tc.mock.requests[0].body.input, [{ type: 'compaction', encrypted_content: 'gAAAA-earlier-history' }, { role: 'user', content: 'go on' }]);

  // The fallback down: its failure says more than Anthropic refusing the input.
  tc.mock.reset();
  tc.mock.script({ parts: [], httpError: { status: 503 } });
  const down = await postResponses(tc.cluster.baseUrl, tc.key, { model: FALLBACK, stream: true, input });
  t.equal(down.status, 503);
  t.match(down.json, { error: { code: 'server_is_overloaded' } });
});
