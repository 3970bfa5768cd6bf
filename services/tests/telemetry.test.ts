// What an operator sees: OpenTelemetry spans at a real OTLP/HTTP receiver (one trace per response:
// ingress → worker → the upstream HTTP call, GenAI attributes, an error status when it fails, a
// service.name per process), and one structured log line per response carrying its trace id,
// with no API key and no prompt text anywhere in any process's output.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { postResponses, startTestCluster, terminals, waitUntil, type TestCluster } from '../../libs/testing/cluster';

interface OtlpSpan {
  traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number;
  attributes?: Array<{ key: string; value: Record<string, unknown> }>;
  status?: { code?: number; message?: string };
}
interface Received { service: string; span: OtlpSpan }

const received: Received[] = [];
let receiver: Server;
let tc: TestCluster;
let output = '';
const PROMPT = 'The secret prompt text is PURPLE-ELEPHANT-42.';

t.before(async () => {
  // The receiver speaks OTLP/HTTP with JSON bodies (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/json).
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const doc = JSON.parse(body) as { resourceSpans: Array<{ resource: { attributes: OtlpSpan['attributes'] }; scopeSpans: Array<{ spans: OtlpSpan[] }> }> };
        for (const rs of doc.resourceSpans) {
          const service = String(rs.resource.attributes?.find((a) => a.key === 'service.name')?.value.stringValue);
          for (const ss of rs.scopeSpans) for (const span of ss.spans) received.push({ service, span });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  tc = await startTestCluster((url) => [
    { id: 'otel/responses', deployments: [{ provider: 'openai-responses', base_url: `${url}/v1`, model: 'gpt-test' }] },
    { id: 'otel/anthropic', deployments: [{ provider: 'anthropic', base_url: `${url}/v1`, model: 'claude-test' }] },
  ], {
    stdio: 'pipe',
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '100' },
  });
  for (const p of [tc.cluster.dashboard, ...tc.cluster.workers, ...tc.cluster.ingresses.map((i) => i.process)]) {
    p.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    p.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  }
});
t.teardown(async () => {
  await tc?.stop();
  receiver?.close();
});

const attr = (span: OtlpSpan, key: string): unknown => {
  const v = span.attributes?.find((a) => a.key === key)?.value;
  return v === undefined ? undefined : v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : v.boolValue ?? v.doubleValue);
};

