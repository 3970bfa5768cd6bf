// Results → a Markdown table and a hand-written SVG bar chart. Ratios are always of measurements
// taken in the same run.
import { affinityMarkdown, type AffinityResults } from './affinity';
import { BODY_SIZES, type BodySize, type CurvePoint, type HopFloor } from './curve';
import type { ProcUsage } from './procs';
import type { FleetRow, Measurement, Plan } from './scenarios';
import type { TargetName } from './targets';

export interface BenchResults {
  name: string;
  mode: string;
  startedAt: string;
  durationSec: number;
  machine: { cpus: number; node: string; pinning: { gateway: string; harness: string }; fdLimit: string };
  plan: Plan;
  workers: number;
  throughput: Array<{ concurrency: number; measurements: Measurement[] }>;
  overhead: Measurement[];
  /**
   * `measurement` is RouterHub's; `direct` the same load straight at the upstream; `relayNats` the
   * bare two-process relay under the same load, in the row the memory figures come from (`heldRow`).
   */
  fleet: Array<FleetRow & { measurement: Measurement; direct: Measurement; relayNats?: Measurement }>;
  /** Per provider family behind RouterHub: [direct, RouterHub] for each. */
  families: Array<{ family: string; throughput: Measurement[]; overhead: Measurement[] }>;
  scaling: Array<{ workers: number; measurement: Measurement }>;
  peer: { name: string; version: string; status: 'ok' | 'failed' | 'skipped'; reason: string };
  /** The prompt-cache share with and without conversation affinity (bench/affinity.ts). */
  affinity?: AffinityResults;
  /** CPU per request by body size, each beside its parse + stringify floor. */
  curve: CurvePoint[];
  hopFloor: HopFloor | null;
  summary?: Summary;
}

type BySize = Record<BodySize, number | null>;

/** The issue-14 figures under stable keys, for scripts; null where this run did not measure it. */
export interface Summary {
  cpu_us_per_request: BySize;
  floor_us_per_request: BySize;
  added_ttft_p50_ms: number | null;
  added_ttft_p99_ms: number | null;
  hop_floor_ms: number | null;
  /** The overhead scenario (50 req/s, 40 KB): RouterHub's CPU per request, and the bare relay's beside it. */
  overhead_cpu_us_per_request: number | null;
  relay_cpu_us_per_request: number | null;
  relay_added_ttft_p50_ms: number | null;
  /** The same relay split in two processes over NATS, as RouterHub's ingress and worker are. */
  relay_nats_cpu_us_per_request: number | null;
  relay_nats_added_ttft_p50_ms: number | null;
  fleet_5k_completed_ratio: number | null;
  fleet_ramp_ttft_p50_ratio: number | null;
  fleet_10k_completed: number | null;
  /** (peak RSS − RSS before) / streams, the peak over the whole row: what an operator provisions. */
  ingress_kib_per_stream: number | null;
  worker_kib_per_stream: number | null;
  /**
   * (RSS while every stream is open − RSS before) / streams: what the streams hold. The peak comes
   * later, as the streams end: their state is garbage the heap grows around until a full GC.
   */
  ingress_kib_per_stream_held: number | null;
  worker_kib_per_stream_held: number | null;
  /** The floor of those two: the bare two-process relay's front and back holding the same streams. */
  relay_nats_front_kib_per_stream_held: number | null;
  relay_nats_back_kib_per_stream_held: number | null;
  throughput_256_vs_direct: number | null;
  throughput_256_vs_peer: number | null;
}

