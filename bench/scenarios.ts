// The scenarios and their sizes per mode. Each measurement runs in a fresh load-generator process
// against one target; RouterHub and direct (and the peer) are measured back to back in the same
// run, so their ratio compares like with like.
import type { LoadResult, LoadSpec } from './loadgen';
import { runLoadProcess, sampleProcs, type ProcUsage } from './procs';
import { profileName, type StreamProfile } from './profile';
import type { Target, TargetName } from './targets';

export type Mode = 'smoke' | 'quick' | 'full';

/** `streams` concurrent slow streams of `profile`, opened at `rampPerSec`. */
export interface FleetRow { streams: number; profile: StreamProfile; rampPerSec: number }

export interface Plan {
  throughput: { concurrency: number[]; durationMs: number; profile: StreamProfile };
  overhead: { rate: number; durationMs: number; profile: StreamProfile; idleMs: number };
  fleet: FleetRow[];
  /** Untimed load on every fresh target before it is measured, long enough for the JIT to settle (see warmUp). */
  warmUpMs: number;
  scaling: { workers: number[]; concurrency: number; durationMs: number };
  /** Per provider family behind RouterHub (translation cost): throughput at `concurrency` streams and TTFT at `rate` req/s. */
  families: { concurrency: number; durationMs: number; rate: number; rateDurationMs: number };
  /** CPU per request at 40 KB / 400 KB / 1.6 MB bodies (curve.ts), open loop at `rate`. */
  curve: { rate: number; durationMs: number; idleMs: number };
  /** The idle loopback round trip behind the hop floor: `samples` one-byte round trips `intervalMs` apart. */
  hopFloor: { samples: number; intervalMs: number };
}

/** Tokens stream as single-token deltas (like OpenAI), several events per network chunk when fast. */
const FAST: StreamProfile = { tokens: 1000, tokensPerEvent: 1, eventsPerWrite: 4, rate: 0 };
/** Short answers for time-to-first-token: the first delta leaves right after the headers. */
const SHORT: StreamProfile = { tokens: 64, tokensPerEvent: 1, eventsPerWrite: 1, rate: 0 };
/** A slow model: `rate` tokens/s for `seconds`, three tokens per delta event (rate / 3 events/s per stream). */
const slow = (seconds: number, rate = 30): StreamProfile => ({ tokens: rate * seconds, tokensPerEvent: 3, eventsPerWrite: 1, rate });
const fleet = (streams: number[], profile: StreamProfile, rampPerSec: number): FleetRow[] => streams.map((n) => ({ streams: n, profile, rampPerSec }));

export function planFor(mode: Mode): Plan {
  switch (mode) {
    case 'smoke':
      return {
        throughput: { concurrency: [4], durationMs: 1000, profile: { ...FAST, tokens: 200 } },
        overhead: { rate: 10, durationMs: 1000, profile: SHORT, idleMs: 500 },
        fleet: fleet([8], slow(2), 100),
        warmUpMs: 300,
        scaling: { workers: [1], concurrency: 4, durationMs: 1000 },
        families: { concurrency: 2, durationMs: 300, rate: 10, rateDurationMs: 300 },
        curve: { rate: 10, durationMs: 300, idleMs: 200 },
        hopFloor: { samples: 20, intervalMs: 20 },
      };
    case 'quick':
      return {
        throughput: { concurrency: [64, 256], durationMs: 2500, profile: FAST },
        overhead: { rate: 50, durationMs: 4000, profile: SHORT, idleMs: 2000 },
        fleet: fleet([1000], slow(6), 500),
        warmUpMs: 6000,
        scaling: { workers: [1, 2], concurrency: 256, durationMs: 2000 },
        families: { concurrency: 64, durationMs: 1000, rate: 50, rateDurationMs: 1000 },
        curve: { rate: 20, durationMs: 3000, idleMs: 1000 },
        hopFloor: { samples: 200, intervalMs: 20 },
      };
    case 'full':
      return {
        throughput: { concurrency: [64, 256, 1024], durationMs: 15_000, profile: FAST },
        overhead: { rate: 50, durationMs: 20_000, profile: SHORT, idleMs: 5000 },
        fleet: [
          ...fleet([1000, 5000, 10_000], slow(30), 500),
          // 10k streams held at the event rate of 1k above (a fleet mostly thinking, as Codex sessions
          // are), opened at a pace one core can admit ~40 KB Codex requests.
          ...fleet([10_000], slow(60, 3), 200),
        ],
        warmUpMs: 15_000,
        scaling: { workers: [1, 2, 4], concurrency: 256, durationMs: 10_000 },
        families: { concurrency: 64, durationMs: 8000, rate: 50, rateDurationMs: 8000 },
        curve: { rate: 20, durationMs: 20_000, idleMs: 10_000 },
        hopFloor: { samples: 500, intervalMs: 20 },
      };
  }
}

