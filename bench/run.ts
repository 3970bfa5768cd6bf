// `npm run bench [-- --quick | --smoke] [--name <name>] [--no-peer] [--only throughput,overhead,curve,fleet,families,scaling,affinity,peer]
//   [--workers N] [--out <dir>]`: starts the bench upstream, a RouterHub cluster and (unless --no-peer)
// the peer gateway on loopback, runs the scenarios, and writes <out>/<name>.{json,md,svg}.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { paths, startCluster, type Cluster } from '../deploy/cluster';
import { mockCatalog } from '../libs/testing/cluster';
import { FAMILIES } from '../libs/providers/index';
import { generateKey } from '../libs/store/keys';
import { affinityPlan, runAffinity } from './affinity';
import { bodySizeCurve, hopFloor } from './curve';
import { startPeer } from './peer';
import { CPUS, gatewayPids, pin, PIN, startUpstream } from './procs';
import { profilePath } from './profile';
import { heldRow, markdown, summarize, svg, type BenchResults } from './report';
import { startNatsRelay, startRelay } from './relay';
import { allProfiles, fleetLoad, measure, measureWithIdle, overheadLoad, planFor, throughputLoad, warmUp, type Mode } from './scenarios';
import { benchModel, directTarget, peerTarget, routerhubTarget } from './targets';

interface Args { mode: Mode; name: string; peer: boolean; only: Set<string> | null; workers: number; out: string }

