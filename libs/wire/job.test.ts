import t from 'tap';
import { DEFAULT_INPUT_LIMITS } from '../protocol/bounds';
import { decode, encode } from './frames';
import { isJob, withOwnStrings, type Job } from './job';

t.test('a decoded job copied for a stream to keep is the same job, its body the same bytes', async (t) => {
  const job: Job = {
    id: 'resp_0123456789abcdef', replyTo: 'rh.out.i1.resp_0123456789abcdef', batchesTo: 'rh.out.i1', keyId: 'key_1', userAgent: 'codex_exec/0.169.0',
    body: new TextEncoder().encode('{"model":"m/x","input":"é"}'), limits: DEFAULT_INPUT_LIMITS, deadline: 1_900_000_000_000,
    plan: { model: 'm/x', pricing: { input: 1.25, output: 10 }, deployments: [{ provider: 'openai-responses', base_url: 'http://127.0.0.1:9/v1', model: 'x', headers: { 'x-a': 'ü' } }] },
  };
  const decoded = decode<unknown>(encode(job));
  t.ok(isJob(decoded));
  const own = withOwnStrings(decoded as Job);
  t.same(own, job);
  t.equal(own.body, (decoded as Job).body, 'the body is not copied');
  const pulled = withOwnStrings({ ...job, body: undefined, pull: { subject: 'rh.pull.i1', bytes: 10, chunkBytes: 4 } });
  t.notOk('body' in pulled, 'a job whose body is pulled gets none');
});
