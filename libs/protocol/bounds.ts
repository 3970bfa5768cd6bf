// Bounds on the shape of a request, checked right after JSON.parse and before anything walks it:
// the ingress checks every field but `input` (validate.ts, RequestHead), the worker the whole request
// before it translates anything. JSON.parse itself is iterative in V8, but JSON.stringify and every
// translator recurse, so a body nested a few thousand levels deep must be refused before either.
// One walk over the parsed document, with recursion that stops at the depth limit.
import { SETTINGS } from '../config/settings';
import { arrayTooLong, type HttpError, nestedTooDeep, stringTooLong } from './errors';

export interface InputLimits {
  /** Levels of arrays and objects inside any one top-level field (`input`, `text`, `metadata`, …). */
  maxDepth: number;
  /** Levels inside one tool's JSON schema (`tools[i].parameters`, namespaced tools too). */
  maxToolSchemaDepth: number;
  /** Items in `input`. */
  maxInputItems: number;
  /** Tools, counting those inside `namespace` tools. */
  maxTools: number;
  /** Characters in any one string, object keys included. */
  maxStringLength: number;
}

/**
 * Far above what Codex sends (`input` 4 levels deep, tool schemas up to 9, ~10–20 tools, thousands of
 * items in a long session, tool outputs of a few hundred KB, image data URLs of a few MB): the
 * settings' defaults (libs/config/settings.ts, which also validates what an operator sets).
 */
export const DEFAULT_INPUT_LIMITS: InputLimits = {
  maxDepth: SETTINGS.ROUTERHUB_MAX_JSON_DEPTH.default,
  maxToolSchemaDepth: SETTINGS.ROUTERHUB_MAX_TOOL_SCHEMA_DEPTH.default,
  maxInputItems: SETTINGS.ROUTERHUB_MAX_INPUT_ITEMS.default,
  maxTools: SETTINGS.ROUTERHUB_MAX_TOOLS.default,
  maxStringLength: SETTINGS.ROUTERHUB_MAX_STRING_LENGTH.default,
};

/** The setting (environment variable) of each bound, named in the answers that refuse a request. */
export const INPUT_LIMIT_SETTINGS: Record<keyof InputLimits, keyof typeof SETTINGS> = {
  maxDepth: 'ROUTERHUB_MAX_JSON_DEPTH',
  maxToolSchemaDepth: 'ROUTERHUB_MAX_TOOL_SCHEMA_DEPTH',
  maxInputItems: 'ROUTERHUB_MAX_INPUT_ITEMS',
  maxTools: 'ROUTERHUB_MAX_TOOLS',
  maxStringLength: 'ROUTERHUB_MAX_STRING_LENGTH',
};

/** Throws the HttpError (400) of the first bound the request exceeds. */
export function checkInputBounds(doc: object, limits: InputLimits): void {
  const walk = new BoundedWalk(limits);
  for (const field in doc) {
    const value = (doc as Record<string, unknown>)[field];
    try {
      if (field === 'tools' && Array.isArray(value)) walk.tools(value, limits.maxDepth);
      else {
        if (field === 'input' && Array.isArray(value) && value.length > limits.maxInputItems) {
          throw arrayTooLong('input', value.length, limits.maxInputItems, 'input items', INPUT_LIMIT_SETTINGS.maxInputItems);
        }
        walk.value(value, limits.maxDepth);
        if (field === 'input' && Array.isArray(value)) checkCallArguments(value, limits.maxDepth);
      }
      walk.key(field);
    } catch (err) {
      throw err instanceof Exceeded ? err.toHttpError(field, limits) : err;
    }
  }
  if (walk.toolCount > limits.maxTools) throw arrayTooLong('tools', walk.toolCount, limits.maxTools, 'tools (counting those inside namespaces)', INPUT_LIMIT_SETTINGS.maxTools);
}

/**
 * A call's `arguments` is JSON in a string, which the Anthropic and Gemini mappers parse and send
 * on as an object: bound its nesting too, with a scan of its brackets rather than a JSON.parse.
 */
function checkCallArguments(items: unknown[], maxDepth: number): void {
  for (let i = 0; i < items.length; i++) {
    const args = (items[i] as { arguments?: unknown } | null)?.arguments;
    if (typeof args === 'string' && jsonTextDepth(args, maxDepth) > maxDepth) {
      const param = `input[${i}].arguments`;
      throw nestedTooDeep(param, maxDepth, param, INPUT_LIMIT_SETTINGS.maxDepth);
    }
  }
}

