// A fleet on one machine: 2 ingresses behind the launched HAProxy (deploy/haproxy.cfg), a 3-node NATS
// cluster (deploy/nats), 2 workers. Under continuous Codex-shaped load through the load balancer, a
// catalog change by SIGHUP, the loss of a NATS node, a rolling restart of every ingress and every
// worker leave no stream without a terminal event, and no failure a client could not retry.
import { readFileSync, writeFileSync } from 'node:fs';
import t from 'tap';
import { startCluster, type Cluster } from '../../deploy/cluster';
import { MockUpstream } from '../../libs/providers/mock/server';
import type { MockTurn } from '../../libs/providers/mock/script';
import { codexRequest } from '../../libs/providers/replay';
import { mockCatalog, postResponses, sleep, terminals, waitUntil, type MockModel } from '../../libs/testing/cluster';
import { generateKey } from '../../libs/store/keys';

// What Codex retries by itself (CODEX-CONTRACT.md §3): an HTTP 502/503 that says when (Retry-After),
// or a response.failed whose code names a passing fault of RouterHub's own processes.
const RETRYABLE_CODES = new Set(['ingress_shutting_down', 'worker_shutting_down', 'worker_lost', 'frames_lost', 'no_worker_available', 'dispatch_failed']);
const LOOPS = 5;
const MAX_REQUESTS_PER_LOOP = 400;

/** A Codex turn as a provider streams it: reasoning, a short answer, a tool call, about 1 s in all. */
const codexTurn = (): MockTurn => ({
  parts: [
    { type: 'reasoning', text: 'The user wants the tests run. I will call the shell tool.' },
    { type: 'text', text: 'Running the test suite now to see what fails.' },
    { type: 'function_call', name: 'shell', arguments: JSON.stringify({ command: ['npm', 'test'], workdir: '/repo' }) },
  ],
  usage: { input: 9000, cached: 8000, output: 60, reasoning: 20 },
  delayMs: 30,
});

/** A turn far longer than the grace periods below (about 12 s): a stop has to end it early. */
const longTurn = (): MockTurn => ({ parts: [{ type: 'text', text: 'line '.repeat(400) }], delayMs: 30 });
const LONG = 'a long turn, please';

type Outcome = 'completed' | 'retryable' | 'no_terminal' | 'not_retryable';
interface Tally { phase: string; outcome: Outcome; detail: string }

let cluster: Cluster;
let mock: MockUpstream;
let catalogPath: string;
const key = generateKey();
const models = (_mockUrl: string, extra: MockModel[] = []): MockModel[] => [{ id: 'test/codex', deployments: [{ provider: 'openai-responses' }] }, ...extra];

t.before(async () => {
  mock = await MockUpstream.start({ defaultTurn: (view) => (view.lastUserText.includes(LONG) ? longTurn() : codexTurn()) });
  catalogPath = mockCatalog(mock.url, models(mock.url));
  cluster = await startCluster({
    devKey: key, demoUpstream: false, modelsPath: catalogPath,
    ingresses: 2, workers: 2, natsCluster: 3, lb: 'haproxy', lbCheckMs: 250,
    env: { ROUTERHUB_KEEPALIVE_MS: '1000', ROUTERHUB_WORKER_DEAD_MS: '2000', WORKER_STOP_GRACE_MS: '2500', INGRESS_STOP_GRACE_MS: '3000' },
  });
});
t.teardown(async () => {
  await cluster?.stop();
  await mock?.close();
});

function body(model = 'test/codex', long = false): Record<string, unknown> {
  const request = { ...codexRequest(), model, stream: true } as Record<string, unknown> & { input: unknown[] };
  if (long) request.input = [...request.input, { type: 'message', role: 'user', content: [{ type: 'input_text', text: LONG }] }];
  return request;
}

