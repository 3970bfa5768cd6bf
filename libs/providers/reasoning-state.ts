// RouterHub's own state in a reasoning item's `encrypted_content`: Codex sends every reasoning item
// back unchanged next turn, so a family keeps there what its provider needs again (an Anthropic
// thinking signature, Gemini thought signatures). The envelope names the family, so that one
// family's state never reaches another provider after a failover or a model switch.

const FAMILY_KEYS = ['anthropic', 'gemini', 'openai-chat'] as const;
export type StateFamily = (typeof FAMILY_KEYS)[number];

export function encodeState(family: StateFamily, payload: unknown): string {
  return Buffer.from(JSON.stringify({ [family]: payload }), 'utf8').toString('base64');
}

/** The payload `family` stored, or null when the value is another family's or an upstream's own blob. */
export function decodeState<T>(family: StateFamily, value: unknown): T | null {
  const doc = parse(value);
  return doc && family in doc ? (doc[family] as T) : null;
}

/** True for state written by any RouterHub family (not an opaque upstream blob like OpenAI's). */
export function isRouterHubState(value: unknown): boolean {
  const doc = parse(value);
  return doc !== null && FAMILY_KEYS.some((k) => k in doc);
}

function parse(value: unknown): Record<string, unknown> | null {
  if (typeof value !== 'string' || value === '' || !/^[A-Za-z0-9+/=]+$/.test(value)) return null;
  try {
    const doc = JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as unknown;
    return doc && typeof doc === 'object' && !Array.isArray(doc) ? (doc as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
