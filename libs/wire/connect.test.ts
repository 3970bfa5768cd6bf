import t from 'tap';
import { natsServers } from './connect';

t.test('NATS_URL lists one server or every node of a cluster', async (t) => {
  t.same(natsServers('nats://127.0.0.1:4222'), ['nats://127.0.0.1:4222']);
  t.same(natsServers('nats://nats-1:4222, nats://nats-2:4222,nats://nats-3:4222,'), ['nats://nats-1:4222', 'nats://nats-2:4222', 'nats://nats-3:4222']);
});
