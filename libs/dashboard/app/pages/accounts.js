// Accounts and users (admins only): create accounts with spend limits, disable them; invite users
// with an initial password, change their role or account, disable them.
import { useState } from 'preact/hooks';
import { api, get } from '../api.js';
import { CopyButton, ErrorNote, fmtDate, fmtTime, fmtUsd, html, usePoll } from '../ui.js';

const RESETS = [['', 'never (all time)'], ['daily', 'daily'], ['weekly', 'weekly'], ['monthly', 'monthly']];

function useAction(done) {
  const [error, setError] = useState(null);
  const run = async (fn) => {
    setError(null);
    try {
      const r = await fn();
      done();
      return r;
    } catch (err) {
      setError(err);
      return null;
    }
  };
  return [error, run];
}

function Accounts({ accounts, refresh }) {
  const [error, run] = useAction(refresh);
  const create = async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const limit = String(f.get('limit')).trim();
    const body = { name: String(f.get('name')).trim() };
    if (limit !== '') body.limit = Number(limit);
    if (f.get('limit_reset')) body.limit_reset = f.get('limit_reset');
    if (await run(() => api('POST', '/api/v1/accounts', body))) form.reset();
  };
  return html`<section aria-labelledby="accounts-title">
    <h2 id="accounts-title">Accounts</h2>
    <form class="card" onSubmit=${create} aria-label="Create account">
      <div class="fields">
        <div><label for="acc-name">Name</label><input id="acc-name" name="name" required maxlength="200" placeholder="team or customer" /></div>
        <div><label for="acc-limit">Spend limit (USD)</label><input id="acc-limit" name="limit" type="number" min="0" step="0.01" placeholder="none" /></div>
        <div><label for="acc-reset">Limit resets</label><select id="acc-reset" name="limit_reset">${RESETS.map(([v, t]) => html`<option value=${v}>${t}</option>`)}</select></div>
      </div>
      <${ErrorNote} error=${error} />
      <button type="submit">Create account</button>
    </form>
    <table class="data" aria-label="Accounts">
      <thead><tr><th scope="col">Name</th><th scope="col">Id</th><th scope="col">Created</th><th scope="col">Spent this month</th><th scope="col">Limit</th><th scope="col">Status</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>${accounts.map((a) => html`<tr data-account-id=${a.id}>
        <th scope="row">${a.name}</th><td><code>${a.id}</code></td><td>${fmtDate(a.created_at)}</td><td>${fmtUsd(a.usage_monthly)}</td>
        <td>${a.limit === null ? 'none' : `${fmtUsd(a.limit)} ${a.limit_reset ?? 'total'} (${fmtUsd(a.limit_remaining)} left)`}</td>
        <td><span class=${`status status-${a.disabled ? 'disabled' : 'active'}`}>${a.disabled ? 'disabled' : 'active'}</span></td>
        <td class="actions"><button type="button" class="secondary" onClick=${() => run(() => api('PATCH', `/api/v1/accounts/${a.id}`, { disabled: !a.disabled }))}>${a.disabled ? 'Enable' : 'Disable'}</button></td>
      </tr>`)}</tbody>
    </table>
  </section>`;
}

function Users({ users, accounts, refresh }) {
  const [error, run] = useAction(refresh);
  const [invited, setInvited] = useState(null);
  const invite = async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const body = { email: String(f.get('email')).trim(), role: f.get('role'), account_id: f.get('account_id') };
    const password = String(f.get('password'));
    if (password) body.password = password;
    const r = await run(() => api('POST', '/api/v1/users', body));
    if (r) {
      setInvited({ email: r.data.email, password: r.password ?? null });
      form.reset();
    }
  };
  const names = Object.fromEntries(accounts.map((a) => [a.id, a.name]));
  return html`<section aria-labelledby="users-title">
    <h2 id="users-title">Users</h2>
    <form class="card" onSubmit=${invite} aria-label="Invite user">
      <div class="fields">
        <div><label for="user-email">Email</label><input id="user-email" name="email" type="email" required autocomplete="off" /></div>
        <div><label for="user-password">Initial password</label><input id="user-password" name="password" type="text" minlength="10" autocomplete="new-password" placeholder="leave blank to generate" /></div>
        <div><label for="user-role">Role</label><select id="user-role" name="role"><option value="member">member (their account)</option><option value="admin">admin (everything)</option></select></div>
        <div><label for="user-account">Account</label><select id="user-account" name="account_id">${accounts.map((a) => html`<option value=${a.id}>${a.name}</option>`)}</select></div>
      </div>
      <${ErrorNote} error=${error} />
      <button type="submit">Invite user</button>
      ${invited ? html`<p class="notice" role="status">Invited ${invited.email}.${invited.password ? html` Their generated password, shown once: <code>${invited.password}</code> <${CopyButton} text=${invited.password} label="Copy password" />` : ' Give them the password you set.'}</p>` : null}
    </form>
    <table class="data" aria-label="Users">
      <thead><tr><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Account</th><th scope="col">Last sign-in</th><th scope="col">Status</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>${users.map((u) => html`<tr data-user-id=${u.id}>
        <th scope="row">${u.email}</th>
        <td><label class="sr-only" for=${`role-${u.id}`}>Role of ${u.email}</label><select id=${`role-${u.id}`} value=${u.role} onChange=${(e) => run(() => api('PATCH', `/api/v1/users/${u.id}`, { role: e.currentTarget.value }))}><option value="member">member</option><option value="admin">admin</option></select></td>
        <td>${names[u.account_id] ?? u.account_id}</td><td>${fmtTime(u.last_login_at)}</td>
        <td><span class=${`status status-${u.disabled ? 'disabled' : 'active'}`}>${u.disabled ? 'disabled' : 'active'}</span></td>
        <td class="actions"><button type="button" class="secondary" onClick=${() => run(() => api('PATCH', `/api/v1/users/${u.id}`, { disabled: !u.disabled }))}>${u.disabled ? 'Enable' : 'Disable'}</button></td>
      </tr>`)}</tbody>
    </table>
  </section>`;
}

export function AccountsPage() {
  const [tick, setTick] = useState(0);
  const refresh = () => setTick((t) => t + 1);
  const data = usePoll(async () => {
    const [accounts, users] = await Promise.all([get('/api/v1/accounts'), get('/api/v1/users')]);
    return { accounts: accounts.data, users: users.data };
  }, [tick]);
  return html`<${ErrorNote} error=${data.error} />
    ${data.data ? html`<div class="two"><${Accounts} accounts=${data.data.accounts} refresh=${refresh} /><${Users} users=${data.data.users} accounts=${data.data.accounts} refresh=${refresh} /></div>` : html`<p class="loading">Loading…</p>`}`;
}
