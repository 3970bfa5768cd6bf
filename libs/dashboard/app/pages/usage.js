// Usage: requests, tokens and cost per day for a range, by model (with the prompt-cache share and
// what the cache saved) and
// by key, read from GET /api/v1/usage. The totals are the sums of the API's day buckets.
import { useState } from 'preact/hooks';
import { get, qs } from '../api.js';
import { BarChart, ErrorNote, fmtInt, fmtPct, fmtUsd, html, usePoll } from '../ui.js';

const DAY = 86_400_000;
const isoDay = (ms) => new Date(ms).toISOString().slice(0, 10);
// Every response the ledger meters is a /v1/responses call: the only metered endpoint so far.
const ENDPOINTS = ['/v1/responses'];

function days(from, to) {
  const out = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += DAY) out.push(isoDay(t));
  return out;
}

const sum = (rows, f) => rows.reduce((s, r) => s + (r[f] ?? 0), 0);

function Totals({ rows }) {
  const items = [
    ['Requests', fmtInt(sum(rows, 'requests')), 'requests'],
    ['Input tokens', fmtInt(sum(rows, 'input_tokens')), 'input_tokens'],
    ['Cached tokens', fmtInt(sum(rows, 'cached_tokens')), 'cached_tokens'],
    ['Output tokens', fmtInt(sum(rows, 'output_tokens')), 'output_tokens'],
    ['Reasoning tokens', fmtInt(sum(rows, 'reasoning_tokens')), 'reasoning_tokens'],
    ['Cost', fmtUsd(sum(rows, 'cost')), 'cost'],
    ['Saved by prompt caching', fmtUsd(sum(rows, 'cache_savings')), 'cache_savings'],
  ];
  return html`<dl class="totals" aria-label="Totals for the range">${items.map(([k, v, id]) => html`<div><dt>${k}</dt><dd data-testid=${`total-${id}`}>${v}</dd></div>`)}</dl>`;
}

function Breakdown({ title, rows, nameField, names = {}, cacheShare }) {
  return html`<table class="data" aria-label=${title}>
    <caption>${title}</caption>
    <thead><tr><th scope="col">${nameField === 'model' ? 'Model' : 'Key'}</th><th scope="col">Requests</th><th scope="col">Input</th><th scope="col">Cached</th><th scope="col">Output</th><th scope="col">Reasoning</th>${cacheShare ? html`<th scope="col">Cache share</th><th scope="col">Cache saved</th>` : null}<th scope="col">Cost</th></tr></thead>
    <tbody>
      ${rows.length === 0 ? html`<tr><td colspan=${cacheShare ? 9 : 7}>No usage in this range.</td></tr>` : null}
      ${rows.map((r) => html`<tr>
        <th scope="row">${names[r[nameField]] ?? r[nameField]}</th>
        <td>${fmtInt(r.requests)}</td><td>${fmtInt(r.input_tokens)}</td><td>${fmtInt(r.cached_tokens)}</td><td>${fmtInt(r.output_tokens)}</td><td>${fmtInt(r.reasoning_tokens)}</td>
        ${cacheShare ? html`<td>${fmtPct(r.input_tokens ? r.cached_tokens / r.input_tokens : null)}</td><td>${fmtUsd(r.cache_savings ?? 0)}</td>` : null}
        <td>${fmtUsd(r.cost)}</td>
      </tr>`)}
    </tbody>
  </table>`;
}

