// Results → a Markdown table and a hand-written SVG bar chart. Ratios are always of measurements
// taken in the same run.
import { affinityMarkdown, type AffinityResults } from './affinity';
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
  /** `measurement` is RouterHub's; `direct` the same load straight at the upstream. */
  fleet: Array<FleetRow & { measurement: Measurement; direct: Measurement }>;
  /** Per provider family behind RouterHub: [direct, RouterHub] for each. */
  families: Array<{ family: string; throughput: Measurement[]; overhead: Measurement[] }>;
  scaling: Array<{ workers: number; measurement: Measurement }>;
  peer: { name: string; version: string; status: 'ok' | 'failed' | 'skipped'; reason: string };
  /** The prompt-cache share with and without conversation affinity (bench/affinity.ts). */
  affinity?: AffinityResults;
}

const of = (ms: Measurement[], t: TargetName) => ms.find((m) => m.target === t);
const k = (n: number) => (n >= 10_000 ? `${(n / 1000).toFixed(0)}k` : n >= 1000 ? `${(n / 1000).toFixed(1)}k` : n.toFixed(0));
const pct = (a: number, b: number) => (b > 0 ? `${((100 * a) / b).toFixed(0)}%` : 'n/a');
const ms = (n: number) => n.toFixed(2);
const ok = (m: Measurement | undefined) => (m ? `${m.load.completed}/${m.load.requests}` : '–');
const sumProcs = (p: Record<string, ProcUsage>, prefix: string) =>
  Object.entries(p).filter(([n]) => n.startsWith(prefix)).reduce((a, [, u]) => ({ cpu: a.cpu + u.cpuPercent, rss: a.rss + u.rssPeakMiB, rss0: a.rss0 + u.rssStartMiB }), { cpu: 0, rss: 0, rss0: 0 });

export function markdown(r: BenchResults): string {
  const L: string[] = [];
  L.push(`# RouterHub bench: ${r.name} (${r.mode})`, '');
  L.push(`${r.startedAt}, ${r.durationSec.toFixed(0)} s, ${r.machine.cpus} CPUs, Node ${r.machine.node}, open-file limit ${r.machine.fdLimit}.`);
  L.push(r.machine.pinning.gateway
    ? `Pinning: gateway under test (RouterHub ingress + ${r.workers} workers + NATS + Redis, or the peer) on CPU ${r.machine.pinning.gateway}; load generator + bench upstream on CPU ${r.machine.pinning.harness}.`
    : 'No CPU pinning (taskset missing or one CPU).', '');

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
  if (r.fleet.length) {
    L.push('## Fleet scale: many slow streams on one ingress', '');
    L.push('Each row: `streams` concurrent streams of `tokens` tokens at `tok/s per stream` (3-token deltas), opened at `opened/s`, first straight at the upstream (direct), then through a fresh RouterHub. "ok" counts streams that delivered every token and ended in `response.completed` (a load generator that falls behind its ramp opens fewer than asked). CPU is % of one core over the whole run; RSS is the peak; "per stream" = (peak − RSS before) / streams.', '');
    L.push('| streams | tokens | tok/s per stream | opened/s | ok direct | ok RouterHub | tok/s direct | tok/s RouterHub | RouterHub / direct | slowest stream tok/s (direct, RH) | TTFT p50 ms (direct, RH) | ingress CPU | ingress RSS MiB | ingress KiB/stream | workers CPU | workers RSS MiB | workers KiB/stream | NATS CPU | Redis CPU |');
    L.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    const slowest = (m: Measurement) => (m.load.streamTokensPerSec.n ? m.load.streamTokensPerSec.min.toFixed(1) : '–');
    const ttft = (m: Measurement) => (m.load.ttftMs.n ? ms(m.load.ttftMs.p50) : '–');
    for (const f of r.fleet) {
      const m = f.measurement, d = f.direct, i = sumProcs(m.procs, 'ingress'), w = sumProcs(m.procs, 'worker'), n = sumProcs(m.procs, 'nats'), rd = sumProcs(m.procs, 'redis');
      const done = (x: Measurement) => `${x.load.completed}/${f.streams}`;
      L.push(`| ${f.streams} | ${f.profile.tokens} | ${f.profile.rate} | ${f.rampPerSec} | ${done(d)} | ${done(m)} | ${k(d.load.tokensPerSec)} | ${k(m.load.tokensPerSec)} | ${pct(m.load.tokensPerSec, d.load.tokensPerSec)} | ${slowest(d)}, ${slowest(m)} | ${ttft(d)}, ${ttft(m)} | ${i.cpu.toFixed(0)}% | ${i.rss.toFixed(0)} | ${((1024 * (i.rss - i.rss0)) / f.streams).toFixed(1)} | ${w.cpu.toFixed(0)}% | ${w.rss.toFixed(0)} | ${((1024 * (w.rss - w.rss0)) / f.streams).toFixed(1)} | ${n.cpu.toFixed(0)}% | ${rd.cpu.toFixed(0)}% |`);
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

const COLORS: Record<TargetName, string> = { direct: '#9aa5b1', routerhub: '#2f6fde', peer: '#e08a1e' };

/** Grouped bars: throughput per concurrency (left), TTFT p50/p99 (right). */
export function svg(r: BenchResults): string {
  const W = 900, H = 380, top = 60, bottom = 320;
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`, `<rect width="${W}" height="${H}" fill="white"/>`];
  out.push(`<text x="20" y="24" font-size="16" font-weight="bold">RouterHub bench (${r.name}): tokens/s delivered and time to first token</text>`);
  const targets: TargetName[] = ['direct', 'routerhub', 'peer'];
  targets.forEach((t, i) => out.push(`<rect x="${20 + i * 120}" y="36" width="12" height="12" fill="${COLORS[t]}"/><text x="${36 + i * 120}" y="46">${t === 'routerhub' ? 'RouterHub' : t}</text>`));
  const panel = (x0: number, width: number, title: string, groups: Array<{ label: string; bars: Array<{ t: TargetName; v: number; text: string }> }>) => {
    out.push(`<text x="${x0}" y="${top + 4}" font-weight="bold">${title}</text>`);
    const max = Math.max(1e-9, ...groups.flatMap((g) => g.bars.map((b) => b.v)));
    const gw = width / Math.max(1, groups.length);
    out.push(`<line x1="${x0}" y1="${bottom}" x2="${x0 + width}" y2="${bottom}" stroke="#333"/>`);
    groups.forEach((g, gi) => {
      const bw = (gw - 20) / Math.max(1, g.bars.length);
      g.bars.forEach((b, bi) => {
        const h = ((bottom - top - 30) * b.v) / max;
        const x = x0 + gi * gw + 10 + bi * bw;
        out.push(`<rect x="${x.toFixed(1)}" y="${(bottom - h).toFixed(1)}" width="${(bw - 4).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[b.t]}"/>`);
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
  out.push(`<text x="20" y="${H - 12}" font-size="11" fill="#555">${r.machine.cpus} CPUs; gateway pinned to CPU ${r.machine.pinning.gateway || '-'}, load generator + upstream to CPU ${r.machine.pinning.harness || '-'}. Ratios are from one run.</text>`);
  out.push('</svg>');
  return out.join('\n');
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
