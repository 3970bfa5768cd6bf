// Keys: the account's keys with their usage this month against the limit and their rate limits;
// create one (shown once, with the Codex set-up), edit limits, disable, revoke.
import { useState } from 'preact/hooks';
import { api, get, qs } from '../api.js';
import { CodexSnippet, CopyButton, ErrorNote, fmtDate, fmtInt, fmtTime, fmtUsd, html, usePoll } from '../ui.js';

const RESETS = [['', 'never (all time)'], ['daily', 'daily'], ['weekly', 'weekly'], ['monthly', 'monthly']];

/** The form's limit fields as the API's key settings (blank: no limit, sent as null when editing). */
function limitsOf(f, editing) {
  const num = (name) => {
    const v = String(f.get(name) ?? '').trim();
    return v === '' ? (editing ? null : undefined) : Number(v);
  };
  const out = {
    limit: num('limit'),
    limit_reset: (f.get('limit_reset') || null) ?? undefined,
    rpm: num('rpm'),
    tpm: num('tpm'),
    max_concurrent: num('max_concurrent'),
  };
  const models = String(f.get('models') ?? '').split(',').map((m) => m.trim()).filter(Boolean);
  out.models = models.length ? models : editing ? null : undefined;
  const expires = String(f.get('expires_at') ?? '');
  out.expires_at = expires ? new Date(`${expires}T23:59:59Z`).toISOString() : editing ? null : undefined;
  if (!editing && out.limit_reset === null) delete out.limit_reset;
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}

function LimitFields({ prefix, value = {} }) {
  const id = (n) => `${prefix}-${n}`;
  return html`<div class="fields">
    <div><label for=${id('limit')}>Spend limit (USD)</label><input id=${id('limit')} name="limit" type="number" min="0" step="0.01" value=${value.limit ?? ''} placeholder="none" /></div>
    <div><label for=${id('reset')}>Limit resets</label><select id=${id('reset')} name="limit_reset" value=${value.limit_reset ?? ''}>${RESETS.map(([v, t]) => html`<option value=${v}>${t}</option>`)}</select></div>
    <div><label for=${id('rpm')}>Requests per minute</label><input id=${id('rpm')} name="rpm" type="number" min="1" step="1" value=${value.rpm ?? ''} placeholder="no limit" /></div>
    <div><label for=${id('tpm')}>Tokens per minute</label><input id=${id('tpm')} name="tpm" type="number" min="1" step="1" value=${value.tpm ?? ''} placeholder="no limit" /></div>
    <div><label for=${id('conc')}>Streams at once</label><input id=${id('conc')} name="max_concurrent" type="number" min="1" step="1" value=${value.max_concurrent ?? ''} placeholder="no limit" /></div>
    <div><label for=${id('models')}>Allowed models</label><input id=${id('models')} name="models" type="text" value=${(value.models ?? []).join(', ')} placeholder="all (or e.g. openai/*, routerhub/demo)" /></div>
    <div><label for=${id('expires')}>Expires (UTC date)</label><input id=${id('expires')} name="expires_at" type="date" value=${value.expires_at ? value.expires_at.slice(0, 10) : ''} /></div>
  </div>`;
}

function statusOf(k) {
  if (k.disabled) return 'disabled';
  if (k.expires_at && Date.parse(k.expires_at) <= Date.now()) return 'expired';
  if (k.limit !== null && k.limit_remaining === 0) return 'over limit';
  return 'active';
}

function rates(k) {
  const parts = [];
  if (k.rpm) parts.push(`${fmtInt(k.rpm)} rpm`);
  if (k.tpm) parts.push(`${fmtInt(k.tpm)} tpm`);
  if (k.max_concurrent) parts.push(`${k.max_concurrent} at once`);
  return parts.length ? parts.join(' · ') : 'none';
}

function NewKey({ created, models, ingressUrl, onDone }) {
  const [model, setModel] = useState(models[0]?.id ?? 'routerhub/demo');
  return html`<section class="card newkey" aria-labelledby="newkey-title" data-testid="new-key">
    <h2 id="newkey-title">Your new key “${created.data.name}”</h2>
    <p class="warn">This is the only time the key is shown. Copy it now; RouterHub keeps only its hash.</p>
    <div class="keyline"><code data-testid="new-key-value">${created.key}</code><${CopyButton} text=${created.key} label="Copy key" /></div>
    <h3>Use it with Codex</h3>
    <label for="codex-model">Model</label>
    <select id="codex-model" value=${model} onChange=${(e) => setModel(e.currentTarget.value)}>
      ${models.map((m) => html`<option value=${m.id}>${m.display_name} (${m.id})</option>`)}
    </select>
    <${CodexSnippet} id="newkey" ingressUrl=${ingressUrl} model=${model} apiKey=${created.key} />
    <button type="button" onClick=${onDone}>Done, I saved it</button>
  </section>`;
}

