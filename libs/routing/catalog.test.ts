import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { FAMILIES } from '../providers/index';
import { tempDir } from '../testing/temp';
import { ModelCatalog } from './catalog';
import { codexCatalog } from './codex-catalog';

const dep = (extra: object) => ({ provider: 'openai-responses', base_url: 'https://x.example/v1', model: 'm', ...extra });

t.test('the shipped catalog loads', async (t) => {
  const c = ModelCatalog.load(join(__dirname, '..', '..', '..', 'deploy', 'models.json'), FAMILIES, { ROUTERHUB_DEMO_URL: 'http://127.0.0.1:1' });
  t.ok(c.get('routerhub/demo'));
  t.equal(c.get('routerhub/demo')!.deployments[0].base_url, 'http://127.0.0.1:1/v1');
  for (const family of FAMILIES) t.ok(c.models.some((m) => m.deployments.some((d) => d.provider === family)), `a model on ${family}`);
});

t.test('invalid catalogs are rejected with the path and the problem', async (t) => {
  t.throws(() => ModelCatalog.parse({ models: [{ id: 'no-slash', deployments: [dep({})] }] }, 'f.json', FAMILIES), /f\.json is invalid: \/models\/0\/id must match pattern/);
  t.throws(() => ModelCatalog.parse({ models: [{ id: 'a/b', deployments: [dep({ provider: 'bedrock' })] }] }, 'f.json', FAMILIES), /provider "bedrock"; known providers: openai-responses/);
  t.throws(() => ModelCatalog.parse({ models: [{ id: 'a/b', deployments: [] }] }, 'f.json', FAMILIES), /deployments must NOT have fewer than 1 items/);
  t.throws(() => ModelCatalog.parse({ models: [{ id: 'a/b', deployments: [dep({})] }, { id: 'a/b', deployments: [dep({})] }] }, 'f.json', FAMILIES), /listed twice/);
  const dir = tempDir('rh-cat-');
  writeFileSync(join(dir, 'm.json'), '{"models":[{"id":"a/b","deployments":[{"provider":"openai-responses","base_url":"${UNSET_RH_URL}/v1","model":"m"}]}]}');
  t.throws(() => ModelCatalog.load(join(dir, 'm.json'), FAMILIES, {}), /uses \$\{UNSET_RH_URL\}, which is not set/);
});

t.test('route plans: priority order, weighted among equals, the model cap inherited', async (t) => {
  const c = ModelCatalog.parse({
    models: [{
      id: 'a/b', max_output_tokens: 1000,
      deployments: [dep({ model: 'backup', priority: 1 }), dep({ model: 'heavy', weight: 3 }), dep({ model: 'light', weight: 1, max_output_tokens: 10 })],
      pricing: { input: 1, output: 2 },
    }],
  }, 'f.json', FAMILIES);
  t.same(c.plan('a/b', { random: () => 0 })!.deployments.map((d) => d.model), ['heavy', 'light', 'backup']);
  t.same(c.plan('a/b', { random: () => 0.9 })!.deployments.map((d) => d.model), ['light', 'heavy', 'backup']);
  let heavyFirst = 0;
  for (let i = 0; i < 400; i++) if (c.plan('a/b', { random: () => i / 400 })!.deployments[0].model === 'heavy') heavyFirst++;
  t.equal(heavyFirst, 300, 'weight 3 of 4');
  const plan = c.plan('a/b')!;
  t.same(plan.deployments.map((d) => d.max_output_tokens).sort(), [10, 1000, 1000]);
  t.same(plan.pricing, { input: 1, output: 2 });
  t.equal(c.plan('x/y'), undefined);
});

t.test('the Codex catalog has an entry per model with what Codex needs', async (t) => {
  const c = ModelCatalog.parse({ models: [{ id: 'anthropic/claude', reasoning: true, context_window: 200000, deployments: [dep({ provider: 'anthropic' })] }, { id: 'x/plain', deployments: [dep({})] }] }, 'f.json', FAMILIES);
  const { models } = codexCatalog(c, 'You are Codex.');
  t.equal(models.length, 2);
  t.match(models[0], { slug: 'anthropic/claude', apply_patch_tool_type: 'freeform', shell_type: 'shell_command', context_window: 200000, default_reasoning_level: 'medium', base_instructions: 'You are Codex.' });
  t.same(models[1].supported_reasoning_levels, []);
  t.equal(models[1].default_reasoning_level, null);
  for (const field of ['slug', 'display_name', 'supported_reasoning_levels', 'shell_type', 'visibility', 'supported_in_api', 'priority', 'support_verbosity', 'truncation_policy', 'experimental_supported_tools']) {
    t.ok(field in models[0], `${field} (required by Codex 0.169)`);
  }
});