/** Nesting of arrays and objects in JSON text (brackets inside string literals do not count), up to `stopAbove` + 1. */
export function jsonTextDepth(text: string, stopAbove: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest && (deepest = depth) > stopAbove) return deepest;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/**
 * A bound found deep in the walk. Its path is built only on the way out (each level adds its step
 * as the exception passes), so the walk itself keeps no path.
 */
class Exceeded {
  readonly path: Array<string | number> = [];
  /** For a tool schema's bound: how many steps of `path` lie inside the schema. */
  stepsInSchema = 0;

  constructor(readonly kind: 'depth' | 'schema_depth' | 'string' | 'key', readonly length = 0) {}

  toHttpError(field: string, limits: InputLimits): HttpError {
    const steps = [field, ...this.path];
    const path = formatPath(steps);
    switch (this.kind) {
      case 'string':
        return stringTooLong(path, this.length, limits.maxStringLength, INPUT_LIMIT_SETTINGS.maxStringLength);
      case 'key':
        return stringTooLong(path, this.length, limits.maxStringLength, INPUT_LIMIT_SETTINGS.maxStringLength, 'an object key');
      case 'schema_depth':
        return nestedTooDeep(formatPath(steps.slice(0, steps.length - this.stepsInSchema)), limits.maxToolSchemaDepth, path, INPUT_LIMIT_SETTINGS.maxToolSchemaDepth);
      case 'depth':
        return nestedTooDeep(field, limits.maxDepth, path, INPUT_LIMIT_SETTINGS.maxDepth);
    }
  }
}

class BoundedWalk {
  toolCount = 0;

  constructor(private readonly limits: InputLimits) {}

  /** `levelsLeft`: how many more arrays/objects may open from here; `kind`: whose bound that is. */
  value(v: unknown, levelsLeft: number, kind: 'depth' | 'schema_depth' = 'depth'): void {
    if (typeof v === 'string') {
      if (v.length > this.limits.maxStringLength) throw new Exceeded('string', v.length);
      return;
    }
    if (v === null || typeof v !== 'object') return;
    if (levelsLeft === 0) throw new Exceeded(kind);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        try {
          this.value(v[i], levelsLeft - 1, kind);
        } catch (err) {
          throw within(err, i);
        }
      }
      return;
    }
    const o = v as Record<string, unknown>;
    for (const k in o) {
      try {
        this.key(k);
        this.value(o[k], levelsLeft - 1, kind);
      } catch (err) {
        throw within(err, k);
      }
    }
  }

  key(k: string): void {
    if (k.length > this.limits.maxStringLength) throw new Exceeded('key', k.length);
  }

  /** A `tools` array: counts every tool and gives each schema (`parameters`) its own, smaller bound. */
  tools(list: unknown[], levelsLeft: number): void {
    if (levelsLeft === 0) throw new Exceeded('depth');
    this.toolCount += list.length;
    for (let i = 0; i < list.length; i++) {
      const tool = list[i];
      try {
        if (tool === null || typeof tool !== 'object' || Array.isArray(tool) || levelsLeft === 1) {
          this.value(tool, levelsLeft - 1);
          continue;
        }
        const t = tool as Record<string, unknown>;
        for (const k in t) {
          try {
            this.key(k);
            const v = t[k];
            if (k === 'parameters') this.schema(v, levelsLeft - 2);
            else if (k === 'tools' && Array.isArray(v)) this.tools(v, levelsLeft - 2);
            else this.value(v, levelsLeft - 2);
          } catch (err) {
            throw within(err, k);
          }
        }
      } catch (err) {
        throw within(err, i);
      }
    }
  }

  /** A tool's schema has the smaller of its own bound and what is left of the body's. */
  private schema(v: unknown, levelsLeft: number): void {
    const own = this.limits.maxToolSchemaDepth;
    try {
      if (own < levelsLeft) this.value(v, own, 'schema_depth');
      else this.value(v, levelsLeft);
    } catch (err) {
      if (err instanceof Exceeded) err.stepsInSchema = err.path.length;
      throw err;
    }
  }
}

/** Adds one step of path to an Exceeded on its way out of the walk. */
function within(err: unknown, step: string | number): unknown {
  if (err instanceof Exceeded) err.path.unshift(step);
  return err;
}

/** `['tools', 3, 'parameters', 'properties']` → `tools[3].parameters.properties` (the way OpenAI names params). */
function formatPath(steps: Array<string | number>): string {
  return steps.reduce<string>((acc, s) => (typeof s === 'number' ? `${acc}[${s}]` : acc ? `${acc}.${s}` : s), '');
}
