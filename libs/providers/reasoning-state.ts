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

/** Characters JSON allows before an object's `{`. */
const JSON_SPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

function parse(value: unknown): Record<string, unknown> | null {
  if (typeof value !== 'string' || value === '') return null;
  // An upstream's own blob (OpenAI's encrypted reasoning, kilobytes per item of a Codex history) is
  // base64 too: its first byte tells it is no JSON object, before checking, decoding and parsing all of it.
  const first = Buffer.from(value.slice(0, 4), 'base64')[0];
  if ((first !== 0x7b && !JSON_SPACE.has(first)) || !/^[A-Za-z0-9+/=]+$/.test(value)) return null;
  try {
    const doc = JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as unknown;
    return doc && typeof doc === 'object' && !Array.isArray(doc) ? (doc as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

// An upstream's own opaque state that only the deployment that made it can read (OpenAI's
// encrypted_content is valid only in its organisation) is tagged with that deployment:
// `rhd1.<deployment tag>.<upstream blob>`, so routing sends the turn back there, and a turn that
// lands elsewhere drops it instead of sending what the other org rejects (invalid_encrypted_content).
const MAX_TAG = 32;
const TAGGED = new RegExp(`^rhd1\\.([A-Za-z0-9_-]{1,${MAX_TAG}})\\.([\\s\\S]*)$`);
/** The characters a tag takes at most at the front of state (`rhd1.<tag>.`): deploymentTagOf reads no further. */
export const TAG_CHARS = 'rhd1.'.length + MAX_TAG + 1;

export function tagState(tag: string, blob: string): string {
  return `rhd1.${tag}.${blob}`;
}

/** The deployment tag of tagged state, or null. */
export function deploymentTagOf(value: unknown): string | null {
  return typeof value === 'string' ? TAGGED.exec(value)?.[1] ?? null : null;
}

/** Each item stateForDeployment unwrapped → the item it was made from. */
const unwrapped = new WeakMap<object, object>();

/** The item `item` was unwrapped from (its `encrypted_content` with the tag in front), if it was. */
export function unwrappedFrom(item: object): object | undefined {
  return unwrapped.get(item);
}

/**
 * The input a deployment tagged `tag` may receive: its own tagged reasoning unwrapped, other
 * deployments' tagged reasoning items dropped (counted in `dropped`), everything else untouched.
 */
export function stateForDeployment<T extends { type?: string; encrypted_content?: unknown }>(input: T[], tag: string): { input: T[]; dropped: number } {
  let dropped = 0;
  let changed = false;
  const out: T[] = [];
  for (const item of input) {
    const m = item.type === 'reasoning' && typeof item.encrypted_content === 'string' ? TAGGED.exec(item.encrypted_content) : null;
    if (!m) {
      out.push(item);
      continue;
    }
    changed = true;
    if (m[1] === tag) {
      const own = { ...item, encrypted_content: m[2] };
      unwrapped.set(own, item);
      out.push(own);
    } else dropped++;
  }
  return { input: changed ? out : input, dropped };
}
