// The demo upstream of the local cluster: a mock provider that speaks every family's wire format
// with a deterministic behaviour (libs/providers/mock/demo.ts), so the cluster works with no keys.
import { MockUpstream } from '../../libs/providers/mock/server';
import { runProcess } from '../../libs/telemetry/lifecycle';
import { logger } from '../../libs/telemetry/log';

const log = logger('demo-upstream');

runProcess(log, async () => {
  const mock = await MockUpstream.start({ port: Number(process.env.PORT ?? 8099), host: process.env.HOST ?? '127.0.0.1' });
  log(`listening on ${mock.url}`);
  return () => mock.close();
});
