// RouterHub's reasoning state against upstream blobs: an opaque blob is rejected from its first
// byte (the fast path), and only RouterHub's own envelope is read as state.
import t from 'tap';
import { decodeState, encodeState, isRouterHubState } from './reasoning-state';

t.test('RouterHub state is recognised; opaque upstream blobs are not', async (t) => {
  for (const family of ['anthropic', 'gemini', 'openai-chat'] as const) {
    t.ok(isRouterHubState(encodeState(family, { x: 1 })), `${family} state`);
    t.same(decodeState(family, encodeState(family, { x: 1 })), { x: 1 });
  }
  t.notOk(isRouterHubState('gAAAAABo' + 'e'.repeat(1200)), 'an OpenAI-style encrypted blob');
  t.notOk(isRouterHubState(Buffer.from('[{"anthropic":1}]').toString('base64')), 'a JSON array is not an envelope');
  t.notOk(isRouterHubState(Buffer.from('{"other":1}').toString('base64')), 'an object of no family');
  t.ok(isRouterHubState(Buffer.from(' \n{"gemini":{}}').toString('base64')), 'JSON whitespace before the object is still JSON');
  t.notOk(isRouterHubState('rhd1.abc.blob'), 'a tagged upstream blob');
  t.notOk(isRouterHubState(''), 'empty');
  t.equal(decodeState('anthropic', encodeState('gemini', {})), null, 'another family\'s state');
});
