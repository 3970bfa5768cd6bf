import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { countTokens, failoverCause, metrics, registry } from './metrics';

const DASHBOARD = join(__dirname, '..', '..', '..', 'deploy', 'grafana', 'routerhub.json');
/** Labels Prometheus adds at scrape time, and a histogram's bucket bound. */
const SCRAPE_LABELS = new Set(['job', 'instance', 'le']);

interface Panel { type: string; title: string; id: number; targets?: Array<{ expr: string }>; gridPos: { w: number; h: number } }

/** A series name in an expr: a histogram's _bucket/_sum/_count series belong to the histogram. */
function metricOf(series: string, names: Set<string>): string | null {
  if (names.has(series)) return series;
  const base = series.replace(/_(bucket|sum|count)$/, '');
  return base !== series && names.has(base) ? base : null;
}

function labelNamesOf(name: string): string[] {
  return ((registry.getSingleMetric(name) as unknown as { labelNames?: string[] })?.labelNames) ?? [];
}

t.test('every Grafana expression names metrics and labels the registry has', async (t) => {
  const doc = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { uid: string; panels: Panel[] };
  const names = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
  t.equal(doc.uid, 'routerhub');
  const charts = doc.panels.filter((p) => p.type !== 'row');
  t.ok(charts.length >= 10, 'a dashboard, not a sketch');
  t.equal(new Set(doc.panels.map((p) => p.id)).size, doc.panels.length, 'panel ids are unique');
  const used = new Set<string>();
  for (const panel of charts) {
    t.ok(panel.targets && panel.targets.length > 0, `${panel.title} has queries`);
    for (const { expr } of panel.targets ?? []) {
      const series = [...expr.matchAll(/\b(routerhub_\w+|nodejs_\w+|process_\w+)\b/g)].map((m) => m[1]);
      t.ok(series.length > 0, `${panel.title}: ${expr} names a metric`);
      const metricsHere = series.map((s) => {
        const m = metricOf(s, names);
        t.ok(m, `${panel.title}: ${s} exists in the registry`);
        return m;
      }).filter((m): m is string => m !== null);
      for (const m of metricsHere) used.add(m);
      // Labels grouped by or matched on must be labels of one of the metrics in the expression.
      const labels = [...expr.matchAll(/by \(([^)]*)\)/g)].flatMap((m) => m[1].split(',').map((l) => l.trim()))
        .concat([...expr.matchAll(/(\w+)=~?"/g)].map((m) => m[1]));
      const known = new Set([...SCRAPE_LABELS, ...metricsHere.flatMap(labelNamesOf)]);
      for (const l of labels) t.ok(known.has(l), `${panel.title}: label ${l} exists on ${metricsHere.join(', ')}`);
    }
  }
  // The operator metrics of issue 13 are all on the dashboard.
  for (const m of ['routerhub_tokens_total', 'routerhub_upstream_time_to_first_byte_seconds', 'routerhub_upstream_duration_seconds', 'routerhub_request_duration_seconds', 'routerhub_rejections_total', 'routerhub_failovers_total', 'routerhub_worker_jobs']) {
    t.ok(used.has(m), `${m} is charted`);
  }
});

t.test('tokens are counted by type and deployment; zero counts add no series', async (t) => {
  metrics.tokens.reset();
  countTokens('openai/gpt-5', 'primary', { input_tokens: 100, input_tokens_details: { cached_tokens: 40 }, output_tokens: 30, output_tokens_details: { reasoning_tokens: 12 } });
  countTokens('openai/gpt-5', 'primary', { input_tokens: 10, output_tokens: 5 });
  countTokens('openai/gpt-5', 'backup', { input_tokens: 7, input_tokens_details: { cached_tokens: 0, cache_write_tokens: 7 }, output_tokens: 1 });
  const values = (await metrics.tokens.get()).values.map((v) => [`${v.labels.deployment} ${v.labels.type}`, v.value]);
  t.same(Object.fromEntries(values), { 'primary input': 110, 'primary cached': 40, 'primary output': 35, 'primary reasoning': 12, 'backup input': 7, 'backup cache_write': 7, 'backup output': 1 });
});

t.test('failover causes are a fixed set, whatever the upstream said', async (t) => {
  t.equal(failoverCause(429, 'rate_limit_exceeded'), 'rate_limit');
  t.equal(failoverCause(502, 'upstream_auth_failed'), 'auth');
  t.equal(failoverCause(502, 'upstream_model_not_found'), 'model_not_found');
  t.equal(failoverCause(503, 'server_is_overloaded'), 'overloaded');
  t.equal(failoverCause(502, 'upstream_connection_error'), 'connection');
  t.equal(failoverCause(502, 'upstream_stream_incomplete'), 'stream_failed');
  t.equal(failoverCause(502, 'upstream_error'), 'server_error');
  t.equal(failoverCause(400, 'some_provider_specific_code_1234'), 'other');
});
