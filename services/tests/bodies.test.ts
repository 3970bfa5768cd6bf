// Large request bodies through the real cluster, with NATS at its default max_payload (1 MB): a body
// larger than one NATS message stays at the ingress and the worker pulls it in chunks. Every family
// gets 1, 2, 4 and 8 MiB; 9 MiB is refused; nothing stays counted at the ingress afterwards.
import t, { type Test } from 'tap';
import { everyFamily, familyCatalog, postResponses, startTestCluster, terminals, waitUntil, type TestCluster } from '../../libs/testing/cluster';

const MiB = 1024 * 1024;
const FAMILIES = everyFamily({ 'openai-responses': 'openai/big', anthropic: 'anthropic/big', gemini: 'google/big', 'openai-chat': 'compat/big' });

let tc: TestCluster;

t.before(async () => {
  tc = await startTestCluster((url) => familyCatalog(url, FAMILIES));
});
t.teardown(() => tc.stop());
t.beforeEach(() => tc.mock.reset());

/** A long history as Codex sends it: user and assistant messages of 256 KiB each, `bytes` in all. */
function history(model: string, bytes: number): string {
  const head = JSON.stringify({ model, stream: true, instructions: 'You are a coding agent.', input: [] }).slice(0, -3);
  const itemText = 256 * 1024;
  const items: string[] = [];
  let size = head.length + 2;
  for (let i = 0; size < bytes - 300; i++) {
    const text = `turn ${i}: ` + 'x'.repeat(Math.min(itemText, bytes - 300 - size - 80));
    const item = JSON.stringify({ type: 'message', role: i % 2 ? 'assistant' : 'user', content: [{ type: i % 2 ? 'output_text' : 'input_text', text }] });
    items.push(item);
    size += item.length + 1;
  }
  items.push(JSON.stringify({ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'and now?' }] }));
  return `${head}[${items.join(',')}]}`;
}

async function gauges(): Promise<{ waiting: number; active: number }> {
  const text = await (await fetch(`${tc.cluster.baseUrl}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { waiting: value('routerhub_waiting_request_bytes'), active: value('routerhub_active_streams') };
}

async function assertNothingHeld(t: Test): Promise<void> {
  const idle = await waitUntil(async () => {
    const g = await gauges();
    return g.waiting === 0 && g.active === 0;
  }, 3000);
  t.ok(idle, `waiting bytes and active streams back to 0 (${JSON.stringify(await gauges())})`);
}

for (const f of FAMILIES) {
  t.test(`${f.family}: bodies of 1, 2, 4 and 8 MiB complete`, async (t) => {
    for (const mib of [1, 2, 4, 8]) {
      const body = history(f.model, mib * MiB - 1024);
      tc.mock.script({ parts: [{ type: 'text', text: `read ${mib} MiB` }] });
      const r = await postResponses(tc.cluster.baseUrl, tc.key, body);
      t.equal(r.status, 200, `${mib} MiB: 200${r.status === 200 ? "" : ` (${r.raw.slice(0, 300)})`}`);
      t.equal(terminals(r.events).at(-1)?.data.type, 'response.completed', `${mib} MiB: completed`);
      const upstream = JSON.stringify(tc.mock.requests.at(-1)?.body ?? {});
      t.ok(upstream.length > mib * MiB - 64 * 1024 && upstream.includes('and now?'), `${mib} MiB: the whole history reached the ${f.family} upstream (${upstream.length} bytes)`);
      await assertNothingHeld(t);
    }
  });
}

t.test('a 9 MiB body gets 413, and nothing is held afterwards', async (t) => {
  const r = await postResponses(tc.cluster.baseUrl, tc.key, history('openai/big', 9 * MiB));
  t.equal(r.status, 413);
  t.equal((r.json?.error as { code: string }).code, 'request_too_large');
  t.equal(tc.mock.requests.length, 0, 'no upstream call');
  await assertNothingHeld(t);
});

t.test('concurrent large bodies on every family all complete', async (t) => {
  const runs = FAMILIES.flatMap((f) => [0, 1].map(() => f)).map((f) => {
    return postResponses(tc.cluster.baseUrl, tc.key, history(f.model, 3 * MiB));
  });
  const results = await Promise.all(runs);
  t.same(results.map((r) => r.status), results.map(() => 200));
  t.ok(results.every((r) => terminals(r.events).at(-1)?.data.type === 'response.completed'), 'every stream completed');
  await assertNothingHeld(t);
});
