// The RouterHub dashboard: Preact + htm, one bundle (built by ../build.mjs). Routes live in the URL's
// hash (#/keys, #/usage, …) so the dashboard service serves a single page. Every figure comes from
// the control API (/api/v1/…), re-read every few seconds.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, get, whenSignedOut } from './api.js';
import { AccountsPage } from './pages/accounts.js';
import { KeysPage } from './pages/keys.js';
import { ModelsPage } from './pages/models.js';
import { RequestsPage } from './pages/requests.js';
import { UsagePage } from './pages/usage.js';
import { ErrorNote, html } from './ui.js';

const PAGES = [
  { path: 'keys', title: 'Keys', page: KeysPage },
  { path: 'usage', title: 'Usage', page: UsagePage },
  { path: 'requests', title: 'Requests', page: RequestsPage },
  { path: 'models', title: 'Models', page: ModelsPage },
  { path: 'accounts', title: 'Accounts and users', page: AccountsPage, admin: true },
];

function useHashRoute() {
  const read = () => location.hash.replace(/^#\/?/, '').split('?')[0] || 'keys';
  const [route, setRoute] = useState(read());
  useEffect(() => {
    const on = () => setRoute(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

function SignIn({ onSignedIn, notice }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    setBusy(true);
    setError(null);
    try {
      await api('POST', '/api/v1/session', { email: f.get('email'), password: f.get('password') });
      onSignedIn();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="signin" id="main">
    <h1>RouterHub</h1>
    <form onSubmit=${submit} aria-describedby="signin-help">
      <h2>Sign in</h2>
      ${notice ? html`<p class="notice" role="status">${notice}</p>` : null}
      <label for="email">Email</label>
      <input id="email" name="email" type="email" autocomplete="username" required autofocus />
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required />
      <${ErrorNote} error=${error} />
      <button type="submit" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>
      <p id="signin-help" class="hint">The first admin's email and password are printed by <code>npm start</code>.</p>
    </form>
  </main>`;
}

function Shell({ me, onSignOut }) {
  const route = useHashRoute();
  const isAdmin = me.role === 'admin';
  const pages = PAGES.filter((p) => !p.admin || isAdmin);
  const current = pages.find((p) => p.path === route) ?? pages[0];
  // An admin picks the account the pages show ('' = every account); a member has their own only.
  const [accountId, setAccountId] = useState(isAdmin ? '' : me.account_id);
  const [accounts, setAccounts] = useState([]);
  useEffect(() => {
    get('/api/v1/accounts').then((r) => setAccounts(r.data)).catch(() => {});
  }, [route]);
  useEffect(() => {
    document.title = `${current.title} · RouterHub`;
  }, [current]);
  const Page = current.page;
  const ownAccount = accounts.find((a) => a.id === me.account_id);
  return html`<div class="shell">
    <a class="skip" href="#main">Skip to content</a>
    <header>
      <span class="brand">RouterHub</span>
      <nav aria-label="Pages"><ul>
        ${pages.map((p) => html`<li><a href=${`#/${p.path}`} aria-current=${p === current ? 'page' : undefined}>${p.title}</a></li>`)}
      </ul></nav>
      <div class="who">
        ${isAdmin
          ? html`<label for="account-switch">Account</label>
              <select id="account-switch" value=${accountId} onChange=${(e) => setAccountId(e.currentTarget.value)}>
                <option value="">All accounts</option>
                ${accounts.map((a) => html`<option value=${a.id}>${a.name} (${a.id})</option>`)}
              </select>`
          : html`<span data-testid="member-account">Account: ${ownAccount ? ownAccount.name : me.account_id}</span>`}
        <span class="user">${me.user?.email ?? 'management key'} · ${me.role}</span>
        <button type="button" class="secondary" onClick=${onSignOut}>Sign out</button>
      </div>
    </header>
    <main id="main" tabindex="-1">
      <h1>${current.title}</h1>
      <${Page} me=${me} accountId=${accountId} accounts=${accounts} />
    </main>
  </div>`;
}

function App() {
  const [me, setMe] = useState(undefined);
  const [notice, setNotice] = useState(null);
  const load = () => get('/api/v1/session').then((r) => setMe(r.data)).catch(() => setMe(null));
  useEffect(() => {
    whenSignedOut((err) => {
      setNotice(err.message);
      setMe(null);
    });
    load();
  }, []);
  if (me === undefined) return html`<p class="loading">Loading…</p>`;
  if (me === null) return html`<${SignIn} notice=${notice} onSignedIn=${() => { setNotice(null); load(); }} />`;
  const signOut = async () => {
    await api('DELETE', '/api/v1/session').catch(() => {});
    setNotice('You are signed out.');
    setMe(null);
  };
  return html`<${Shell} me=${me} onSignOut=${signOut} />`;
}

render(html`<${App} />`, document.getElementById('app'));