/** The target of each summary figure, as the issue states it (`max`: at most, `min`: at least). */
const TARGETS: Array<{ key: keyof Summary; size?: BodySize; what: string; target: string; met: (s: Summary) => boolean | null }> = [
  { key: 'cpu_us_per_request', size: '40k', what: 'gateway CPU per Codex request, 40 KB (µs)', target: '≤ 1400', met: (s) => at(s.cpu_us_per_request['40k'], (v) => v <= 1400) },
  { key: 'cpu_us_per_request', size: '400k', what: 'CPU per request / floor, 400 KB', target: '≤ 3×', met: (s) => overFloor(s, '400k') },
  { key: 'cpu_us_per_request', size: '1600k', what: 'CPU per request / floor, 1.6 MB', target: '≤ 3×', met: (s) => overFloor(s, '1600k') },
  { key: 'added_ttft_p50_ms', what: 'added TTFT p50, 50 req/s, 40 KB (ms)', target: '≤ 1.5', met: (s) => at(s.added_ttft_p50_ms, (v) => v <= 1.5) },
  { key: 'added_ttft_p99_ms', what: 'added TTFT p99 (ms)', target: '≤ 5', met: (s) => at(s.added_ttft_p99_ms, (v) => v <= 5) },
  { key: 'hop_floor_ms', what: 'hop floor: idle loopback round trip × hops added (ms)', target: 'reference', met: () => null },
  { key: 'overhead_cpu_us_per_request', what: 'gateway CPU per 40 KB request at 50 req/s, overhead scenario (µs)', target: '≤ 1400', met: (s) => at(s.overhead_cpu_us_per_request, (v) => v <= 1400) },
  { key: 'relay_cpu_us_per_request', what: 'floor: CPU per request of a bare uWS + undici relay, one process, same load (µs)', target: 'reference', met: () => null },
  { key: 'relay_added_ttft_p50_ms', what: 'floor: that relay\'s added TTFT p50 (ms)', target: 'reference', met: () => null },
  { key: 'relay_nats_cpu_us_per_request', what: 'floor: the same relay as two processes over NATS, as RouterHub is (µs)', target: 'reference', met: () => null },
  { key: 'relay_nats_added_ttft_p50_ms', what: 'floor: its added TTFT p50 (ms)', target: 'reference', met: () => null },
  { key: 'fleet_5k_completed_ratio', what: 'fleet 5k × 30 tok/s: completed vs direct', target: '≥ 0.99', met: (s) => at(s.fleet_5k_completed_ratio, (v) => v >= 0.99) },
  { key: 'fleet_ramp_ttft_p50_ratio', what: 'fleet 5k ramp: TTFT p50 vs direct', target: '≤ 2×', met: (s) => at(s.fleet_ramp_ttft_p50_ratio, (v) => v <= 2) },
  { key: 'fleet_10k_completed', what: 'fleet 10k × 3 tok/s: completed', target: '10000', met: (s) => at(s.fleet_10k_completed, (v) => v >= 10_000) },
  { key: 'ingress_kib_per_stream', what: 'ingress KiB per held stream', target: '≤ 30', met: (s) => at(s.ingress_kib_per_stream, (v) => v <= 30) },
  { key: 'worker_kib_per_stream', what: 'workers KiB per held stream', target: '≤ 30', met: (s) => at(s.worker_kib_per_stream, (v) => v <= 30) },
  { key: 'ingress_kib_per_stream_held', what: 'the same, ingress, from the RSS while every stream is open instead of the peak', target: 'reference', met: () => null },
  { key: 'worker_kib_per_stream_held', what: 'the same, workers, while every stream is open', target: 'reference', met: () => null },
  { key: 'relay_nats_front_kib_per_stream_held', what: 'floor: the bare two-process relay\'s front (as the ingress), same streams, while open', target: 'reference', met: () => null },
  { key: 'relay_nats_back_kib_per_stream_held', what: 'floor: its back (as a worker), same streams, while open', target: 'reference', met: () => null },
  { key: 'throughput_256_vs_direct', what: 'throughput at 256 streams vs direct', target: '≥ 1.0', met: (s) => at(s.throughput_256_vs_direct, (v) => v >= 1) },
  { key: 'throughput_256_vs_peer', what: 'throughput at 256 streams vs peer', target: '≥ 3×', met: (s) => at(s.throughput_256_vs_peer, (v) => v >= 3) },
];

const at = (v: number | null, ok: (v: number) => boolean) => (v === null ? null : ok(v));
const overFloor = (s: Summary, size: BodySize) => {
  const cpu = s.cpu_us_per_request[size], floor = s.floor_us_per_request[size];
  return cpu === null || floor === null ? null : cpu <= 3 * floor;
};
const round = (v: number, digits = 2) => Number(v.toFixed(digits));

