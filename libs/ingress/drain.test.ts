import t from 'tap';
import type { HttpError } from '../protocol/errors';
import { drainIngress } from './drain';

/** An ingress holding `streams` responses that end by themselves after `endsAfterMs` (null: never). */
function ingress(streams: number, endsAfterMs: number | null) {
  const start = Date.now();
  const log: Array<[string, number]> = [];
  let open = streams;
  if (endsAfterMs !== null) setTimeout(() => (open = 0), endsAfterMs);
  const failed: HttpError[] = [];
  return {
    log, failed,
    markDraining: () => void log.push(['draining', Date.now() - start]),
    closeListener: () => void log.push(['closed', Date.now() - start]),
    inflight: () => open,
    failRemaining: (error: HttpError) => {
      log.push(['failed', Date.now() - start]);
      for (let i = 0; i < open; i++) failed.push(error);
      const n = open;
      open = 0;
      return n;
    },
  };
}

t.test('not ready at once, listening through the notice period, streams that finish in time are not cut', async (t) => {
  const i = ingress(3, 400);
  const cut = await drainIngress(i, { noticeMs: 200, graceMs: 2000 }, () => undefined);
  t.equal(cut, 0);
  t.same(i.log.map(([what]) => what), ['draining', 'closed', 'failed']);
  t.ok(i.log[0][1] < 50, 'draining at once');
  t.ok(i.log[1][1] >= 190, `the listener closed after the notice (${i.log[1][1]} ms)`);
  t.ok(i.log[2][1] < 1000, `done once the streams ended, well before the grace period (${i.log[2][1]} ms)`);
});

t.test('streams still open when the grace period ends fail with a retryable code', async (t) => {
  const i = ingress(2, null);
  const cut = await drainIngress(i, { noticeMs: 100, graceMs: 500 }, () => undefined);
  t.equal(cut, 2);
  t.same(i.failed.map((e) => [e.status, e.code, e.retryAfterSeconds]), [[503, 'ingress_shutting_down', 1], [503, 'ingress_shutting_down', 1]]);
  t.ok(i.log[2][1] >= 490 && i.log[2][1] < 900, `at the end of the grace period, counted from the signal (${i.log[2][1]} ms)`);
});

t.test('a notice longer than the grace period is cut to it', async (t) => {
  const i = ingress(0, null);
  await drainIngress(i, { noticeMs: 5000, graceMs: 200 }, () => undefined);
  t.ok(i.log[1][1] < 600, `the listener closed within the grace period (${i.log[1][1]} ms)`);
});
