// CI smoke test of the bench harness (benchmarks are not tests): the whole pipeline end to end with
// tiny parameters (a handful of streams, RouterHub + direct, every provider family, a few cached
// conversations with and without affinity, no peer),
// asserting that it wrote a result file with sane numbers. The numbers themselves are not judged.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { tempDir } from '../libs/testing/temp';
import type { BenchResults } from './report';

t.test('bench --smoke runs RouterHub, direct and the bare relays end to end and writes its results', async (t) => {
  const out = tempDir('rh-bench-');
  const run = spawnSync(process.execPath, [join(__dirname, 'run.js'), '--smoke', '--only', 'throughput,overhead,curve,fleet,families,affinity', '--out', out], { encoding: 'utf8', timeout: 180_000 });
  t.equal(run.status, 0, `bench exited 0\n${run.stdout}\n${run.stderr}`);
  for (const ext of ['json', 'md', 'svg']) t.ok(existsSync(join(out, `smoke.${ext}`)), `smoke.${ext} written`);
  const r = JSON.parse(readFileSync(join(out, 'smoke.json'), 'utf8')) as BenchResults;
  const all = [...r.throughput.flatMap((row) => row.measurements), ...r.overhead, ...r.curve.map((p) => p.measurement), ...r.fleet.flatMap((f) => [f.direct, f.measurement]), ...r.families.flatMap((f) => [...f.throughput, ...f.overhead])];
  t.same([...new Set(all.map((m) => m.target))].sort(), ['direct', 'relay', 'relay-nats', 'routerhub']);
  for (const m of all) {
    t.ok(m.load.requests > 0, `${m.target}: requests made`);
    t.equal(m.load.completed, m.load.requests, `${m.target}: every stream ended in response.completed with all its tokens`);
    t.ok(m.load.tokens > 0 && m.load.tokensPerSec > 0, `${m.target}: tokens delivered`);
    t.ok(m.load.ttftMs.p50 > 0, `${m.target}: time to first token measured`);
  }
  t.equal(r.fleet.length, 1, 'the fleet scenario ran');
  for (const name of ['ingress', 'worker0']) t.ok(r.fleet[0].measurement.procs[name].rssHeldMiB! > 0, `${name}: its RSS read while every fleet stream was open`);
  t.type(r.summary!.worker_kib_per_stream_held, 'number', 'memory per held stream in the summary, beside the peak');
  const floor = r.fleet[0].relayNats;
  t.equal(floor?.load.completed, r.fleet[0].streams, 'the bare relay held the same streams, as the floor of memory per held stream');
  t.ok(floor?.procs['relay-back'].rssHeldMiB! > 0, 'its RSS read while its streams were open');
  t.same(r.families.map((f) => f.family).sort(), ['anthropic', 'gemini', 'openai-chat', 'openai-responses'], 'every provider family was measured, direct in its own wire format and through RouterHub');
  t.same(r.curve.map((p) => p.size), ['40k', '400k', '1600k'], 'the body-size curve ran at every size');
  for (const p of r.curve) t.ok(p.floorUs > 0 && p.bytes >= 0.9 * { '40k': 37_000, '400k': 400_000, '1600k': 1_600_000 }[p.size], `${p.size}: a body of its size, and its floor measured`);
  // The keys scripts read: present whatever the run measured (null where it did not).
  t.same(Object.keys(r.summary ?? {}).sort(), ['added_ttft_p50_ms', 'added_ttft_p99_ms', 'cpu_us_per_request', 'fleet_10k_completed', 'fleet_5k_completed_ratio', 'fleet_ramp_ttft_p50_ratio', 'floor_us_per_request', 'hop_floor_ms', 'ingress_kib_per_stream', 'ingress_kib_per_stream_held', 'overhead_cpu_us_per_request', 'relay_added_ttft_p50_ms', 'relay_cpu_us_per_request', 'relay_nats_added_ttft_p50_ms', 'relay_nats_back_kib_per_stream_held', 'relay_nats_cpu_us_per_request', 'relay_nats_front_kib_per_stream_held', 'throughput_256_vs_direct', 'throughput_256_vs_peer', 'worker_kib_per_stream', 'worker_kib_per_stream_held']);
  t.same(Object.keys(r.summary!.cpu_us_per_request).sort(), ['1600k', '400k', '40k']);
  for (const size of ['40k', '400k', '1600k'] as const) t.ok(typeof r.summary!.cpu_us_per_request[size] === 'number' && r.summary!.floor_us_per_request[size]! > 0, `${size}: CPU per request and floor in the summary`);
  // /proc counts CPU in 10 ms ticks: only the 1.6 MB requests are sure to cost ticks in a smoke run.
  t.ok(r.summary!.cpu_us_per_request['1600k']! > 0, 'CPU per 1.6 MB request measured');
  t.ok(r.summary!.hop_floor_ms! > 0, 'the hop floor was measured');
  t.type(r.summary!.added_ttft_p50_ms, 'number');
  // A smoke run's 40 KB requests may cost fewer than one 10 ms tick in all: a figure, not necessarily above 0.
  for (const key of ['relay_cpu_us_per_request', 'relay_nats_cpu_us_per_request', 'overhead_cpu_us_per_request'] as const) t.type(r.summary![key], 'number', `${key}: both bare relays were measured beside RouterHub`);
  const md = readFileSync(join(out, 'smoke.md'), 'utf8');
  t.match(md, /RouterHub \/ direct/);
  t.match(md, /cpu_us_per_request/, 'the Markdown report shows the summary with its targets');

  const a = r.affinity!;
  t.same(a.rows.map((row) => row.routing), ['one deployment', 'affinity', 'random'], 'the affinity scenario ran its three routings');
  for (const row of a.rows) {
    t.equal(row.completed, a.plan.conversations * a.plan.turns, `${row.routing}: every turn completed`);
    t.ok(row.cachedShare > 0 && row.cachedShare <= 1 && row.inputCostUsd > 0, `${row.routing}: a cached share and a cost from the responses' usage`);
  }
  const [one, affinity, random] = a.rows;
  t.equal(affinity.conversationsOnOneDeployment, a.plan.conversations, 'with affinity every conversation stayed on one deployment');
  t.ok(affinity.cachedShare >= random.cachedShare, `cached share: one ${one.cachedShare}, affinity ${affinity.cachedShare}, random ${random.cachedShare}`);
  t.match(md, /Prompt-cache share/);
});