export function UsagePage({ accountId }) {
  const today = isoDay(Date.now());
  const [range, setRange] = useState({ from: isoDay(Date.now() - 13 * DAY), to: today });
  const [filter, setFilter] = useState({ key_id: '', model: '', endpoint: '' });
  const base = { from: range.from, to: range.to, account_id: accountId, key_id: filter.key_id, model: filter.model };
  const usage = usePoll(async () => {
    const [byDay, byModel, byKey, keys] = await Promise.all([
      get(`/api/v1/usage${qs({ ...base, group_by: 'day' })}`),
      get(`/api/v1/usage${qs({ ...base, group_by: 'model' })}`),
      get(`/api/v1/usage${qs({ ...base, group_by: 'key' })}`),
      get(`/api/v1/keys${qs({ account_id: accountId })}`),
    ]);
    return { byDay: byDay.data, byModel: byModel.data, byKey: byKey.data, keys: keys.data };
  }, [range.from, range.to, accountId, filter.key_id, filter.model]);
  const d = usage.data;
  const perDay = new Map((d?.byDay ?? []).map((r) => [r.day, r]));
  const empty = { requests: 0, input_tokens: 0, cached_tokens: 0, output_tokens: 0, reasoning_tokens: 0, cost: 0 };
  const chartRows = days(range.from, range.to).map((day) => ({ ...empty, ...perDay.get(day), day }));
  const keyNames = Object.fromEntries((d?.keys ?? []).map((k) => [k.id, `${k.name} (${k.label})`]));
  const preset = (n) => setRange({ from: isoDay(Date.now() - (n - 1) * DAY), to: today });
  return html`
    <form class="filters" onSubmit=${(e) => e.preventDefault()} aria-label="Usage filters">
      <div><label for="u-from">From</label><input id="u-from" type="date" value=${range.from} max=${range.to} onChange=${(e) => e.currentTarget.value && setRange({ ...range, from: e.currentTarget.value })} /></div>
      <div><label for="u-to">To</label><input id="u-to" type="date" value=${range.to} min=${range.from} onChange=${(e) => e.currentTarget.value && setRange({ ...range, to: e.currentTarget.value })} /></div>
      <div class="presets" role="group" aria-label="Range"><button type="button" class="secondary" onClick=${() => preset(1)}>Today</button><button type="button" class="secondary" onClick=${() => preset(7)}>7 days</button><button type="button" class="secondary" onClick=${() => preset(30)}>30 days</button></div>
      <div><label for="u-endpoint">Endpoint</label><select id="u-endpoint" value=${filter.endpoint} onChange=${(e) => setFilter({ ...filter, endpoint: e.currentTarget.value })}><option value="">All endpoints</option>${ENDPOINTS.map((x) => html`<option value=${x}>${x}</option>`)}</select></div>
      <div><label for="u-key">Key</label><select id="u-key" value=${filter.key_id} onChange=${(e) => setFilter({ ...filter, key_id: e.currentTarget.value })}><option value="">All keys</option>${(d?.keys ?? []).map((k) => html`<option value=${k.id}>${k.name}</option>`)}</select></div>
      <div><label for="u-model">Model</label><select id="u-model" value=${filter.model} onChange=${(e) => setFilter({ ...filter, model: e.currentTarget.value })}><option value="">All models</option>${[...new Set([...(d?.byModel ?? []).map((r) => r.model), filter.model].filter(Boolean))].map((m) => html`<option value=${m}>${m}</option>`)}</select></div>
    </form>
    <${ErrorNote} error=${usage.error} />
    ${d ? html`
      <${Totals} rows=${d.byDay} />
      <div class="charts">
        <${BarChart} id="c-requests" title="Requests per day" rows=${chartRows} series=${[{ name: 'requests', color: '#1f4fd1', value: (r) => r.requests }]} />
        <${BarChart} id="c-tokens" title="Tokens per day" rows=${chartRows} series=${[
          { name: 'input (uncached)', color: '#1f4fd1', value: (r) => Math.max(0, r.input_tokens - r.cached_tokens) },
          { name: 'cached input', color: '#7aa2ff', value: (r) => r.cached_tokens },
          { name: 'output', color: '#c2410c', value: (r) => Math.max(0, r.output_tokens - r.reasoning_tokens) },
          { name: 'reasoning', color: '#f59e0b', value: (r) => r.reasoning_tokens },
        ]} />
        <${BarChart} id="c-cost" title="Cost per day (USD)" rows=${chartRows} format=${fmtUsd} series=${[{ name: 'cost', color: '#047857', value: (r) => r.cost }]} />
      </div>
      <${Breakdown} title="By model" rows=${d.byModel} nameField="model" cacheShare=${true} />
      <${Breakdown} title="By key" rows=${d.byKey} nameField="key_id" names=${keyNames} />
    ` : html`<p class="loading">Loading usage…</p>`}`;
}