async function oneRequest(model?: string, opts: { baseUrl?: string; long?: boolean; onStreaming?: () => void } = {}): Promise<{ outcome: Outcome; detail: string }> {
  try {
    const r = await postResponses(opts.baseUrl ?? cluster.baseUrl, key, body(model, opts.long), {
      signal: AbortSignal.timeout(20_000),
      onEvent: (e) => e.data.type === 'response.output_text.delta' && opts.onStreaming?.(),
    });
    if (r.status !== 200) {
      const code = String((r.json?.error as { code?: string } | undefined)?.code);
      const retryable = (r.status === 502 || r.status === 503) && r.headers.get('retry-after') !== null;
      return { outcome: retryable ? 'retryable' : 'not_retryable', detail: `HTTP ${r.status} ${code}` };
    }
    const ends = terminals(r.events);
    if (ends.length !== 1) return { outcome: 'no_terminal', detail: `${ends.length} terminal events` };
    const end = ends[0].data as { type: string; response?: { error?: { code?: string } } };
    if (end.type === 'response.completed') return { outcome: 'completed', detail: 'completed' };
    const code = String(end.response?.error?.code);
    return { outcome: end.type === 'response.failed' && RETRYABLE_CODES.has(code) ? 'retryable' : 'not_retryable', detail: `${end.type} ${code}` };
  } catch (err) {
    // A connection cut mid-stream, or no answer at all: the client saw no terminal event.
    return { outcome: 'no_terminal', detail: `${(err as Error).name}: ${(err as Error).message}` };
  }
}

