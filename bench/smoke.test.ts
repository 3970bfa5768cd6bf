// CI smoke test of the bench harness (benchmarks are not tests): the whole pipeline end to end with
// tiny parameters (a handful of streams, RouterHub + direct, every provider family, a few cached
// conversations with and without affinity, no peer),
// asserting that it wrote a result file with sane numbers. The numbers themselves are not judged.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { BenchResults } from './report';

t.test('bench --smoke runs RouterHub and direct end to end and writes its results', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'rh-bench-'));
  const run = spawnSync(process.execPath, [join(__dirname, 'run.js'), '--smoke', '--only', 'throughput,overhead,fleet,families,affinity', '--out', out], { encoding: 'utf8', timeout: 120_000 });
  t.equal(run.status, 0, `bench exited 0\n${run.stdout}\n${run.stderr}`);
  for (const ext of ['json', 'md', 'svg']) t.ok(existsSync(join(out, `smoke.${ext}`)), `smoke.${ext} written`);
  const r = JSON.parse(readFileSync(join(out, 'smoke.json'), 'utf8')) as BenchResults;
  const all = [...r.throughput.flatMap((row) => row.measurements), ...r.overhead, ...r.fleet.flatMap((f) => [f.direct, f.measurement]), ...r.families.flatMap((f) => [...f.throughput, ...f.overhead])];
  t.same([...new Set(all.map((m) => m.target))].sort(), ['direct', 'routerhub']);
  for (const m of all) {
    t.ok(m.load.requests > 0, `${m.target}: requests made`);
    t.equal(m.load.completed, m.load.requests, `${m.target}: every stream ended in response.completed with all its tokens`);
    t.ok(m.load.tokens > 0 && m.load.tokensPerSec > 0, `${m.target}: tokens delivered`);
    t.ok(m.load.ttftMs.p50 > 0, `${m.target}: time to first token measured`);
  }
  t.equal(r.fleet.length, 1, 'the fleet scenario ran');
  t.same(r.families.map((f) => f.family).sort(), ['anthropic', 'gemini', 'openai-chat', 'openai-responses'], 'every provider family was measured, direct in its own wire format and through RouterHub');
  t.match(readFileSync(join(out, 'smoke.md'), 'utf8'), /RouterHub \/ direct/);

  const a = r.affinity!;
  t.same(a.rows.map((row) => row.routing), ['one deployment', 'affinity', 'random'], 'the affinity scenario ran its three routings');
  for (const row of a.rows) {
    t.equal(row.completed, a.plan.conversations * a.plan.turns, `${row.routing}: every turn completed`);
    t.ok(row.cachedShare > 0 && row.cachedShare <= 1 && row.inputCostUsd > 0, `${row.routing}: a cached share and a cost from the responses' usage`);
  }
  const [one, affinity, random] = a.rows;
  t.equal(affinity.conversationsOnOneDeployment, a.plan.conversations, 'with affinity every conversation stayed on one deployment');
  t.ok(affinity.cachedShare >= random.cachedShare, `cached share: one ${one.cachedShare}, affinity ${affinity.cachedShare}, random ${random.cachedShare}`);
  t.match(readFileSync(join(out, 'smoke.md'), 'utf8'), /Prompt-cache share/);
});