function parseArgs(argv: string[]): Args {
  const get = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const mode: Mode = argv.includes('--smoke') ? 'smoke' : argv.includes('--quick') ? 'quick' : 'full';
  const only = get('--only');
  return {
    mode,
    name: get('--name') ?? mode,
    peer: !argv.includes('--no-peer') && mode !== 'smoke',
    only: only ? new Set(only.split(',')) : null,
    workers: Number(get('--workers') ?? 2),
    out: get('--out') ?? join(paths.ROOT, 'bench', 'results'),
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const plan = planFor(args.mode);
  const wants = (s: string) => !args.only || args.only.has(s);
  const t0 = Date.now();
  // The gateway under test (cluster, peer) inherits CPU 0 from us; the harness children move to the other CPU.
  pin(process.pid, PIN.gateway);
  const upstream = await startUpstream();
  const catalog = mockCatalog(upstream.url, allProfiles(plan).flatMap((p) => FAMILIES.map((family) => ({
    id: benchModel(p, family),
    deployments: [{ provider: family, base_url: `${upstream.url}${profilePath(p)}` }],
  }))));
  const key = generateKey();
  const launch = (workers: number) => startCluster({ devKey: key, demoUpstream: false, workers, modelsPath: catalog, stdio: process.argv.includes('--verbose') ? 'inherit' : 'ignore' });
  const rh = (c: Cluster, family?: string) => routerhubTarget(c.baseUrl, key, () => gatewayPids(c), family);
  const direct = directTarget(upstream.url, upstream.proc.pid!);
  const results: BenchResults = {
    name: args.name, mode: args.mode, startedAt: new Date(t0).toISOString(), durationSec: 0,
    machine: { cpus: CPUS, node: process.version, pinning: PIN, fdLimit: fdLimit() },
    plan, workers: args.workers, throughput: [], overhead: [], fleet: [], families: [], scaling: [], curve: [], hopFloor: null,
    peer: { name: 'Portkey gateway (@portkey-ai/gateway)', version: '', status: 'skipped', reason: args.peer ? '' : 'disabled (--no-peer or smoke mode)' },
  };

  const warm = [plan.throughput.profile, plan.overhead.profile];
  const warmMs = plan.warmUpMs;
  // A fresh cluster per scenario: an overload in one (1024 fast streams) must not leak into the next.
  let cluster = null as Cluster | null;
  const fresh = async (workers = args.workers) => {
    await cluster?.stop();
    cluster = await launch(workers);
    const t = rh(cluster);
    await warmUp(t, warm, warmMs);
    return t;
  };
  try {
    await warmUp(direct, warm, warmMs);
    let target = await fresh();
    if (wants('throughput')) {
      for (const c of plan.throughput.concurrency) {
        console.log(`[bench] throughput, ${c} streams, ${plan.throughput.durationMs / 1000} s`);
        const load = throughputLoad(c, plan.throughput.durationMs);
        results.throughput.push({ concurrency: c, measurements: [await measure(direct, plan.throughput.profile, load), await measure(target, plan.throughput.profile, load)] });
      }
    }
    if (wants('overhead')) {
      target = await fresh();
      console.log(`[bench] overhead, ${plan.overhead.rate} req/s for ${plan.overhead.durationMs / 1000} s`);
      const load = overheadLoad(plan.overhead.rate, plan.overhead.durationMs);
      const { profile, idleMs } = plan.overhead;
      results.overhead.push(await measureWithIdle(direct, profile, load, idleMs), await measureWithIdle(target, profile, load, idleMs));
      // The floors of the design beside it: bare relays of the same requests, on the same CPU (relay.ts).
      for (const start of [startRelay, startNatsRelay]) {
        const relay = await start(upstream.url);
        try {
          await warmUp(relay.target, [profile], warmMs);
          results.overhead.push(await measureWithIdle(relay.target, profile, load, idleMs));
        } finally {
          await relay.stop();
        }
      }
      results.hopFloor = await hopFloor(plan.hopFloor.samples, plan.hopFloor.intervalMs);
    }
    if (wants('curve')) {
      target = await fresh();
      const { rate, durationMs, idleMs } = plan.curve;
      results.curve = await bodySizeCurve(target, plan.overhead.profile, rate, durationMs, idleMs, warmMs / 3);
    }
    if (wants('fleet')) {
      const memoryRow = heldRow(plan.fleet);
      for (const row of plan.fleet) {
        target = await fresh();
        console.log(`[bench] fleet, ${row.streams} concurrent streams at ${row.profile.rate} tok/s, opened at ${row.rampPerSec}/s`);
        const { heldAtMs, ...load } = fleetLoad(row);
        const entry: BenchResults['fleet'][number] = { ...row, direct: await measure(direct, row.profile, load, heldAtMs), measurement: await measure(target, row.profile, load, heldAtMs) };
        if (row === memoryRow) {
          // The floor of memory per held stream: the bare two-process relay holding the same streams.
          await cluster?.stop();
          cluster = null;
          const relay = await startNatsRelay(upstream.url);
          try {
            await warmUp(relay.target, warm, warmMs);
            entry.relayNats = await measure(relay.target, row.profile, load, heldAtMs);
          } finally {
            await relay.stop();
          }
        }
        results.fleet.push(entry);
      }
    }
    if (wants('families')) {
      await fresh();
      const f = plan.families;
      for (const family of FAMILIES) {
        console.log(`[bench] ${family} upstream: ${f.concurrency} fast streams for ${f.durationMs / 1000} s, then ${f.rate} req/s for ${f.rateDurationMs / 1000} s`);
        const targets = [directTarget(upstream.url, upstream.proc.pid!, family), rh(cluster!, family)];
        // The upstream and the load generator are warm already; the worker's adapter for this family is not.
        if (args.mode !== 'smoke') await warmUp(targets[1], warm, warmMs / 3);
        const throughput = [], overhead = [];
        for (const t of targets) throughput.push(await measure(t, plan.throughput.profile, throughputLoad(f.concurrency, f.durationMs)));
        for (const t of targets) overhead.push(await measure(t, plan.overhead.profile, overheadLoad(f.rate, f.rateDurationMs)));
        results.families.push({ family, throughput, overhead });
      }
    }
    await cluster?.stop();
    cluster = null;

    if (wants('scaling')) {
      for (const w of plan.scaling.workers) {
        console.log(`[bench] worker scaling, ${w} worker(s), ${plan.scaling.concurrency} streams`);
        const c = await launch(w);
        try {
          await warmUp(rh(c), [plan.throughput.profile], warmMs);
          results.scaling.push({ workers: w, measurement: await measure(rh(c), plan.throughput.profile, throughputLoad(plan.scaling.concurrency, plan.scaling.durationMs)) });
        } finally {
          await c.stop();
        }
      }
    }

    if (wants('affinity')) results.affinity = await runAffinity(affinityPlan(args.mode), { workers: args.workers, stdio: process.argv.includes('--verbose') ? 'inherit' : 'ignore' });

    if (args.peer && wants('peer')) {
      try {
        const peer = await startPeer(upstream.url);
        results.peer = { name: results.peer.name, version: peer.version, status: 'ok', reason: '' };
        try {
          const target = peerTarget(peer.url, upstream.url, peer.proc.pid!);
          await warmUp(target, warm, warmMs);
          for (const row of results.throughput) {
            console.log(`[bench] peer throughput, ${row.concurrency} streams`);
            row.measurements.push(await measure(target, plan.throughput.profile, throughputLoad(row.concurrency, plan.throughput.durationMs)));
          }
          if (results.overhead.length) {
            console.log('[bench] peer overhead');
            results.overhead.push(await measure(target, plan.overhead.profile, overheadLoad(plan.overhead.rate, plan.overhead.durationMs)));
          }
        } finally {
          await peer.stop();
        }
      } catch (err) {
        results.peer = { ...results.peer, status: 'failed', reason: (err as Error).message };
        console.log(`[bench] the peer gateway could not run: ${(err as Error).message}`);
      }
    }
  } finally {
    await cluster?.stop();
    await upstream.stop();
  }

  results.durationSec = (Date.now() - t0) / 1000;
  results.summary = summarize(results);
  mkdirSync(args.out, { recursive: true });
  const base = join(args.out, args.name);
  writeFileSync(`${base}.json`, JSON.stringify(results, null, 2));
  writeFileSync(`${base}.md`, markdown(results));
  writeFileSync(`${base}.svg`, svg(results));
  console.log(`[bench] done in ${results.durationSec.toFixed(0)} s: ${base}.{json,md,svg}`);
}

function fdLimit(): string {
  try {
    const m = /Max open files\s+(\d+)\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? `${m[1]} (hard ${m[2]})` : 'unknown';
  } catch {
    return 'unknown';
  }
}

main().then(() => process.exit(0), (err: Error) => {
  console.error(`[bench] failed: ${err.stack ?? err.message}`);
  process.exit(1);
});
