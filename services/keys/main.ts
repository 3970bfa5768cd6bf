// `npm run keys -- create --name team-a | list | revoke <id>`: API keys in Redis (REDIS_URL).
import { parseArgs } from 'node:util';
import { KeyStore } from '../../libs/store/keys';
import { connectRedis } from '../../libs/store/redis';

const USAGE = 'usage: npm run keys -- create --name <name> | list | revoke <key id>   (REDIS_URL selects the Redis)';

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({ allowPositionals: true, options: { name: { type: 'string' } } });
  const [command, arg] = positionals;
  if (!command || !['create', 'list', 'revoke'].includes(command)) {
    console.error(USAGE);
    return 2;
  }
  const redis = connectRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  try {
    const keys = new KeyStore(redis);
    if (command === 'create') {
      if (!values.name) {
        console.error('create needs --name <name> (who the key is for)');
        return 2;
      }
      const { key, record } = await keys.create(values.name);
      console.log(`created ${record.id} (${record.name}). The key is shown only this once:\n${key}`);
    } else if (command === 'list') {
      for (const k of await keys.list()) console.log(`${k.id}\t${k.name}\t${k.created_at}\t${k.revoked ? 'revoked' : 'active'}`);
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
