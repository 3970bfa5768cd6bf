// Models: the catalog (GET /api/v1/models): prices, context window, deployments with their provider
// family, their routing state now, their errors and rate limits in the last hour and their last
// `npm run doctor` result, and a "Use with Codex" snippet per model.
import { get } from '../api.js';
import { CodexSnippet, ErrorNote, fmtInt, html, usePoll } from '../ui.js';

const price = (p, f) => (p && p[f] !== undefined ? `$${p[f]}` : '–');

/** A deployment's last doctor result: ok with its time to first token, or what failed and the fix. */
function DoctorCell({ checkup }) {
  if (!checkup) return html`<td>not checked</td>`;
  if (checkup.ok) return html`<td>ok${checkup.time_to_first_token_ms === null ? '' : `, first token ${fmtInt(checkup.time_to_first_token_ms)} ms`}</td>`;
  return html`<td class="bad"><details><summary>needs a fix</summary>${checkup.fix}</details></td>`;
}

const STATE_LABELS = { healthy: 'healthy', rate_limited: 'rate limited', ejected: 'ejected', half_open: 'half-open (probing)' };

/** The routing state, with until when and why. */
function RoutingState({ r }) {
  if (!r) return '–';
  const until = r.until ? ` until ${new Date(r.until).toLocaleTimeString()}` : '';
  const why = r.state !== 'healthy' && r.last_error ? r.last_error : r.consecutive_failures ? `${r.consecutive_failures} failure(s) in a row` : '';
  return html`<span class=${r.state === 'healthy' ? '' : 'bad'} title=${why}>${STATE_LABELS[r.state] ?? r.state}${until}</span>`;
}

export function ModelsPage() {
  const models = usePoll(() => get('/api/v1/models'), []);
  const list = models.data?.data ?? [];
  return html`<${ErrorNote} error=${models.error} />
    <p class="hint">Prices are USD per million tokens. State is what routing does with a deployment now: a rate-limited one is skipped until its Retry-After, an ejected one (consecutive 5xx or connection failures) is tried only when nothing else is left, a half-open one takes one probe request. Health counts this deployment's errors and rate limits in the last hour, failed failover attempts included. Doctor: the last <code>npm run doctor</code> run${models.data?.doctor_ran_at ? ` (${new Date(models.data.doctor_ran_at).toLocaleString()})` : ' (none yet)'}.</p>
    ${list.map((m) => html`<section class="card model" aria-labelledby=${`m-${m.id}`}>
      <h2 id=${`m-${m.id}`}>${m.display_name} <code>${m.id}</code></h2>
      <dl class="kv inline">
        <dt>Context window</dt><dd>${m.context_window ? `${fmtInt(m.context_window)} tokens` : '–'}</dd>
        <dt>Input</dt><dd>${price(m.pricing, 'input')}</dd>
        <dt>Cached input</dt><dd>${price(m.pricing, 'cached_input')}</dd>
        <dt>Output</dt><dd>${price(m.pricing, 'output')}</dd>
        <dt>Reasoning</dt><dd>${m.reasoning ? 'yes' : 'no'}</dd>
      </dl>
      <table class="data" aria-label=${`Deployments of ${m.id}`}>
        <thead><tr><th scope="col">Deployment</th><th scope="col">Provider family</th><th scope="col">Priority</th><th scope="col">State</th><th scope="col">Price (in / cached / out)</th><th scope="col">Requests (1 h)</th><th scope="col">Errors (1 h)</th><th scope="col">Rate limited (1 h)</th><th scope="col">Doctor</th></tr></thead>
        <tbody>${m.deployments.map((d) => html`<tr>
          <th scope="row"><code>${d.id}</code></th><td>${d.provider}</td><td>${d.priority}</td><td><${RoutingState} r=${d.routing} /></td>
          <td>${d.pricing ? `${price(d.pricing, 'input')} / ${price(d.pricing, 'cached_input')} / ${price(d.pricing, 'output')}` : 'model price'}</td>
          <td>${fmtInt(d.health_last_hour.requests)}</td>
          <td class=${d.health_last_hour.errors ? 'bad' : ''}>${fmtInt(d.health_last_hour.errors)}</td>
          <td class=${d.health_last_hour.rate_limited ? 'bad' : ''}>${fmtInt(d.health_last_hour.rate_limited)}</td>
          <${DoctorCell} checkup=${d.doctor} />
        </tr>`)}</tbody>
      </table>
      <details><summary>Use with Codex</summary><${CodexSnippet} id=${`codex-${m.id.replace(/[^A-Za-z0-9]/g, '-')}`} ingressUrl=${models.data.ingress_url} model=${m.id} /></details>
    </section>`)}`;
}
