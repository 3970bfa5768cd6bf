// The cost model against body size, and the floors it is judged by. A Codex session resends its
// whole history every turn, so late turns carry 200 KB–2 MB: the curve measures RouterHub's CPU per
// request at 40 KB, 400 KB and 1.6 MB Codex-shaped bodies, beside the floor of that body (one
// JSON.parse + one JSON.stringify, timed here in the same run). The hop floor is what the extra
// processes cost on this machine before any work: an idle loopback round trip × the hops added.
import { connect } from 'node:net';
import { codexRequest } from '../libs/providers/replay';
import { PIN, startNode, stopChild } from './procs';
import type { StreamProfile } from './profile';
import { measureWithIdle, overheadLoad, warmUp, type Measurement } from './scenarios';
import type { Target } from './targets';

/** The body sizes of the curve, by the summary's key. */
export const BODY_SIZES = { '40k': 40_000, '400k': 400_000, '1600k': 1_600_000 } as const;
export type BodySize = keyof typeof BODY_SIZES;

/**
 * Round trips RouterHub adds to direct's one (client → upstream): client → ingress, ingress → NATS,
 * NATS → worker, worker → upstream is four legs each way where direct has one.
 */
export const HOPS_ADDED = 3;

export interface CurvePoint { size: BodySize; bytes: number; rate: number; floorUs: number; measurement: Measurement }
export interface HopFloor { roundTripP50Ms: number; samples: number; intervalMs: number; hops: number; floorMs: number }

/**
 * The captured Codex request grown to about `bytes` with the history of a long session (tool
 * calls, their outputs, reasoning, answers), as Codex resends it; the 40k size is the request itself.
 */
export function codexBodyOfSize(model: string, bytes: number): string {
  const codex = codexRequest();
  const doc = { ...codex, model, stream: true, input: [...codex.input] as unknown[] };
  const base = JSON.stringify(doc).length;
  let size = base;
  for (let i = 0; size < bytes; i++) {
    const turn = [
      { type: 'function_call', id: `fc_${i}`, call_id: `call_${i}`, name: 'exec_command', arguments: JSON.stringify({ cmd: `rg -n foo src/${i}`, workdir: '/repo' }) },
      { type: 'function_call_output', id: `fco_${i}`, call_id: `call_${i}`, output: 'Chunk ID: x\nOutput:\n' + 'line of tool output\n'.repeat(100) },
      { type: 'reasoning', id: `rs_${i}`, summary: [{ type: 'summary_text', text: 'thinking '.repeat(10) }], content: null, encrypted_content: 'e'.repeat(1200) },
      { type: 'message', id: `msg_${i}`, role: 'assistant', content: [{ type: 'output_text', text: 'answer '.repeat(100) }] },
    ];
    // Before the last item (the user's newest message), as a session's history grows.
    doc.input.splice(doc.input.length - 1, 0, ...turn);
    size += JSON.stringify(turn).length - 1;
  }
  return JSON.stringify(doc);
}

/** Median µs of CPU of one JSON.parse + one JSON.stringify of `body`, in this process. */
export function floorUs(body: string, rounds = 9): number {
  const n = Math.max(3, Math.round(4_000_000 / body.length));
  for (let i = 0; i < n; i++) JSON.stringify(JSON.parse(body)); // warm up
  const per: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) JSON.stringify(JSON.parse(body));
    const c = process.cpuUsage(c0);
    per.push((c.user + c.system) / n);
  }
  per.sort((a, b) => a - b);
  return per[Math.floor(per.length / 2)];
}

/** `target` with the body of every request replaced by a Codex-shaped body of `bytes` for the same model. */
export function withBodySize(target: Target, bytes: number): Target {
  return {
    ...target,
    request: (p: StreamProfile) => {
      const r = target.request(p);
      const model = (JSON.parse(r.body) as { model: string }).model;
      return { ...r, body: codexBodyOfSize(model, bytes) };
    },
  };
}

/**
 * CPU per request of `target` at each body size, with each size's floor: open loop at `rate` for
 * 40 KB, slower for larger bodies (÷ ⁴√(size / 40 KB)) so that the gateway's core is not saturated
 * (a saturated core sheds requests and measures queueing, not cost), but fast enough that the
 * requests' CPU, not the processes' rate at rest, makes most of what is measured. Each size is
 * warmed up for `warmUpMs` first: bodies over NATS's max_payload take another path (the worker
 * pulls them).
 */
export async function bodySizeCurve(target: Target, profile: StreamProfile, baseRate: number, durationMs: number, idleMs: number, warmUpMs: number): Promise<CurvePoint[]> {
  const points: CurvePoint[] = [];
  for (const [size, bytes] of Object.entries(BODY_SIZES) as Array<[BodySize, number]>) {
    const sized = withBodySize(target, bytes);
    const body = sized.request(profile).body;
    const rate = Math.max(1, Math.round(baseRate / (bytes / BODY_SIZES['40k']) ** 0.25));
    console.log(`[bench] body-size curve, ${size} (${(body.length / 1024).toFixed(0)} KiB), ${rate} req/s for ${durationMs / 1000} s`);
    await warmUp(sized, [profile], warmUpMs);
    const measurement = await measureWithIdle(sized, profile, overheadLoad(rate, durationMs), idleMs);
    points.push({ size, bytes: body.length, rate, floorUs: floorUs(body), measurement });
  }
  return points;
}

/**
 * The median round trip of one byte between this process and an echo process, both on the
 * gateway's CPU, `intervalMs` apart (a moderate rate lets the CPU go idle, as it does at 50 req/s).
 */
export async function hopFloor(samples: number, intervalMs: number): Promise<HopFloor> {
  const { proc: echo, line } = await startNode(['-e', "const s=require('net').createServer(c=>c.on('data',d=>c.write(d))).listen(0,'127.0.0.1',()=>console.log(s.address().port))"], PIN.gateway, 'echo process');
  try {
    const port = Number(line);
    const socket = connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    await new Promise((r) => socket.once('connect', r));
    const rtts: number[] = [];
    for (let i = 0; i < samples; i++) {
      await new Promise((r) => setTimeout(r, intervalMs));
      const t0 = performance.now();
      await new Promise<void>((resolve) => {
        socket.once('data', () => resolve());
        socket.write('x');
      });
      rtts.push(performance.now() - t0);
    }
    socket.destroy();
    rtts.sort((a, b) => a - b);
    const p50 = rtts[Math.floor(rtts.length / 2)];
    return { roundTripP50Ms: p50, samples, intervalMs, hops: HOPS_ADDED, floorMs: p50 * HOPS_ADDED };
  } finally {
    await stopChild(echo);
  }
}