t.test('one trace per response: ingress → worker → upstream call, with the GenAI attributes and the usage the client saw', async (t) => {
  tc.mock.script({ parts: [{ type: 'text', text: 'Hello from the mock.' }], usage: { input: 120, cached: 100, output: 7, reasoning: 2 } });
  const r = await postResponses(tc.cluster.baseUrl, tc.key, { model: 'otel/responses', stream: true, prompt_cache_key: 'thread-123', input: [{ type: 'message', role: 'user', content: PROMPT }] });
  const done = terminals(r.events)[0].data as { type: string; response: { id: string; usage: { input_tokens: number; output_tokens: number } } };
  t.equal(done.type, 'response.completed');
  const id = done.response.id;
  const ingressSpan = () => received.find((s) => s.service === 'routerhub-ingress' && attr(s.span, 'gen_ai.response.id') === id);
  t.ok(await waitUntil(() => {
    const root = ingressSpan();
    return !!root && received.filter((s) => s.span.traceId === root.span.traceId).length >= 3;
  }, 10_000), 'the spans of the response arrived at the OTLP receiver');
  const root = ingressSpan()!;
  const inTrace = received.filter((s) => s.span.traceId === root.span.traceId);
  const worker = inTrace.find((s) => s.service === 'routerhub-worker' && s.span.name === 'chat otel/responses')!;
  const upstream = inTrace.find((s) => s.service === 'routerhub-worker' && s.span.parentSpanId === worker?.span.spanId)!;
  t.ok(worker, 'the worker\'s span is in the same trace');
  t.equal(worker.span.parentSpanId, root.span.spanId, 'the worker\'s span is a child of the ingress\'s');
  t.ok(upstream, 'the upstream HTTP call (undici) is a child of the worker\'s span');
  t.equal(attr(upstream.span, 'http.request.method'), 'POST');
  t.equal(root.span.name, 'chat otel/responses');
  t.equal(attr(root.span, 'gen_ai.operation.name'), 'chat');
  t.equal(attr(root.span, 'gen_ai.request.model'), 'otel/responses');
  t.equal(attr(root.span, 'gen_ai.conversation.id'), 'thread-123');
  t.equal(attr(worker.span, 'gen_ai.provider.name'), 'openai');
  t.equal(attr(worker.span, 'gen_ai.response.model'), 'gpt-test');
  t.equal(attr(worker.span, 'gen_ai.usage.input_tokens'), done.response.usage.input_tokens);
  t.equal(attr(worker.span, 'gen_ai.usage.output_tokens'), done.response.usage.output_tokens);
  t.equal(attr(worker.span, 'gen_ai.usage.cache_read.input_tokens'), 100);
  t.equal(attr(worker.span, 'gen_ai.usage.reasoning.output_tokens'), 2);
  t.equal(new Set(inTrace.map((s) => s.span.traceId)).size, 1);

  // The log line of this response: JSON, with the trace id, ids and counts only.
  t.ok(await waitUntil(() => output.includes(id), 5000), 'the worker logged the response');
  const line = output.split('\n').filter((l) => l.includes(id) && l.includes('"msg":"response"'));
  t.equal(line.length, 1, 'one log line per response');
  const entry = JSON.parse(line[0]) as Record<string, unknown>;
  t.match(entry, { role: 'worker', msg: 'response', response_id: id, model: 'otel/responses', status: 'completed', trace_id: root.span.traceId, input_tokens: 120, output_tokens: 7 });
});

t.test('a failed response: the spans carry an error status and the error code', async (t) => {
  tc.mock.script({ parts: [], httpError: { status: 400, message: 'bad thing', type: 'invalid_request_error' } });
  const r = await postResponses(tc.cluster.baseUrl, tc.key, { model: 'otel/anthropic', stream: true, input: 'hi' });
  t.equal(r.status, 400);
  t.ok(await waitUntil(() => received.some((s) => s.service === 'routerhub-worker' && s.span.name === 'chat otel/anthropic' && s.span.status?.code === 2), 10_000), 'the worker span arrived with STATUS_CODE_ERROR');
  const worker = received.find((s) => s.span.name === 'chat otel/anthropic' && s.service === 'routerhub-worker')!;
  t.equal(attr(worker.span, 'gen_ai.provider.name'), 'anthropic');
  t.ok(attr(worker.span, 'error.type'), 'error.type names the code');
});

t.test('every process names itself, and no output holds a key or the prompt', async (t) => {
  const dash = await fetch(`${tc.cluster.dashboardUrl}/api/v1/keys`, { headers: { authorization: `Bearer ${tc.adminKey}` } });
  t.equal(dash.status, 200);
  t.ok(await waitUntil(() => received.some((s) => s.service === 'routerhub-dashboard'), 10_000), 'the dashboard exports spans as routerhub-dashboard');
  t.ok(received.some((s) => s.service === 'routerhub-ingress') && received.some((s) => s.service === 'routerhub-worker'));
  await fetch(`${tc.cluster.baseUrl}/v1/responses`, { method: 'POST', headers: { authorization: 'Bearer sk-rh-not-a-real-key-123456', 'content-type': 'application/json' }, body: '{"model":"otel/responses","input":"x"}' });
  const spans = JSON.stringify(received);
  for (const secret of [tc.key, tc.adminKey, 'sk-rh-not-a-real-key-123456', 'PURPLE-ELEPHANT-42']) {
    t.notOk(output.includes(secret), `no process printed ${secret.slice(0, 9)}…`);
    t.notOk(spans.includes(secret), `no span carries ${secret.slice(0, 9)}…`);
  }
});
