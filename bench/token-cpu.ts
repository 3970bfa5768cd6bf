// `node dist/bench/token-cpu.js [--streams N] [--rate R] [--workers W] [--window S]`: the gateway's CPU
// per streamed delta with N slow streams held open (2,000 by default, R = 30 tokens/s in 3-token
// deltas, opened at 500/s, W = 1 worker). After the ramp, each process's CPU over S seconds (10) is
// divided by the deltas the streams were sent meanwhile. The fleet rows of the bench mix opening
// streams with serving them; this is the per-token half alone, the cost that decides how many slow
// streams a core holds (the 5k row's 50,000 deltas a second). Pinned as the bench is: the gateway on
// CPU 0, the load generator and the bench upstream on the other. Alternate runs to compare a change:
// identical runs differ by up to ±10%.
import { startCluster } from '../deploy/cluster';
import { generateKey } from '../libs/store/keys';
import { mockCatalog } from '../libs/testing/cluster';
import { gatewayPids, PIN, pin, runLoadProcess, sampleProcs, startUpstream } from './procs';
import { profilePath, type StreamProfile } from './profile';
import { fleetLoad } from './scenarios';
import { benchModel, routerhubTarget } from './targets';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const arg = (name: string, otherwise: number) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : otherwise);
  const streams = arg('--streams', 2000);
  const rate = arg('--rate', 30);
  const workers = arg('--workers', 1);
  const windowSec = arg('--window', 10);
  const rampPerSec = 500;
  const rampSec = streams / rampPerSec;
  // Long enough that no stream ends before the window does.
  const profile: StreamProfile = { tokens: Math.ceil(rate * (rampSec + windowSec + 8)), tokensPerEvent: 3, eventsPerWrite: 1, rate };
  pin(process.pid, PIN.gateway);
  const upstream = await startUpstream();
  const key = generateKey();
  const catalog = mockCatalog(upstream.url, [{ id: benchModel(profile), deployments: [{ provider: 'openai-responses', base_url: `${upstream.url}${profilePath(profile)}` }] }]);
  const cluster = await startCluster({ devKey: key, demoUpstream: false, workers, modelsPath: catalog, stdio: 'ignore' });
  try {
    const pids = gatewayPids(cluster);
    const target = routerhubTarget(cluster.baseUrl, key, () => pids);
    const load = runLoadProcess({ ...target.request(profile), expectTokens: profile.tokens, ...fleetLoad({ streams, profile, rampPerSec }) });
    await new Promise((r) => setTimeout(r, rampSec * 1000 + 3000));
    const sampler = sampleProcs(pids);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, windowSec * 1000));
    const usage = sampler.stop();
    const deltas = ((streams * rate) / profile.tokensPerEvent) * ((performance.now() - t0) / 1000);
    const result = await load;
    let total = 0;
    const parts = Object.entries(usage).map(([name, u]) => {
      const us = (u.cpuSec * 1e6) / deltas;
      total += us;
      return `${name} ${us.toFixed(1)}`;
    });
    console.log(`gateway CPU per delta: ${total.toFixed(1)} µs (${parts.join(', ')}); ${streams} streams at ${rate} tok/s in ${profile.tokensPerEvent}-token deltas, ${workers} worker(s), ${windowSec} s after the ramp`);
    console.log(`streams: ${result.completed}/${result.requests} complete${result.errors ? `, errors: ${result.errorSamples.join(' | ')}` : ''}; TTFT p50 ${result.ttftMs.p50?.toFixed(0)} ms`);
  } finally {
    await cluster.stop();
    await upstream.stop();
  }
}

main().then(() => process.exit(0), (err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});
