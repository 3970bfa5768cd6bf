// What a fresh (or existing) Redis needs before the cluster serves: the default account, the
// launcher's dev key in it, the operator's management key (ROUTERHUB_ADMIN_KEY), and a first admin
// user when there is none, whose generated password is shown once (in `npm start`'s banner).
import { AccountStore } from '../store/accounts';
import { KeyStore } from '../store/keys';
import type { Redis } from '../store/redis';
import { generatePassword, UserStore } from '../store/users';

export interface BootstrapOptions {
  devKey?: string;
  adminKey?: string;
  adminEmail?: string;
  adminPassword?: string;
}

/** The first admin, when this call created it; `password` only when it was generated. */
export interface FirstAdmin { email: string; password: string | null }

export async function bootstrap(redis: Redis, opts: BootstrapOptions): Promise<FirstAdmin | null> {
  await new AccountStore(redis).ensureDefault();
  const keys = new KeyStore(redis);
  if (opts.devKey) await keys.create({ name: 'dev' }, opts.devKey);
  if (opts.adminKey) await keys.create({ name: 'admin (ROUTERHUB_ADMIN_KEY)', management: true }, opts.adminKey);
  const users = new UserStore(redis);
  // A named admin is created whenever it does not exist yet; the default one only on a fresh Redis.
  if (!opts.adminEmail && (await users.count()) > 0) return null;
  const email = opts.adminEmail || 'admin@routerhub.local';
  const password = opts.adminPassword || generatePassword();
  const created = await users.create({ email, password, role: 'admin' });
  if (!created) return null; // it exists (or another launcher sharing this Redis created it a moment ago)
  return { email, password: opts.adminPassword ? null : password };
}