t.test('pricing: cache-read and cache-write prices are optional, never negative', async (t) => {
  const catalog = (pricing: unknown) => ModelCatalog.parse({ models: [{ id: 'a/b', deployments: [dep({})], pricing }] }, 'f.json', FAMILIES);
  t.same(catalog({ input: 3, cached_input: 0.3, cache_write_input: 3.75, output: 15 }).plan('a/b')!.pricing, { input: 3, cached_input: 0.3, cache_write_input: 3.75, output: 15 });
  t.throws(() => catalog({ input: 3, cache_write_input: -1, output: 15 }));
});

t.test('prompt_cache: explicit context caching on gemini deployments only, with a sane TTL', async (t) => {
  const catalog = (d: object) => ModelCatalog.parse({ models: [{ id: 'a/b', deployments: [dep(d)] }] }, 'f.json', FAMILIES);
  const policy = { explicit: true, ttl_s: 3600, min_tokens: 4096 };
  t.same(catalog({ provider: 'gemini', prompt_cache: policy }).plan('a/b')!.deployments[0].prompt_cache, policy, 'the policy reaches the plan');
  t.throws(() => catalog({ prompt_cache: { explicit: true } }), /prompt_cache\.explicit is for provider "gemini"/);
  t.throws(() => catalog({ provider: 'gemini', prompt_cache: { explicit: true, ttl_s: 5 } }), /ttl_s must be >= 60/);
  t.throws(() => catalog({ provider: 'gemini', prompt_cache: { ttl_s: 600 } }), /must have required property 'explicit'/);
  t.throws(() => catalog({ provider: 'gemini', prompt_cache: { explicit: true, ttl: 600 } }), /must NOT have additional properties/);
});

t.test('base_url warnings: what the catalog can tell is wrong, said at start', async (t) => {
  const warn = (provider: string, base_url: string) => ModelCatalog.parse({ models: [{ id: 'a/b', deployments: [dep({ provider, base_url })] }] }, 'f.json', FAMILIES).warnings;
  t.same(warn('anthropic', 'https://api.anthropic.com/v1'), []);
  t.same(warn('anthropic', 'https://api.anthropic.com'), [], 'the SDK form is fine');
  t.same(warn('gemini', 'https://generativelanguage.googleapis.com'), []);
  t.same(warn('openai-chat', 'https://generativelanguage.googleapis.com/v1beta/openai'), [], 'Google\'s Chat Completions endpoint');
  t.same(warn('openai-chat', 'http://127.0.0.1:8000/v1'), []);
  t.match(warn('anthropic', 'https://api.anthropic.com/v1/messages'), [/model "a\/b", deployment anthropic\/m@api\.anthropic\.com: base_url ends with \/v1\/messages, but RouterHub appends \/messages/]);
  t.match(warn('openai-chat', 'https://api.deepseek.com/chat/completions'), [/RouterHub appends \/chat\/completions itself: remove it/]);
  t.match(warn('gemini', 'https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:streamGenerateContent'), [/RouterHub appends \/models\/<model>:streamGenerateContent/]);
  t.match(warn('openai-responses', 'https://api.openai.com/v1/responses'), [/appends \/responses/]);
  t.match(warn('gemini', 'https://generativelanguage.googleapis.com/v1beta?key=AIza123'), [/carries a credential: put the key in the workers' environment/]);
  t.match(warn('gemini', 'https://generativelanguage.googleapis.com/v1beta/openai'), [/Chat Completions under \/v1beta\/openai \(provider "openai-chat"\)/]);
  t.match(warn('openai-chat', 'https://api.anthropic.com/v1'), [/use provider "anthropic"/]);
  t.match(warn('anthropic', 'https://proxy.example/v1beta'), [/Anthropic's API version is \/v1, not \/v1beta/]);
  t.same(ModelCatalog.load(join(__dirname, '..', '..', '..', 'deploy', 'models.json'), FAMILIES, { ROUTERHUB_DEMO_URL: 'http://127.0.0.1:1' }).warnings, [], 'the shipped catalog has none');
});
