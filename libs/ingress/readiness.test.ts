import t from 'tap';
import { readiness, type ReadinessSources } from './readiness';

const up: ReadinessSources = { natsConnected: () => true, redisAnswers: async () => true, redisTimeoutMs: 1000, liveWorkers: () => 2, workerDeadMs: 3000 };

t.test('ready when every check passes; a stopping ingress is not, and says why', async (t) => {
  t.match(await readiness(up), { status: 'ready', checks: { nats: true, redis: true, workers: true, accepting: true }, failed: [] });
  const stopping = await readiness({ ...up, draining: () => true });
  t.match(stopping, { status: 'not_ready', checks: { accepting: false, nats: true }, live_workers: 2 });
  t.same(stopping.failed.map((f) => f.check), ['accepting']);
  t.match(stopping.failed[0].message, /shutting down \(SIGTERM\)/);
});

t.test('each failed check is named', async (t) => {
  const r = await readiness({ ...up, natsConnected: () => false, liveWorkers: () => 0, draining: () => false });
  t.same(r.failed.map((f) => f.check), ['nats', 'workers']);
});
