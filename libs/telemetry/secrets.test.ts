import t from 'tap';
import { generateKey } from '../store/keys';
import { redact, redactError, REDACTED, rememberSecret } from './secrets';

t.test('RouterHub keys are masked by their shape, wherever they stand', async (t) => {
  const key = generateKey();
  t.equal(redact(`Bearer ${key}, again:${key}.`), `Bearer ${REDACTED}, again:${REDACTED}.`);
  t.equal(redact('keys look like sk-rh-…'), 'keys look like sk-rh-…', 'the bare prefix (as in help texts) stays');
});

t.test('a remembered credential is masked by value; short values are not credentials', async (t) => {
  const provider = 'AIzaSyD-provider-key-1234567890';
  t.equal(redact(`key ${provider} invalid`), `key ${provider} invalid`, 'not known yet');
  rememberSecret(provider);
  rememberSecret('abc');
  t.equal(redact(`key ${provider} invalid, ${provider}`), `key ${REDACTED} invalid, ${REDACTED}`);
  t.equal(redact('abc stays'), 'abc stays');
  const error = { message: `Incorrect API key provided: ${provider}`, type: 'invalid_request_error', param: null, code: provider };
  redactError(error);
  t.same(error, { message: `Incorrect API key provided: ${REDACTED}`, type: 'invalid_request_error', param: null, code: REDACTED });
});
