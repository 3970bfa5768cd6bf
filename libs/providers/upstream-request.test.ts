// base_url forms: the versioned form and the form each provider's SDK documents reach the same URL.
import t from 'tap';
import { adapters } from './index';
import { redactUrl } from './upstream-request';

const req = { model: 'x/y', input: 'hi' };
const urlOf = (provider: string, base_url: string, model = 'm') => adapters[provider].buildRequest(req, { provider, base_url, model }, 'k').url;

t.test('each family accepts the versioned base_url and the SDK form', async (t) => {
  const forms: Array<[string, string[], string]> = [
    ['anthropic', ['https://api.anthropic.com/v1', 'https://api.anthropic.com', 'https://api.anthropic.com/', 'https://api.anthropic.com/v1/'], 'https://api.anthropic.com/v1/messages'],
    ['gemini', ['https://generativelanguage.googleapis.com/v1beta', 'https://generativelanguage.googleapis.com', 'https://generativelanguage.googleapis.com/'], 'https://generativelanguage.googleapis.com/v1beta/models/m:streamGenerateContent?alt=sse'],
    ['openai-responses', ['https://api.openai.com/v1', 'https://api.openai.com'], 'https://api.openai.com/v1/responses'],
    ['openai-chat', ['https://api.openai.com/v1', 'https://api.openai.com/'], 'https://api.openai.com/v1/chat/completions'],
  ];
  for (const [provider, bases, expected] of forms) for (const base of bases) t.equal(urlOf(provider, base), expected, `${provider} ${base}`);
});

t.test('a base_url that names its own version or prefix is used as written', async (t) => {
  t.equal(urlOf('gemini', 'https://generativelanguage.googleapis.com/v1'), 'https://generativelanguage.googleapis.com/v1/models/m:streamGenerateContent?alt=sse', 'Gemini v1 stays v1');
  t.equal(urlOf('gemini', 'https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/publishers/google'),
    'https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/publishers/google/models/m:streamGenerateContent?alt=sse', 'Vertex AI: the version is inside the path');
  t.equal(urlOf('anthropic', 'https://proxy.example/anthropic'), 'https://proxy.example/anthropic/v1/messages', 'a proxy prefix gets /v1, as the Anthropic SDK adds it');
  t.equal(urlOf('openai-chat', 'https://api.deepseek.com'), 'https://api.deepseek.com/chat/completions', 'OpenAI-compatible servers: as written (the OpenAI SDK does the same)');
  t.equal(urlOf('openai-chat', 'https://openrouter.ai/api/v1'), 'https://openrouter.ai/api/v1/chat/completions');
  t.equal(urlOf('openai-responses', 'https://res.openai.azure.com/openai/v1'), 'https://res.openai.azure.com/openai/v1/responses');
});

t.test('a query in base_url stays a query (Azure api-version, a Gemini key)', async (t) => {
  t.equal(urlOf('gemini', 'https://generativelanguage.googleapis.com/v1beta?key=AIzaSECRET'), 'https://generativelanguage.googleapis.com/v1beta/models/m:streamGenerateContent?key=AIzaSECRET&alt=sse');
  t.equal(urlOf('openai-chat', 'https://res.openai.azure.com/openai/deployments/d?api-version=2024-10-21'), 'https://res.openai.azure.com/openai/deployments/d/chat/completions?api-version=2024-10-21');
});

t.test('redactUrl: no key, token or user info survives in a URL that a message names', async (t) => {
  const redacted = redactUrl('https://user:pa55@generativelanguage.googleapis.com/v1beta/models/m:streamGenerateContent?key=AIzaSECRET&alt=sse&access_token=tok');
  t.notMatch(redacted, /AIzaSECRET|pa55|user|tok\b/);
  t.equal(redacted, 'https://generativelanguage.googleapis.com/v1beta/models/m:streamGenerateContent?key=REDACTED&alt=sse&access_token=REDACTED');
  t.equal(redactUrl('https://res.openai.azure.com/openai/v1/responses?api-version=2025-04-01'), 'https://res.openai.azure.com/openai/v1/responses?api-version=2025-04-01', 'other parameters stay');
  t.equal(redactUrl('not a url'), '(an invalid URL)');
});
