// gemini schema cleaning: Gemini accepts a subset of OpenAPI 3.0 Schema (ai.google.dev/api/caching#Schema)
// and rejects unknown fields, so everything outside that subset is dropped or rewritten.

export type Json = Record<string, unknown>;

const SCHEMA_KEEP = new Set([
  'type', 'format', 'description', 'nullable', 'enum', 'items', 'properties', 'required', 'anyOf',
  'minItems', 'maxItems', 'minimum', 'maximum', 'minLength', 'maxLength', 'pattern', 'minProperties', 'maxProperties',
]);
// The Gemini Developer API accepts only these string formats; others fail the request.
const STRING_FORMATS = new Set(['enum', 'date-time']);
const MAX_SCHEMA_DEPTH = 24;

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A JSON Schema reduced to what Gemini's function declarations accept: local `$ref`s inlined,
 * `allOf` merged, `oneOf` → `anyOf`, `const` → `enum`, `["x","null"]` → `x` + nullable,
 * non-string enums moved into the description, empty `properties` and dangling `required` removed,
 * and every other keyword (`additionalProperties`, `$schema`, `default`, `title`, …) dropped.
 */
export function cleanSchema(schema: unknown, root: unknown = schema, depth = 0, refs: ReadonlySet<string> = new Set()): Json {
  if (!isObject(schema) || depth > MAX_SCHEMA_DEPTH) return {};
  let node: Json = { ...schema };

  if (typeof node.$ref === 'string') {
    // A recursive schema cannot be expressed without $ref: the inner occurrence becomes `{}`.
    if (refs.has(node.$ref)) return {};
    const target = resolveRef(root, node.$ref);
    refs = new Set([...refs, node.$ref]);
    const { $ref: _ref, ...rest } = node;
    node = { ...(target ?? {}), ...rest };
  }
  const sub = (s: unknown) => cleanSchema(s, root, depth + 1, refs);
  if (Array.isArray(node.allOf)) {
    for (const member of node.allOf) node = mergeSchemas(node, sub(member));
  }
  if (Array.isArray(node.oneOf) && !Array.isArray(node.anyOf)) node.anyOf = node.oneOf;
  if (node.const !== undefined && node.enum === undefined) node.enum = [node.const];

  const out: Json = {};
  let nullable = node.nullable === true;
  let description = typeof node.description === 'string' ? node.description : undefined;

  if (Array.isArray(node.type)) {
    const types = node.type.filter((t): t is string => typeof t === 'string' && t !== 'null');
    nullable ||= node.type.includes('null');
    if (types.length === 1) out.type = types[0];
    else if (types.length > 1) out.anyOf = types.map((t) => ({ type: t }));
  } else if (typeof node.type === 'string' && node.type !== 'null') {
    out.type = node.type;
  }

  if (Array.isArray(node.anyOf)) {
    const members = node.anyOf.filter((m) => !(isObject(m) && m.type === 'null')).map(sub);
    nullable ||= members.length < node.anyOf.length;
    if (members.length === 1) Object.assign(out, { ...members[0], ...out });
    else if (members.length > 1) out.anyOf = members;
  }

  for (const [key, value] of Object.entries(node)) {
    if (!SCHEMA_KEEP.has(key) || key === 'type' || key === 'anyOf' || key === 'nullable' || key === 'description') continue;
    if (key === 'properties' && isObject(value)) {
      const props: Json = {};
      for (const [name, schema] of Object.entries(value)) props[name] = sub(schema);
      if (Object.keys(props).length > 0) out.properties = props;
    } else if (key === 'items') {
      out.items = sub(value);
    } else if (key === 'enum' && Array.isArray(value)) {
      if (value.every((v) => typeof v === 'string')) out.enum = value;
      else description = [description, `Allowed values: ${value.map((v) => JSON.stringify(v)).join(', ')}.`].filter(Boolean).join(' ');
    } else if (key === 'format') {
      if (typeof value === 'string' && STRING_FORMATS.has(value)) out.format = value;
    } else if (key === 'required' && Array.isArray(value)) {
      out.required = value;
    } else {
      out[key] = value;
    }
  }

  if (description !== undefined) out.description = description;
  if (out.type === undefined && out.anyOf === undefined) {
    if (out.enum) out.type = 'string';
    else if (out.properties) out.type = 'object';
    else if (out.items) out.type = 'array';
  }
  if (out.format && out.type !== 'string') delete out.format;
  // Gemini rejects an ARRAY without `items` ("items: missing field"); strings are the usual element.
  if (out.type === 'array' && !isObject(out.items)) out.items = { type: 'string' };
  const props = isObject(out.properties) ? out.properties : {};
  if (Array.isArray(out.required)) {
    const required = out.required.filter((r): r is string => typeof r === 'string' && r in props);
    if (required.length > 0) out.required = required;
    else delete out.required;
  }
  if (nullable) out.nullable = true;
  return out;
}

function resolveRef(root: unknown, ref: string): Json | undefined {
  const m = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
  if (!m || !isObject(root)) return undefined;
  const defs = root[m[1]];
  const target = isObject(defs) ? defs[m[2].replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
  return isObject(target) ? target : undefined;
}

function mergeSchemas(a: Json, b: Json): Json {
  const merged: Json = { ...b, ...a };
  if (isObject(a.properties) || isObject(b.properties)) merged.properties = { ...(b.properties as Json), ...(a.properties as Json) };
  if (Array.isArray(a.required) || Array.isArray(b.required)) {
    merged.required = [...new Set([...((a.required as unknown[]) ?? []), ...((b.required as unknown[]) ?? [])])];
  }
  delete merged.allOf;
  return merged;
}

