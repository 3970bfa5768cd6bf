// The demo upstream of the local cluster: a mock provider that speaks every family's wire format
// with a deterministic behaviour (libs/providers/mock/demo.ts), so the cluster works with no keys.
import { MockUpstream } from '../../libs/providers/mock/server';
import { logger } from '../../libs/telemetry/log';

const log = logger('demo-upstream');

MockUpstream.start({ port: Number(process.env.PORT ?? 8099), host: process.env.HOST ?? '127.0.0.1' })
  .then((mock) => {
    log(`listening on ${mock.url}`);
    const stop = () => void mock.close().then(() => process.exit(0));
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  })
  .catch((err: Error) => {
    log(`cannot start: ${err.message}`);
    process.exit(1);
  });
