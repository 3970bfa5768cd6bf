// Requests: the request log (GET /api/v1/requests), newest first, filtered and paged; a row opens
// its details, each failed deployment attempt with its error.
import { useState } from 'preact/hooks';
import { get, qs } from '../api.js';
import { ErrorNote, fmtInt, fmtMs, fmtTime, fmtUsd, html, usePoll } from '../ui.js';

const STATUSES = ['completed', 'incomplete', 'failed', 'cancelled'];
const PAGE = 25;

function Details({ r, keyName, onClose }) {
  return html`<section class="card details" aria-labelledby="req-title" data-testid="request-details">
    <div class="details-head"><h2 id="req-title">Request ${r.response_id}</h2><button type="button" class="secondary" onClick=${onClose}>Close</button></div>
    <dl class="kv">
      <dt>Time</dt><dd>${fmtTime(r.time)}</dd>
      <dt>Endpoint</dt><dd>${r.endpoint}</dd>
      <dt>Account</dt><dd>${r.account_id}</dd>
      <dt>Key</dt><dd>${keyName}</dd>
      <dt>User agent</dt><dd>${r.user_agent ?? '–'}</dd>
      <dt>Model</dt><dd>${r.model}</dd>
      <dt>Served by</dt><dd>${r.deployment ?? 'no deployment'}</dd>
      <dt>Status</dt><dd>${r.status}${r.error_code ? ` (${r.error_code})` : ''}</dd>
      <dt>Tokens</dt><dd>input ${fmtInt(r.input_tokens)} (cached ${fmtInt(r.cached_tokens)}${r.cache_write_tokens ? `, written to the cache ${fmtInt(r.cache_write_tokens)}` : ''}), output ${fmtInt(r.output_tokens)} (reasoning ${fmtInt(r.reasoning_tokens)})</dd>
      ${r.cache ? html`<dt>Response cache</dt><dd>${r.cache === 'hit' ? 'hit: answered from the response cache, no provider call' : r.cache === 'bypass' ? 'bypass: the request carried tool outputs' : 'miss'}</dd>` : null}
      <dt>Cost</dt><dd>${fmtUsd(r.cost)}</dd>
      <dt>Time to first token</dt><dd>${fmtMs(r.time_to_first_token_ms)}</dd>
      <dt>Duration</dt><dd>${fmtMs(r.duration_ms)}</dd>
    </dl>
    <h3>Failover attempts</h3>
    ${r.attempts.length === 0
      ? html`<p>None: the first deployment tried served it.</p>`
      : html`<ol class="attempts">${r.attempts.map((a) => html`<li><strong>${a.deployment}</strong>: HTTP ${a.status}${a.code ? ` ${a.code}` : ''}: ${a.message}</li>`)}</ol>`}
  </section>`;
}

export function RequestsPage({ accountId }) {
  const [filter, setFilter] = useState({ key_id: '', model: '', status: '' });
  // The cursors of the pages before this one: "Newer" pops, "Older" pushes next_before.
  const [cursors, setCursors] = useState([]);
  const [open, setOpen] = useState(null);
  const before = cursors[cursors.length - 1];
  const log = usePoll(async () => {
    const [page, keys] = await Promise.all([
      get(`/api/v1/requests${qs({ ...filter, account_id: accountId, before, limit: PAGE })}`),
      get(`/api/v1/keys${qs({ account_id: accountId })}`),
    ]);
    return { ...page, keys: keys.data };
  }, [accountId, filter.key_id, filter.model, filter.status, before]);
  const set = (f) => {
    setCursors([]);
    setFilter({ ...filter, ...f });
  };
  const keyNames = Object.fromEntries((log.data?.keys ?? []).map((k) => [k.id, k.name]));
  const rows = log.data?.data ?? [];
  const opened = open && rows.find((r) => r.id === open);
  return html`
    <form class="filters" onSubmit=${(e) => e.preventDefault()} aria-label="Request filters">
      <div><label for="r-key">Key</label><select id="r-key" value=${filter.key_id} onChange=${(e) => set({ key_id: e.currentTarget.value })}><option value="">All keys</option>${(log.data?.keys ?? []).map((k) => html`<option value=${k.id}>${k.name}</option>`)}</select></div>
      <div><label for="r-model">Model</label><input id="r-model" value=${filter.model} placeholder="any model" onChange=${(e) => set({ model: e.currentTarget.value.trim() })} /></div>
      <div><label for="r-status">Status</label><select id="r-status" value=${filter.status} onChange=${(e) => set({ status: e.currentTarget.value })}><option value="">Any status</option>${STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}</select></div>
    </form>
    <${ErrorNote} error=${log.error} />
    ${opened ? html`<${Details} r=${opened} keyName=${keyNames[opened.key_id] ?? opened.key_id} onClose=${() => setOpen(null)} />` : null}
    <table class="data requests" aria-label="Request log">
      <thead><tr><th scope="col">Time</th><th scope="col">Key</th><th scope="col">Model</th><th scope="col">Deployment</th><th scope="col">Status</th><th scope="col">Input</th><th scope="col">Cached</th><th scope="col">Output</th><th scope="col">Reasoning</th><th scope="col">Cost</th><th scope="col">TTFT</th><th scope="col">Duration</th><th scope="col">Failovers</th></tr></thead>
      <tbody>
        ${log.data && rows.length === 0 ? html`<tr><td colspan="13">No requests${before ? ' on this page' : ' yet'}.</td></tr>` : null}
        ${rows.map((r) => html`<tr class=${open === r.id ? 'selected' : ''} data-response-id=${r.response_id}>
          <td><button type="button" class="link" aria-label=${`Details of request ${r.response_id}`} onClick=${() => setOpen(open === r.id ? null : r.id)}>${fmtTime(r.time)}</button></td>
          <td>${keyNames[r.key_id] ?? r.key_id}</td><td>${r.model}</td><td>${r.deployment ?? '–'}</td>
          <td><span class=${`status status-${r.status}`}>${r.status}</span></td>
          <td>${fmtInt(r.input_tokens)}</td><td>${fmtInt(r.cached_tokens)}</td><td>${fmtInt(r.output_tokens)}</td><td>${fmtInt(r.reasoning_tokens)}</td>
          <td>${fmtUsd(r.cost)}</td><td>${fmtMs(r.time_to_first_token_ms)}</td><td>${fmtMs(r.duration_ms)}</td><td>${r.attempts.length}</td>
        </tr>`)}
      </tbody>
    </table>
    <nav class="pager" aria-label="Pages of the request log">
      <button type="button" class="secondary" disabled=${cursors.length === 0} onClick=${() => setCursors(cursors.slice(0, -1))}>Newer</button>
      <span>Page ${cursors.length + 1}</span>
      <button type="button" class="secondary" disabled=${!log.data?.has_more} onClick=${() => setCursors([...cursors, log.data.next_before])}>Older</button>
    </nav>`;
}