function CreateKey({ accountId, me, onCreated }) {
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    setError(null);
    try {
      const body = { name: String(f.get('name')).trim(), ...limitsOf(f, false) };
      if (me.role === 'admin' && accountId) body.account_id = accountId;
      onCreated(await api('POST', '/api/v1/keys', body));
      form.reset();
    } catch (err) {
      setError(err);
    }
  };
  return html`<details class="card"><summary>Create key</summary>
    <form onSubmit=${submit} aria-label="Create key">
      <div class="fields"><div><label for="key-name">Name</label><input id="key-name" name="name" required maxlength="200" placeholder="e.g. alice's laptop" /></div></div>
      <${LimitFields} prefix="new" />
      ${me.role === 'admin' ? html`<p class="hint">For account: <strong>${accountId || 'default'}</strong> (switch accounts at the top).</p>` : null}
      <${ErrorNote} error=${error} />
      <button type="submit">Create key</button>
    </form>
  </details>`;
}

function KeyRow({ k, onChanged }) {
  const [mode, setMode] = useState(null); // null | 'edit' | 'revoke'
  const [error, setError] = useState(null);
  const act = async (fn) => {
    setError(null);
    try {
      await fn();
      setMode(null);
      onChanged();
    } catch (err) {
      setError(err);
    }
  };
  const save = (e) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    act(() => api('PATCH', `/api/v1/keys/${k.id}`, { name: String(f.get('name')).trim(), ...limitsOf(f, true) }));
  };
  const status = statusOf(k);
  return html`<tr data-key-id=${k.id}>
      <th scope="row">${k.name}${k.management ? html` <span class="tag">management</span>` : null}</th>
      <td><code>${k.label}</code></td>
      <td>${fmtDate(k.created_at)}</td>
      <td>${k.last_used_at ? fmtTime(k.last_used_at) : 'never'}</td>
      <td data-testid="key-usage">${fmtUsd(k.usage_monthly)}${k.limit !== null ? html` <span class="muted">of ${fmtUsd(k.limit)} ${k.limit_reset ?? 'total'}</span>` : null}</td>
      <td>${rates(k)}</td>
      <td><span class=${`status status-${status.replace(' ', '-')}`}>${status}</span></td>
      <td class="actions">
        <button type="button" class="secondary" aria-expanded=${mode === 'edit'} onClick=${() => setMode(mode === 'edit' ? null : 'edit')}>Edit</button>
        <button type="button" class="secondary" onClick=${() => act(() => api('PATCH', `/api/v1/keys/${k.id}`, { disabled: !k.disabled }))}>${k.disabled ? 'Enable' : 'Disable'}</button>
        <button type="button" class="danger" onClick=${() => setMode('revoke')}>Revoke</button>
      </td>
    </tr>
    ${mode === 'edit' ? html`<tr class="detail"><td colspan="8">
      <form onSubmit=${save} aria-label=${`Edit key ${k.name}`}>
        <div class="fields"><div><label for=${`name-${k.id}`}>Name</label><input id=${`name-${k.id}`} name="name" required value=${k.name} /></div></div>
        <${LimitFields} prefix=${`edit-${k.id}`} value=${k} />
        <${ErrorNote} error=${error} />
        <button type="submit">Save limits</button> <button type="button" class="secondary" onClick=${() => setMode(null)}>Cancel</button>
      </form></td></tr>` : null}
    ${mode === 'revoke' ? html`<tr class="detail"><td colspan="8" role="alertdialog" aria-labelledby=${`revoke-${k.id}`}>
      <p id=${`revoke-${k.id}`}><strong>Revoke “${k.name}” (${k.label})?</strong> Every request with it will get 401 from now on. This cannot be undone.</p>
      <${ErrorNote} error=${error} />
      <button type="button" class="danger" autofocus onClick=${() => act(() => api('DELETE', `/api/v1/keys/${k.id}`))}>Revoke for good</button>
      <button type="button" class="secondary" onClick=${() => setMode(null)}>Cancel</button>
    </td></tr>` : null}
    ${mode === null && error ? html`<tr class="detail"><td colspan="8"><${ErrorNote} error=${error} /></td></tr>` : null}`;
}

export function KeysPage({ me, accountId }) {
  const [created, setCreated] = useState(null);
  const [tick, setTick] = useState(0);
  const keys = usePoll(() => get(`/api/v1/keys${qs({ account_id: accountId })}`), [accountId, tick]);
  const models = usePoll(() => get('/api/v1/models'), []);
  return html`
    ${created && models.data ? html`<${NewKey} created=${created} models=${models.data.data} ingressUrl=${models.data.ingress_url} onDone=${() => setCreated(null)} />` : null}
    <${CreateKey} accountId=${accountId} me=${me} onCreated=${(c) => { setCreated(c); setTick(tick + 1); }} />
    <${ErrorNote} error=${keys.error} />
    <table class="data" aria-label="API keys">
      <thead><tr><th scope="col">Name</th><th scope="col">Key</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Usage this month</th><th scope="col">Rate limits</th><th scope="col">Status</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>
        ${keys.data?.data.length === 0 ? html`<tr><td colspan="8">No keys yet: create one above.</td></tr>` : null}
        ${(keys.data?.data ?? []).map((k) => html`<${KeyRow} key=${k.id} k=${k} onChanged=${() => setTick((t) => t + 1)} />`)}
      </tbody>
    </table>`;
}
