// The affinity scenario (issue 12): how much of a multi-turn Codex workload's input the providers'
// prompt caches serve, with conversation affinity and without. Its own cluster (two ingresses) in
// front of the mock upstream with `prefixCache` (each deployment caches only prefixes it saw, the
// tests' own simulation), and three models over separate deployments: one deployment (the ceiling),
// three with affinity (the default), three with `"affinity": false` (weighted random per request).
import { randomUUID } from 'node:crypto';
import type { MockUpstream } from '../libs/providers/mock/server';
import { codexRequest } from '../libs/providers/replay';
import type { Pricing } from '../libs/routing/catalog';
import { costMicroUsd } from '../libs/store/usage';
import { postResponses, startTestCluster, type MockModel } from '../libs/testing/cluster';
import type { Mode } from './scenarios';

/** `conversations` Codex sessions of `turns` requests each, `concurrency` of them at a time. */
export interface AffinityPlan { conversations: number; turns: number; concurrency: number }

export function affinityPlan(mode: Mode): AffinityPlan {
  switch (mode) {
    case 'smoke': return { conversations: 6, turns: 3, concurrency: 6 };
    case 'quick': return { conversations: 30, turns: 8, concurrency: 30 };
    case 'full': return { conversations: 120, turns: 12, concurrency: 40 };
  }
}

export type AffinityRouting = 'one deployment' | 'affinity' | 'random';

export interface AffinityRow {
  routing: AffinityRouting;
  deployments: number;
  requests: number;
  completed: number;
  inputTokens: number;
  cachedTokens: number;
  /** cachedTokens / inputTokens, from the responses' usage. */
  cachedShare: number;
  /** The input at the catalog's prices (cached input at `cached_input`). */
  inputCostUsd: number;
  /** Conversations whose requests all reached one deployment. */
  conversationsOnOneDeployment: number;
  deploymentsUsed: number;
  /** The first few failed turns (status and body): a conversation stops at its first failure. */
  errors: string[];
}

export interface AffinityResults { plan: AffinityPlan; pricing: Pricing; rows: AffinityRow[] }

/** GPT-5-class prices (USD per million tokens): cached input at a tenth. */
const PRICING: Pricing = { input: 1.25, cached_input: 0.125, output: 10 };
const RESPONSES = 'openai-responses';
const CODEX = codexRequest();

const MODELS: Array<{ routing: AffinityRouting; id: string; deployments: string[]; affinity?: boolean }> = [
  { routing: 'one deployment', id: 'bench/cache-one', deployments: ['one-1'] },
  { routing: 'affinity', id: 'bench/cache-affinity', deployments: ['aff-1', 'aff-2', 'aff-3'] },
  { routing: 'random', id: 'bench/cache-random', deployments: ['rand-1', 'rand-2', 'rand-3'], affinity: false },
];

/** A Codex tool output of a few KB, different per conversation and step (a file Codex read). */
function toolOutput(conversation: number, step: number): string {
  const lines = Array.from({ length: 60 }, (_, i) => `${i + 1}\texport function step${step}_${i}(input: Task${conversation}): Result { return run(input, ${i}); }`);
  return `Chunk ID: c${conversation}s${step}\nWall time: 0.01 seconds\nProcess exited with code 0\nOutput:\n${lines.join('\n')}`;
}

export async function runAffinity(plan: AffinityPlan, opts: { workers: number; stdio: 'inherit' | 'ignore' }): Promise<AffinityResults> {
  const models: MockModel[] = MODELS.map((m) => ({
    id: m.id, pricing: PRICING, ...(m.affinity === false ? { affinity: false } : {}),
    deployments: m.deployments.map((d) => ({ provider: RESPONSES, id: d, model: d, priority: 0 })),
  }));
  // Every answer says a line and reads a file: the next request carries both and the tool's output.
  // Deployment health on, as an operator runs it (the test helper turns it off by default).
  const tc = await startTestCluster(() => models, { workers: opts.workers, ingresses: 2, stdio: opts.stdio, env: { ROUTERHUB_DEPLOYMENT_HEALTH: 'on' } }, {
    prefixCache: true,
    defaultTurn: () => ({ parts: [{ type: 'text', text: 'Reading the next file.' }, { type: 'function_call', name: 'exec_command', arguments: JSON.stringify({ cmd: 'sed -n 1,60p src/next.ts' }) }] }),
  });
  try {
    const ingresses = tc.cluster.ingresses.map((i) => i.baseUrl);
    const rows: AffinityRow[] = [];
    for (const m of MODELS) {
      console.log(`[bench] affinity: ${plan.conversations} conversations × ${plan.turns} turns on ${m.id} (${m.routing})`);
      rows.push(await workload(tc.mock, ingresses, tc.key, m.id, m.routing, m.deployments.length, plan));
      const r = rows.at(-1)!;
      console.log(`[bench]   ${r.completed}/${r.requests} ok, cached share ${(100 * r.cachedShare).toFixed(1)}%, input cost $${r.inputCostUsd.toFixed(4)}${r.errors.length ? `, errors: ${r.errors.join(' | ')}` : ''}`);
    }
    return { plan, pricing: PRICING, rows };
  } finally {
    await tc.stop();
  }
}