const of = (ms: Measurement[], t: TargetName) => ms.find((m) => m.target === t);
const k = (n: number) => (n >= 10_000 ? `${(n / 1000).toFixed(0)}k` : n >= 1000 ? `${(n / 1000).toFixed(1)}k` : n.toFixed(0));
const pct = (a: number, b: number) => (b > 0 ? `${((100 * a) / b).toFixed(0)}%` : 'n/a');
const ms = (n: number) => n.toFixed(2);
const ok = (m: Measurement | undefined) => (m ? `${m.load.completed}/${m.load.requests}` : '–');
/** `held` is NaN when the run did not read the RSS while the streams were held. */
const sumProcs = (p: Record<string, ProcUsage>, prefix: string) =>
  Object.entries(p).filter(([n]) => n.startsWith(prefix)).reduce((a, [, u]) => ({ cpu: a.cpu + u.cpuPercent, rss: a.rss + u.rssPeakMiB, rss0: a.rss0 + u.rssStartMiB, held: a.held + (u.rssHeldMiB ?? NaN) }), { cpu: 0, rss: 0, rss0: 0, held: 0 });
/** KiB per stream above the RSS before the row, from `rss` (the peak or the held reading). */
const perStreamKib = (rss: number, rss0: number, streams: number) => (1024 * (rss - rss0)) / streams;

/** The fleet row the memory per held stream is read from: the one holding the most streams (the last such in a full run: 10k × 3 tok/s). */
export function heldRow<T extends FleetRow>(rows: T[]): T | undefined {
  return [...rows].sort((a, b) => a.streams - b.streams).at(-1);
}

/** The summary of `r`, from what its scenarios measured. */
export function summarize(r: BenchResults): Summary {
  const bySize = (f: (p: CurvePoint) => number): BySize => {
    const out = {} as BySize;
    for (const size of Object.keys(BODY_SIZES) as BodySize[]) {
      const p = r.curve.find((c) => c.size === size);
      out[size] = p ? round(f(p), 0) : null;
    }
    return out;
  };
  const d = of(r.overhead, 'direct'), h = of(r.overhead, 'routerhub'), relay = of(r.overhead, 'relay'), relayNats = of(r.overhead, 'relay-nats');
  const fleet5k = r.fleet.find((f) => f.streams === 5000 && f.profile.rate === 30);
  const fleet10k = r.fleet.find((f) => f.streams === 10_000 && f.profile.rate === 3);
  const held = heldRow(r.fleet);
  const perStream = (prefix: string, which: 'rss' | 'held', m = held?.measurement) => {
    if (!held || !m) return null;
    const u = sumProcs(m.procs, prefix);
    const v = perStreamKib(u[which], u.rss0, held.streams);
    return Number.isNaN(v) ? null : round(v, 1);
  };
  const row256 = r.throughput.find((t) => t.concurrency === 256);
  const tps = (t: TargetName) => (row256 ? of(row256.measurements, t)?.load.tokensPerSec ?? null : null);
  const ratio = (a: number | null, b: number | null) => (a === null || b === null || b <= 0 ? null : round(a / b));
  return {
    cpu_us_per_request: bySize((p) => totalCpuPerRequest(p.measurement)),
    floor_us_per_request: bySize((p) => p.floorUs),
    added_ttft_p50_ms: d && h ? round(h.load.ttftMs.p50 - d.load.ttftMs.p50) : null,
    added_ttft_p99_ms: d && h ? round(h.load.ttftMs.p99 - d.load.ttftMs.p99) : null,
    hop_floor_ms: r.hopFloor ? round(r.hopFloor.floorMs) : null,
    overhead_cpu_us_per_request: h ? round(totalCpuPerRequest(h), 0) : null,
    relay_cpu_us_per_request: relay ? round(totalCpuPerRequest(relay), 0) : null,
    relay_added_ttft_p50_ms: d && relay ? round(relay.load.ttftMs.p50 - d.load.ttftMs.p50) : null,
    relay_nats_cpu_us_per_request: relayNats ? round(totalCpuPerRequest(relayNats), 0) : null,
    relay_nats_added_ttft_p50_ms: d && relayNats ? round(relayNats.load.ttftMs.p50 - d.load.ttftMs.p50) : null,
    fleet_5k_completed_ratio: fleet5k ? ratio(fleet5k.measurement.load.completed, fleet5k.direct.load.completed) : null,
    fleet_ramp_ttft_p50_ratio: fleet5k?.measurement.load.ttftMs.n && fleet5k.direct.load.ttftMs.n ? ratio(fleet5k.measurement.load.ttftMs.p50, fleet5k.direct.load.ttftMs.p50) : null,
    fleet_10k_completed: fleet10k ? fleet10k.measurement.load.completed : null,
    ingress_kib_per_stream: perStream('ingress', 'rss'),
    worker_kib_per_stream: perStream('worker', 'rss'),
    ingress_kib_per_stream_held: perStream('ingress', 'held'),
    worker_kib_per_stream_held: perStream('worker', 'held'),
    relay_nats_front_kib_per_stream_held: perStream('relay-front', 'held', held?.relayNats),
    relay_nats_back_kib_per_stream_held: perStream('relay-back', 'held', held?.relayNats),
    throughput_256_vs_direct: ratio(tps('routerhub'), tps('direct')),
    throughput_256_vs_peer: ratio(tps('routerhub'), tps('peer')),
  };
}

