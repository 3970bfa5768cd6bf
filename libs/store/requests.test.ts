// The request log against a real redis-server: every response appended, the age bound kept by one
// trim per interval rather than a trim per append.
import t from 'tap';
import { ServerProcess } from '../testing/faults';
import { connectRedis } from './redis';
import { RequestLog, type RequestRecord } from './requests';

const record = (i: number): Omit<RequestRecord, 'id'> => ({
  time: new Date().toISOString(), response_id: `resp_${i}`, account_id: 'default', key_id: 'key_1', user_agent: null,
  endpoint: '/v1/responses', model: 'm/x', deployment: 'd', attempts: [], status: 'completed', error_code: null, input_tokens: 1,
  cached_tokens: 0, cache_write_tokens: 0, output_tokens: 1, reasoning_tokens: 0, usage_estimated: false, cost: 0,
  time_to_first_token_ms: 1, duration_ms: 1,
});

const xtrimCalls = async (redis: ReturnType<typeof connectRedis>) => Number(/cmdstat_xtrim:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);

t.test('entries older than the age bound are trimmed, with one XTRIM per interval, not per append', async (t) => {
  const server = await ServerProcess.redis();
  const redis = connectRedis(server.url);
  t.teardown(async () => {
    redis.disconnect();
    await server.stop();
  });
  const maxAgeMs = 300;
  const log = new RequestLog(redis, { maxEntries: 100_000, maxAgeMs });
  // Redis trims approximately (whole stream nodes of 100 entries): enough old entries to fill some.
  for (let i = 0; i < 250; i++) await log.append(record(i));
  t.equal(await xtrimCalls(redis), 1, '250 appends within the interval: one trim');
  t.equal(await redis.xlen('rh:requests'), 250);
  await new Promise((r) => setTimeout(r, maxAgeMs + 100));
  await log.append(record(250));
  t.equal(await xtrimCalls(redis), 2, 'the first append after the interval trims');
  t.ok((await redis.xlen('rh:requests')) <= 51, 'the entries past the age bound are gone (all but the last node)');
  const page = await log.list({ limit: 1 });
  t.equal(page.data[0].response_id, 'resp_250', 'the newest entry stays');
});
