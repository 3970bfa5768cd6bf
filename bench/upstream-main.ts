// Process entry of the bench upstream: prints its URL as the first line of stdout, stops on SIGTERM.
import { BenchUpstream } from './upstream';

void BenchUpstream.start(Number(process.env.PORT ?? 0)).then((up) => {
  process.stdout.write(`${up.url}\n`);
  process.on('SIGTERM', () => void up.close().then(() => process.exit(0)));
});
