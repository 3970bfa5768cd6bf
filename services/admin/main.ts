// `npm run admin -- create-user --email a@b [--password …] [--role admin|member] [--account <id>] | list-users | set-password --email a@b [--password …]`:
// dashboard users in Redis (REDIS_URL), for the operator on the Redis host.
import { parseArgs } from 'node:util';
import { AccountStore } from '../../libs/store/accounts';
import { connectRedis } from '../../libs/store/redis';
import { generatePassword, UserStore } from '../../libs/store/users';

const USAGE = 'usage: npm run admin -- create-user --email <email> [--password <password>] [--role admin|member] [--account <account id>] | list-users | set-password --email <email> [--password <password>]   (REDIS_URL selects the Redis)';

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { email: { type: 'string' }, password: { type: 'string' }, role: { type: 'string' }, account: { type: 'string' } },
  });
  const [command] = positionals;
  if (!command || !['create-user', 'list-users', 'set-password'].includes(command)) {
    console.error(USAGE);
    return 2;
  }
  if (values.password !== undefined && values.password.length < 10) {
    console.error('--password must be at least 10 characters (leave it out to have one generated)');
    return 2;
  }
  const redis = connectRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  try {
    const users = new UserStore(redis);
    const accounts = new AccountStore(redis);
    await accounts.ensureDefault();
    if (command === 'list-users') {
      for (const u of await users.list()) console.log(`${u.id}\t${u.email}\t${u.role}\t${u.account_id}\t${u.disabled ? 'disabled' : 'active'}`);
      return 0;
    }
    if (!values.email) {
      console.error(`${command} needs --email <email>`);
      return 2;
    }
    const password = values.password ?? generatePassword();
    if (command === 'create-user') {
      const role = values.role ?? 'admin';
      if (role !== 'admin' && role !== 'member') {
        console.error('--role is admin (everything) or member (their own account)');
        return 2;
      }
      if (values.account && !(await accounts.get(values.account))) {
        console.error(`no account with id ${values.account}`);
        return 1;
      }
      const user = await users.create({ email: values.email, password, role, account_id: values.account });
      if (!user) {
        console.error(`a user with email ${values.email} exists already (use set-password)`);
        return 1;
      }
      console.log(`created ${user.id} (${user.email}, ${user.role}, account ${user.account_id})${values.password ? '' : `. Password, shown only this once:\n${password}`}`);
      return 0;
    }
    const user = (await users.list()).find((u) => u.email.toLowerCase() === values.email!.toLowerCase());
    if (!user) {
      console.error(`no user with email ${values.email}`);
      return 1;
    }
    await users.update(user.id, { password });
    console.log(`password of ${user.email} changed${values.password ? '' : `; the new one, shown only this once:\n${password}`}`);
    return 0;
  } finally {
    redis.disconnect();
  }
}

main().then((code) => process.exit(code), (err: Error) => {
  console.error(`admin: ${err.message} (is Redis reachable at ${process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'}?)`);
  process.exit(1);
});