t.test('a fleet behind HAProxy survives SIGHUP, a NATS node lost and rolling restarts under load', async (t) => {
  const tallies: Tally[] = [];
  const longOnes: Array<Promise<void>> = [];
  let phase = 'warm-up';
  let running = true;
  const loops = Array.from({ length: LOOPS }, async () => {
    for (let i = 0; i < MAX_REQUESTS_PER_LOOP && running; i++) {
      const r = await oneRequest();
      tallies.push({ phase, ...r });
      // As Codex does: back off before retrying (Retry-After is 1 s; a quarter keeps the test short).
      if (r.outcome !== 'completed') await sleep(250);
    }
  });
  const completed = () => tallies.filter((x) => x.outcome === 'completed').length;
  const advance = async (next: string, minCompleted: number) => {
    const before = completed();
    t.ok(await waitUntil(() => completed() >= before + minCompleted, 15_000), `${minCompleted} more streams completed during ${phase}`);
    phase = next;
  };

  try {
    await advance('SIGHUP', LOOPS);
    // A model added to the catalog file reaches every ingress on SIGHUP; streams in flight go on.
    writeFileSync(catalogPath, catalogWith(mock.url, [{ id: 'test/added', deployments: [{ provider: 'openai-responses' }] }]));
    for (const i of cluster.ingresses) i.process.kill('SIGHUP');
    for (const i of cluster.ingresses) {
      t.ok(await waitUntil(async () => (await listModels(i.baseUrl)).includes('test/added'), 5000), `ingress on ${i.port} serves the added model`);
    }
    const added = await oneRequest('test/added');
    t.equal(added.outcome, 'completed', 'a stream of the added model completes through the load balancer');
    await advance('NATS node lost', LOOPS);
    t.same(tallies.filter((x) => x.phase === 'SIGHUP' && x.outcome !== 'completed').map((x) => x.detail), [], 'no stream failed across the catalog reload');

    // The NATS node with the most clients goes away at once (SIGKILL: no lame-duck mode).
    const victim = await busiestNatsNode();
    t.comment(`killing NATS node ${victim.url} (${victim.connections} clients)`);
    victim.node.process.kill('SIGKILL');
    await sleep(1500);
    await advance('ingress restarts', LOOPS);

    for (let i = 0; i < cluster.ingresses.length; i++) {
      // Two turns longer than the grace period, on this very ingress: the stop must end them, retryably.
      const long = await Promise.all([0, 1].map(async () => {
        let streaming!: () => void;
        const started = new Promise<void>((r) => (streaming = r));
        const done = oneRequest('test/codex', { baseUrl: cluster.ingresses[i].baseUrl, long: true, onStreaming: streaming });
        await Promise.race([started, done]); // a turn that fails before streaming is judged below, not waited for
        return { done }; // wrapped: an async function returning the promise itself would wait for it
      }));
      const started = Date.now();
      const restarted = cluster.restartIngress(i);
      // Within the notice period (1 s here), while the socket still takes connections.
      let draining: { status: number; body: unknown } = { status: 0, body: null };
      await waitUntil(async () => (draining = await readyz(cluster.ingresses[i].baseUrl)).status === 503, 800, 20);
      t.match(draining, { status: 503, body: { checks: { accepting: false }, failed: [{ check: 'accepting', message: /shutting down/ }] } }, 'the stopping ingress answers /readyz 503 at once');
      await restarted;
      t.comment(`ingress ${i + 1} drained, exited and came back in ${Date.now() - started} ms`);
      t.same(await Promise.all(long.map((l) => l.done)), [0, 1].map(() => ({ outcome: 'retryable', detail: 'response.failed ingress_shutting_down' })), 'turns longer than the grace period end with a retryable failure');
      await advance('ingress restarts', LOOPS);
    }
    phase = 'worker restarts';
    // Turns longer than a worker's grace period, on the workers about to stop (the only ones now).
    // They must be streaming (taken by the old workers) before a new worker joins, or a loaded machine lets the new one take them.
    const streamingOnOld: Array<Promise<unknown>> = [];
    for (let i = 0; i < 4; i++) {
      let streaming!: () => void;
      const started = new Promise<void>((r) => (streaming = r));
      const done = oneRequest('test/codex', { long: true, onStreaming: streaming }).then((r) => void tallies.push({ phase: 'long turns across worker restarts', ...r }));
      longOnes.push(done);
      streamingOnOld.push(Promise.race([started, done]));
    }
    await Promise.all(streamingOnOld);
    for (const old of [...cluster.workers]) {
      await cluster.addWorker();
      const started = Date.now();
      await new Promise((resolve) => (old.once('exit', resolve), old.kill('SIGTERM')));
      t.comment(`a worker drained and exited in ${Date.now() - started} ms`);
      await advance('worker restarts', LOOPS);
    }
    phase = 'after';
    await advance('after', LOOPS);
  } finally {
    running = false;
    await Promise.all([...loops, ...longOnes]);
  }

  const count = (o: Outcome) => tallies.filter((x) => x.outcome === o);
  const byPhase = new Map<string, Record<string, number>>();
  for (const x of tallies) {
    const row = byPhase.get(x.phase) ?? {};
    row[x.detail] = (row[x.detail] ?? 0) + 1;
    byPhase.set(x.phase, row);
  }
  for (const [p, row] of byPhase) t.comment(`${p}: ${JSON.stringify(row)}`);
  t.comment(`${tallies.length} streams: ${count('completed').length} completed, ${count('retryable').length} retryable failures`);
  t.same(count('no_terminal').map((x) => `${x.phase}: ${x.detail}`), [], 'no stream ended without a terminal event');
  t.same(count('not_retryable').map((x) => `${x.phase}: ${x.detail}`), [], 'no failure a client could not retry');
  t.ok(count('completed').length >= 8 * LOOPS, 'the load kept completing streams');
  t.ok(tallies.some((x) => x.detail === 'response.failed worker_shutting_down'), 'a stopping worker ended the turns it could not finish, retryably');
});

async function readyz(baseUrl: string): Promise<{ status: number; body: unknown }> {
  try {
    const res = await fetch(`${baseUrl}/readyz`);
    return { status: res.status, body: await res.json() };
  } catch (err) {
    return { status: 0, body: (err as Error).message };
  }
}

async function listModels(baseUrl: string): Promise<string[]> {
  try {
    const res = await fetch(`${baseUrl}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    return ((await res.json()) as { data: Array<{ id: string }> }).data.map((m) => m.id);
  } catch {
    return [];
  }
}

/** The catalog file's text with more models (the same mock deployments as at start). */
function catalogWith(mockUrl: string, extra: MockModel[]): string {
  return readFileSync(mockCatalog(mockUrl, models(mockUrl, extra)), 'utf8');
}

async function busiestNatsNode(): Promise<{ node: Cluster['natsNodes'][number]; url: string; connections: number }> {
  const counts = await Promise.all(cluster.natsNodes.map(async (node) => {
    const varz = (await (await fetch(`${node.monitorUrl}/varz`)).json()) as { connections: number };
    return { node, url: node.url, connections: varz.connections };
  }));
  return counts.sort((a, b) => b.connections - a.connections)[0];
}
