// `npm run keys -- create --name team-a [--account <id>] | create --admin --name ops | list | revoke <id>`:
// API keys in Redis (REDIS_URL), for the operator on the Redis host; the control API does the same remotely.
import { parseArgs } from 'node:util';
import { AccountStore } from '../../libs/store/accounts';
import { KeyStore } from '../../libs/store/keys';
import { connectRedis } from '../../libs/store/redis';

const USAGE = 'usage: npm run keys -- create --name <name> [--account <account id>] | create --admin --name <name> | list | revoke <key id>   (REDIS_URL selects the Redis)';

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({ allowPositionals: true, options: { name: { type: 'string' }, account: { type: 'string' }, admin: { type: 'boolean' } } });
  const [command, arg] = positionals;
  if (!command || !['create', 'list', 'revoke'].includes(command)) {
    console.error(USAGE);
    return 2;
  }
  const redis = connectRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  try {
    const keys = new KeyStore(redis);
    const accounts = new AccountStore(redis);
    await accounts.ensureDefault();
    if (command === 'create') {
      if (!values.name) {
        console.error('create needs --name <name> (who the key is for)');
        return 2;
      }
      if (values.account && !(await accounts.get(values.account))) {
        console.error(`no account with id ${values.account} (create one with POST /api/v1/accounts)`);
        return 1;
      }
      const { key, record } = await keys.create({ name: values.name, account_id: values.account, management: values.admin === true });
      const kind = record.management ? 'management key (control API, admin)' : `key in account ${record.account_id}`;
      console.log(`created ${record.id} (${record.name}), a ${kind}. The key is shown only this once:\n${key}`);
    } else if (command === 'list') {
      for (const k of await keys.list()) {
        console.log(`${k.id}\t${k.name}\t${k.management ? 'management' : k.account_id}\t${k.created_at}\t${k.disabled ? 'disabled' : 'active'}`);
      }
    } else {
      if (!arg) {
        console.error('revoke needs the key id (see `list`)');
        return 2;
      }
      if (!(await keys.revoke(arg))) {
        console.error(`no key with id ${arg}`);
        return 1;
      }
      console.log(`revoked ${arg}`);
    }
    return 0;
  } finally {
    redis.disconnect();
  }
}

main().then((code) => process.exit(code), (err: Error) => {
  console.error(`keys: ${err.message} (is Redis reachable at ${process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'}?)`);
  process.exit(1);
});