/** The summary as a Markdown table, each figure beside its target (also the README's table). */
export function summaryTable(s: Summary): string[] {
  const L = ['| figure | summary key | target | measured | met? |', '|---|---|---:|---:|---|'];
  for (const t of TARGETS) {
    let value: string;
    if (t.size) {
      const size = t.size;
      const cpu = s.cpu_us_per_request[size], floor = s.floor_us_per_request[size];
      value = cpu === null ? 'not measured' : size === '40k' ? `${cpu}` : floor ? `${(cpu / floor).toFixed(1)}× (${cpu} / ${floor} µs)` : `${cpu} µs`;
    } else {
      const v = s[t.key] as number | null;
      value = v === null ? 'not measured' : String(v);
    }
    const met = t.met(s);
    L.push(`| ${t.what} | \`${t.key}\` | ${t.target} | ${value} | ${met === null ? '–' : met ? 'yes' : 'no'} |`);
  }
  return L;
}

export function markdown(r: BenchResults): string {
  const L: string[] = [];
  L.push(`# RouterHub bench: ${r.name} (${r.mode})`, '');
  L.push(`${r.startedAt}, ${r.durationSec.toFixed(0)} s, ${r.machine.cpus} CPUs, Node ${r.machine.node}, open-file limit ${r.machine.fdLimit}.`);
  L.push(r.machine.pinning.gateway
    ? `Pinning: gateway under test (RouterHub ingress + ${r.workers} workers + NATS + Redis, or the peer) on CPU ${r.machine.pinning.gateway}; load generator + bench upstream on CPU ${r.machine.pinning.harness}.`
    : 'No CPU pinning (taskset missing or one CPU).', '');

  const summary = r.summary ?? summarize(r);
  L.push('## Summary: the issue-14 targets', '');
  L.push('The `summary` object of the JSON results, each figure beside its target; "not measured": this run did not include that scenario (the 5k and 10k fleet rows and the peer run only in a full run).', '');
  L.push(...summaryTable(summary), '');
  if (r.hopFloor) {
    const f = r.hopFloor;
    L.push(`Hop floor: an idle loopback round trip between two processes on the gateway's CPU, ${f.intervalMs} ms apart, p50 ${f.roundTripP50Ms.toFixed(3)} ms over ${f.samples} samples, × ${f.hops} round trips RouterHub adds (client → ingress → NATS → worker → upstream, where direct is client → upstream) = ${f.floorMs.toFixed(2)} ms.`, '');
  }

  if (r.throughput.length) {
    const p = r.plan.throughput.profile;
    L.push('## Throughput (upstream as fast as possible)', '');
    L.push(`Closed loop, ${r.plan.throughput.durationMs / 1000} s per cell; each stream ${p.tokens} tokens as ${p.tokensPerEvent}-token deltas, ${p.eventsPerWrite} events per upstream write.`, '');
    L.push('| streams | direct tok/s | RouterHub tok/s | RouterHub / direct | peer tok/s | RouterHub / peer | RouterHub TTFT p50 / p99 ms | ok (direct, RH, peer) |');
    L.push('|---:|---:|---:|---:|---:|---:|---:|---|');
    for (const row of r.throughput) {
      const d = of(row.measurements, 'direct'), h = of(row.measurements, 'routerhub'), pe = of(row.measurements, 'peer');
      L.push(`| ${row.concurrency} | ${k(d?.load.tokensPerSec ?? 0)} | ${k(h?.load.tokensPerSec ?? 0)} | ${pct(h?.load.tokensPerSec ?? 0, d?.load.tokensPerSec ?? 0)} | ${pe ? k(pe.load.tokensPerSec) : '–'} | ${pe && pe.load.tokensPerSec > 0 ? `${((h?.load.tokensPerSec ?? 0) / pe.load.tokensPerSec).toFixed(1)}×` : '–'} | ${h ? `${ms(h.load.ttftMs.p50)} / ${ms(h.load.ttftMs.p99)}` : '–'} | ${ok(d)}, ${ok(h)}, ${ok(pe)} |`);
    }
    L.push('');
  }
  if (r.overhead.length) {
    const d = of(r.overhead, 'direct');
    L.push('## Overhead: time to first token at a moderate rate', '');
    L.push(`Open loop, ${r.plan.overhead.rate} requests/s for ${r.plan.overhead.durationMs / 1000} s, ${r.plan.overhead.profile.tokens}-token answers, ~40 KB Codex request bodies. "Added" = target minus direct, same percentile, same run.`, '');
    L.push('| target | TTFB p50 ms | TTFT p50 ms | TTFT p99 ms | added TTFT p50 ms | added TTFT p99 ms | ok |');
    L.push('|---|---:|---:|---:|---:|---:|---|');
    for (const m of r.overhead) {
      const a50 = d ? m.load.ttftMs.p50 - d.load.ttftMs.p50 : 0, a99 = d ? m.load.ttftMs.p99 - d.load.ttftMs.p99 : 0;
      L.push(`| ${m.target} | ${ms(m.load.ttfbMs.p50)} | ${ms(m.load.ttftMs.p50)} | ${ms(m.load.ttftMs.p99)} | ${m.target === 'direct' ? '–' : ms(a50)} | ${m.target === 'direct' ? '–' : ms(a99)} | ${ok(m)} |`);
    }
    L.push('');
    const costs = r.overhead.filter((m) => m.idle);
    if (costs.length) {
      L.push('CPU per request in the same runs: each process\'s CPU time over the run, minus its rate at rest (measured just before) times the run\'s length, divided by the requests. "Requests/s per core" is what one core could admit at that cost.', '');
      L.push('| target | CPU µs per request, by process | total µs | requests/s per core |');
      L.push('|---|---|---:|---:|');
      for (const m of costs) {
        const per = cpuPerRequest(m);
        const total = Object.values(per).reduce((a, b) => a + b, 0);
        L.push(`| ${m.target} | ${Object.entries(per).map(([n, us]) => `${n} ${us.toFixed(0)}`).join(', ')} | ${total.toFixed(0)} | ${total > 0 ? (1e6 / total).toFixed(0) : '–'} |`);
      }
      L.push('');
    }
  }
  if (r.curve?.length) {
    L.push('## CPU per request by body size', '');
    L.push(`Codex-shaped bodies (the captured request, grown with a long session's history), open loop for ${r.plan.curve.durationMs / 1000} s each through a fresh RouterHub (${r.plan.curve.rate} requests/s at 40 KB, fewer for larger bodies so the gateway's core is not saturated), CPU net of each process's rate at rest. The floor is one JSON.parse + one JSON.stringify of the same body, timed in the bench process in the same run.`, '');
    L.push('| body | bytes | req/s | CPU µs per request, by process | total µs | floor µs | total / floor | ok |');
    L.push('|---|---:|---:|---|---:|---:|---:|---|');
    for (const p of r.curve) {
      const per = cpuPerRequest(p.measurement);
      const total = totalCpuPerRequest(p.measurement);
      L.push(`| ${p.size} | ${p.bytes} | ${p.rate} | ${Object.entries(per).map(([n, us]) => `${n} ${us.toFixed(0)}`).join(', ')} | ${total.toFixed(0)} | ${p.floorUs.toFixed(0)} | ${(total / p.floorUs).toFixed(1)}× | ${ok(p.measurement)} |`);
    }
    L.push('');
  }
  if (r.fleet.length) {
    L.push('## Fleet scale: many slow streams on one ingress', '');
    L.push('Each row: `streams` concurrent streams of `tokens` tokens at `tok/s per stream` (3-token deltas), opened at `opened/s`, first straight at the upstream (direct), then through a fresh RouterHub. "ok" counts streams that delivered every token and ended in `response.completed` (a load generator that falls behind its ramp opens fewer than asked). CPU is % of one core over the whole run; RSS is the peak; "per stream" = (peak − RSS before) / streams, and "held" the same from the RSS a second after the ramp, while every stream is open and none has ended. Both are differences from the RSS after the warm-up, which moves by tens of MiB as the heap grows or shrinks: only the rows with the most streams are precise per stream (the first rows\' held figure can even come out below zero).', '');
    L.push('| streams | tokens | tok/s per stream | opened/s | ok direct | ok RouterHub | tok/s direct | tok/s RouterHub | RouterHub / direct | slowest stream tok/s (direct, RH) | TTFT p50 ms (direct, RH) | ingress CPU | ingress RSS MiB | ingress KiB/stream (peak, held) | workers CPU | workers RSS MiB | workers KiB/stream (peak, held) | NATS CPU | Redis CPU |');
    L.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    const kib = (u: ReturnType<typeof sumProcs>, streams: number) => [u.rss, u.held].map((rss) => (Number.isNaN(rss) ? '–' : perStreamKib(rss, u.rss0, streams).toFixed(1))).join(', ');
    const slowest = (m: Measurement) => (m.load.streamTokensPerSec.n ? m.load.streamTokensPerSec.min.toFixed(1) : '–');
    const ttft = (m: Measurement) => (m.load.ttftMs.n ? ms(m.load.ttftMs.p50) : '–');
    for (const f of r.fleet) {
      const m = f.measurement, d = f.direct, i = sumProcs(m.procs, 'ingress'), w = sumProcs(m.procs, 'worker'), n = sumProcs(m.procs, 'nats'), rd = sumProcs(m.procs, 'redis');
      const done = (x: Measurement) => `${x.load.completed}/${f.streams}`;
      L.push(`| ${f.streams} | ${f.profile.tokens} | ${f.profile.rate} | ${f.rampPerSec} | ${done(d)} | ${done(m)} | ${k(d.load.tokensPerSec)} | ${k(m.load.tokensPerSec)} | ${pct(m.load.tokensPerSec, d.load.tokensPerSec)} | ${slowest(d)}, ${slowest(m)} | ${ttft(d)}, ${ttft(m)} | ${i.cpu.toFixed(0)}% | ${i.rss.toFixed(0)} | ${kib(i, f.streams)} | ${w.cpu.toFixed(0)}% | ${w.rss.toFixed(0)} | ${kib(w, f.streams)} | ${n.cpu.toFixed(0)}% | ${rd.cpu.toFixed(0)}% |`);
    }
    const row = heldRow(r.fleet);
    if (row?.relayNats) {
      const front = sumProcs(row.relayNats.procs, 'relay-front'), back = sumProcs(row.relayNats.procs, 'relay-back');
      L.push('', `The floor of memory per stream: the bare two-process relay (\`bench/relay.ts\`) holding the ${row.streams}-stream row's streams (${row.relayNats.load.completed}/${row.streams} ok), KiB per stream (peak, held): front (as the ingress) ${kib(front, row.streams)}, back (as a worker) ${kib(back, row.streams)}.`);
    }
    L.push('');
  }
  if (r.families?.length) {
    const f = r.plan.families;
    L.push('## Provider families: the cost of translation', '');
    L.push(`The same Codex request and the same text, from an upstream of each family. Direct: the client sends the family's own request (the one RouterHub's adapter builds) and parses the family's own events; through RouterHub it speaks Responses and the worker translates. Throughput: ${f.concurrency} streams, upstream as fast as possible, ${f.durationMs / 1000} s. TTFT: open loop, ${f.rate} requests/s for ${f.rateDurationMs / 1000} s.`, '');
    L.push('| upstream family | direct tok/s | RouterHub tok/s | RouterHub / direct | TTFT p50 ms (direct, RH) | added TTFT p50 / p99 ms | ok (throughput, TTFT) |');
    L.push('|---|---:|---:|---:|---:|---:|---|');
    for (const row of r.families) {
      const d = of(row.throughput, 'direct'), h = of(row.throughput, 'routerhub'), od = of(row.overhead, 'direct'), oh = of(row.overhead, 'routerhub');
      const added = od && oh ? `${ms(oh.load.ttftMs.p50 - od.load.ttftMs.p50)} / ${ms(oh.load.ttftMs.p99 - od.load.ttftMs.p99)}` : '–';
      L.push(`| ${row.family} | ${k(d?.load.tokensPerSec ?? 0)} | ${k(h?.load.tokensPerSec ?? 0)} | ${pct(h?.load.tokensPerSec ?? 0, d?.load.tokensPerSec ?? 0)} | ${od && oh ? `${ms(od.load.ttftMs.p50)}, ${ms(oh.load.ttftMs.p50)}` : '–'} | ${added} | ${ok(d)}, ${ok(h)}; ${ok(od)}, ${ok(oh)} |`);
    }
    L.push('');
  }
  if (r.scaling.length) {
    const base = r.scaling[0].measurement.load.tokensPerSec;
    L.push('## Worker scaling', '');
    L.push(`${r.plan.scaling.concurrency} streams, fast upstream. On this machine the whole gateway (ingress, workers, NATS) shares CPU ${r.machine.pinning.gateway || 'all'}, so more workers cannot add CPU: this row shows the cost model (what an extra worker process costs), not horizontal scaling.`, '');
    L.push('| workers | RouterHub tok/s | vs 1 worker | ingress CPU | workers CPU | ok |');
    L.push('|---:|---:|---:|---:|---:|---|');
    for (const s of r.scaling) {
      const m = s.measurement;
      L.push(`| ${s.workers} | ${k(m.load.tokensPerSec)} | ${(m.load.tokensPerSec / base).toFixed(2)}× | ${sumProcs(m.procs, 'ingress').cpu.toFixed(0)}% | ${sumProcs(m.procs, 'worker').cpu.toFixed(0)}% | ${ok(m)} |`);
    }
    L.push('');
  }
  if (r.affinity) L.push(...affinityMarkdown(r.affinity));
  L.push('## Peer', '');
  L.push(r.peer.status === 'ok' ? `${r.peer.name} ${r.peer.version}, same upstream via x-portkey-provider: openai + x-portkey-custom-host, same CPU as RouterHub.` : `${r.peer.name}: ${r.peer.status}. ${r.peer.reason}`);
  L.push('');
  return L.join('\n');
}