/** Every distinct stream profile of the plan (one catalog model each). */
export function allProfiles(plan: Plan): StreamProfile[] {
  const all = [plan.throughput.profile, plan.overhead.profile, ...plan.fleet.map((f) => f.profile)];
  return [...new Map(all.map((p) => [profileName(p), p])).values()];
}

export interface Measurement {
  target: TargetName;
  load: LoadResult;
  procs: Record<string, ProcUsage>;
  /** The same processes at rest just before (timers, heartbeats), to tell CPU per request from CPU per second. */
  idle?: { seconds: number; procs: Record<string, ProcUsage> };
}

/** One load-generator run against one target, with the target's processes sampled meanwhile. */
export async function measure(target: Target, profile: StreamProfile, load: Omit<LoadSpec, 'origin' | 'path' | 'headers' | 'body' | 'family' | 'expectTokens'>, heldAtMs?: number): Promise<Measurement> {
  const sampler = sampleProcs(target.pids(), heldAtMs);
  const result = await runLoadProcess({ ...target.request(profile), expectTokens: profile.tokens, ...load });
  const procs = sampler.stop();
  const l = result;
  console.log(`[bench]   ${target.name.padEnd(9)} ${l.completed}/${l.requests} ok, ${Math.round(l.tokensPerSec)} tok/s, TTFT p50 ${l.ttftMs.p50.toFixed(2)} ms p99 ${l.ttftMs.p99.toFixed(2)} ms` +
    (l.errors ? `, errors: ${l.errorSamples.join(' | ')}` : ''));
  return { target: target.name, load: result, procs };
}

/** `measure`, preceded by `idleMs` of sampling the target at rest. */
export async function measureWithIdle(target: Target, profile: StreamProfile, load: Parameters<typeof measure>[2], idleMs: number): Promise<Measurement> {
  const sampler = sampleProcs(target.pids());
  await new Promise((r) => setTimeout(r, idleMs));
  const idle = { seconds: idleMs / 1000, procs: sampler.stop() };
  return { ...(await measure(target, profile, load)), idle };
}

/**
 * Untimed requests first, so that lazy module loading, JIT and connection set-up are not measured:
 * a server runs for days, and its cost per request is the one after V8 has optimized its hot code.
 * That takes more than a second or two of load: a quick overhead run measured RouterHub at 5.6-6.5
 * ms of CPU per 40 KB request after 1.5 s of warm-up, 5.2 after 5 s, 4.7 after 12 s, 4.5 after 30 s.
 */
export async function warmUp(target: Target, profiles: StreamProfile[], ms: number): Promise<void> {
  for (const p of profiles) await runLoadProcess({ ...target.request(p), expectTokens: p.tokens, ...throughputLoad(16, ms / profiles.length) });
}

/** Closed loop: `concurrency` clients back to back for `durationMs`. */
export function throughputLoad(concurrency: number, durationMs: number) {
  return { concurrency, rampMs: Math.min(1000, concurrency), rate: 0, durationMs, maxRequests: 1_000_000, timeoutMs: 120_000 };
}

/** Open loop at `rate` requests/s: latency at a moderate load, not at saturation. */
export function overheadLoad(rate: number, durationMs: number) {
  return { concurrency: 1000, rampMs: 0, rate, durationMs, maxRequests: Math.ceil((rate * durationMs) / 1000), timeoutMs: 60_000 };
}

/**
 * `streams` concurrent slow streams, one request each, opened at `rampPerSec`. `heldAtMs`: a moment
 * when every stream is open and none has ended (a second after the ramp, or halfway through the
 * last stream if streams are shorter than two seconds): the memory the streams hold is read then.
 */
export function fleetLoad({ streams, profile, rampPerSec }: FleetRow) {
  const rampMs = Math.round((1000 * streams) / rampPerSec);
  const streamMs = (1000 * profile.tokens) / profile.rate;
  const heldAtMs = rampMs + Math.min(1000, streamMs / 2);
  return { concurrency: streams, rampMs, rate: 0, durationMs: rampMs + 1000, maxRequests: 1, timeoutMs: streamMs * 3 + rampMs + 60_000, heldAtMs };
}