async function workload(mock: MockUpstream, ingresses: string[], key: string, model: string, routing: AffinityRouting, deployments: number, plan: AffinityPlan): Promise<AffinityRow> {
  // The mock keeps every request's body: take each one's conversation and deployment, and let the bodies go.
  mock.requests.length = 0;
  const homes = new Map<string, Set<string>>();
  const drain = () => {
    for (const r of mock.requests.splice(0)) {
      const k = String(r.body.prompt_cache_key);
      homes.set(k, (homes.get(k) ?? new Set()).add(r.model!));
    }
  };
  const row: AffinityRow = { routing, deployments, requests: 0, completed: 0, inputTokens: 0, cachedTokens: 0, cachedShare: 0, inputCostUsd: 0, conversationsOnOneDeployment: 0, deploymentsUsed: 0, errors: [] };
  let costMicro = 0;
  const conversation = async (c: number) => {
    const cacheKey = randomUUID();
    // Turn 1 is the captured Codex request with a task of its own.
    const turn1 = CODEX.input as unknown[];
    const input = turn1.map((item, i) => (i === turn1.length - 1 ? { type: 'message', role: 'user', content: [{ type: 'input_text', text: `Task ${c}: find why the build of module ${c} fails and fix it.` }] } : item));
    for (let step = 0; step < plan.turns; step++) {
      row.requests++;
      // Turns alternate ingresses: affinity must hold with no state shared between them.
      const r = await postResponses(ingresses[step % 2], key, { ...CODEX, model, stream: true, prompt_cache_key: cacheKey, input });
      drain();
      const done = r.events.at(-1)?.data;
      if (r.status !== 200 || done?.type !== 'response.completed') {
        if (row.errors.length < 3) row.errors.push(`HTTP ${r.status}: ${(done ? JSON.stringify(done).slice(0, 300) : r.raw.slice(0, 300))}`);
        return;
      }
      const { output, usage } = done.response as { output: Array<{ type: string; call_id?: string }>; usage: { input_tokens: number; input_tokens_details: { cached_tokens: number } } };
      row.completed++;
      row.inputTokens += usage.input_tokens;
      row.cachedTokens += usage.input_tokens_details.cached_tokens;
      costMicro += costMicroUsd({ ...usage, output_tokens: 0, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: usage.input_tokens }, PRICING);
      input.push(...output);
      for (const call of output.filter((o) => o.type === 'function_call')) input.push({ type: 'function_call_output', call_id: call.call_id, output: toolOutput(c, step) });
    }
  };
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(plan.concurrency, plan.conversations) }, async () => {
    while (next < plan.conversations) await conversation(next++);
  }));
  row.cachedShare = row.inputTokens > 0 ? row.cachedTokens / row.inputTokens : 0;
  row.inputCostUsd = costMicro / 1e6;
  row.conversationsOnOneDeployment = [...homes.values()].filter((s) => s.size === 1).length;
  row.deploymentsUsed = new Set([...homes.values()].flatMap((s) => [...s])).size;
  return row;
}

/** The report's section (bench/report.ts). */
export function affinityMarkdown(a: AffinityResults): string[] {
  const one = a.rows.find((r) => r.routing === 'one deployment');
  const L = ['## Prompt-cache share: conversation affinity', ''];
  L.push(`${a.plan.conversations} Codex conversations × ${a.plan.turns} turns (the captured ~40 KB Codex request as turn 1, then each turn adds the answer, a tool call and its ~5 KB output), ${a.plan.concurrency} at a time, turns alternating between two ingresses; a mock upstream whose deployments each cache only the prompt prefixes they saw. Input priced at $${a.pricing.input} per million tokens, cached input at $${a.pricing.cached_input}.`, '');
  L.push('| routing | deployments | ok | input tokens | cached tokens | cached share | share of one deployment\'s | input cost USD | conversations on one deployment | deployments used |');
  L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of a.rows) {
    const ofOne = one && one.cachedShare > 0 ? `${((100 * r.cachedShare) / one.cachedShare).toFixed(0)}%` : '–';
    L.push(`| ${r.routing} | ${r.deployments} | ${r.completed}/${r.requests} | ${r.inputTokens} | ${r.cachedTokens} | ${(100 * r.cachedShare).toFixed(1)}% | ${ofOne} | ${r.inputCostUsd.toFixed(4)} | ${r.conversationsOnOneDeployment}/${a.plan.conversations} | ${r.deploymentsUsed} |`);
  }
  L.push('');
  for (const r of a.rows.filter((row) => row.errors.length)) L.push(`Failed turns (${r.routing}): ${r.errors.join(' | ')}`, '');
  return L;
}