const COLORS: Record<TargetName, string> = { direct: '#9aa5b1', routerhub: '#2f6fde', peer: '#e08a1e', relay: '#5fa85f', 'relay-nats': '#3d7f3d' };

/** Grouped bars: throughput per concurrency (left), TTFT p50/p99 (right). */
export function svg(r: BenchResults): string {
  const curve = r.curve?.length ? r.curve : [];
  const W = curve.length ? 1300 : 900, H = 380, top = 60, bottom = 320;
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`, `<rect width="${W}" height="${H}" fill="white"/>`];
  out.push(`<text x="20" y="24" font-size="16" font-weight="bold">RouterHub bench (${r.name}): tokens/s delivered and time to first token</text>`);
  const targets: TargetName[] = ['direct', 'routerhub', 'peer'];
  targets.forEach((t, i) => out.push(`<rect x="${20 + i * 120}" y="36" width="12" height="12" fill="${COLORS[t]}"/><text x="${36 + i * 120}" y="46">${t === 'routerhub' ? 'RouterHub' : t}</text>`));
  const panel = (x0: number, width: number, title: string, groups: Array<{ label: string; bars: Array<{ t: TargetName; v: number; text: string; color?: string }> }>) => {
    out.push(`<text x="${x0}" y="${top + 4}" font-weight="bold">${title}</text>`);
    const max = Math.max(1e-9, ...groups.flatMap((g) => g.bars.map((b) => b.v)));
    const gw = width / Math.max(1, groups.length);
    out.push(`<line x1="${x0}" y1="${bottom}" x2="${x0 + width}" y2="${bottom}" stroke="#333"/>`);
    groups.forEach((g, gi) => {
      const bw = (gw - 20) / Math.max(1, g.bars.length);
      g.bars.forEach((b, bi) => {
        const h = ((bottom - top - 30) * b.v) / max;
        const x = x0 + gi * gw + 10 + bi * bw;
        out.push(`<rect x="${x.toFixed(1)}" y="${(bottom - h).toFixed(1)}" width="${(bw - 4).toFixed(1)}" height="${h.toFixed(1)}" fill="${b.color ?? COLORS[b.t]}"/>`);
        out.push(`<text x="${(x + (bw - 4) / 2).toFixed(1)}" y="${(bottom - h - 4).toFixed(1)}" text-anchor="middle" font-size="10">${b.text}</text>`);
      });
      out.push(`<text x="${(x0 + gi * gw + gw / 2).toFixed(1)}" y="${bottom + 16}" text-anchor="middle">${g.label}</text>`);
    });
  };
  panel(20, 520, 'Throughput, tokens/s (fast upstream)', r.throughput.map((row) => ({
    label: `${row.concurrency} streams`,
    bars: targets.flatMap((t) => {
      const m = of(row.measurements, t);
      return m ? [{ t, v: m.load.tokensPerSec, text: k(m.load.tokensPerSec) }] : [];
    }),
  })));
  panel(580, 300, `TTFT ms at ${r.plan.overhead.rate} req/s`, ['p50', 'p99'].map((q) => ({
    label: q,
    bars: r.overhead.map((m) => ({ t: m.target, v: q === 'p50' ? m.load.ttftMs.p50 : m.load.ttftMs.p99, text: (q === 'p50' ? m.load.ttftMs.p50 : m.load.ttftMs.p99).toFixed(1) })),
  })));
  if (curve.length) {
    // RouterHub's CPU per request beside the floor (parse + stringify of the same body), by body size.
    panel(920, 360, 'CPU µs per request vs floor (grey), by body', curve.map((p) => ({
      label: p.size,
      bars: [
        { t: 'routerhub' as const, v: totalCpuPerRequest(p.measurement), text: totalCpuPerRequest(p.measurement).toFixed(0) },
        { t: 'direct' as const, v: p.floorUs, text: p.floorUs.toFixed(0), color: '#c8ced6' },
      ],
    })));
  }
  out.push(`<text x="20" y="${H - 12}" font-size="11" fill="#555">${r.machine.cpus} CPUs; gateway pinned to CPU ${r.machine.pinning.gateway || '-'}, load generator + upstream to CPU ${r.machine.pinning.harness || '-'}. Ratios are from one run.</text>`);
  out.push('</svg>');
  return out.join('\n');
}

function totalCpuPerRequest(m: Measurement): number {
  return Object.values(cpuPerRequest(m)).reduce((a, b) => a + b, 0);
}

/** µs of CPU per request for each kind of process (workers summed), net of the idle rate. */
function cpuPerRequest(m: Measurement): Record<string, number> {
  const out: Record<string, number> = {};
  const secs = m.load.wallMs / 1000;
  for (const [name, u] of Object.entries(m.procs)) {
    const rest = m.idle?.procs[name];
    const idleSec = rest ? (rest.cpuSec / m.idle!.seconds) * secs : 0;
    const kind = name.replace(/\d+$/, 's');
    out[kind] = (out[kind] ?? 0) + (1e6 * Math.max(0, u.cpuSec - idleSec)) / Math.max(1, m.load.requests);
  }
  return out;
}
