// Test support: validators for the Open Responses specification (libs/protocol/spec/openresponses.json,
// an OpenAPI 3.1 document whose schemas are JSON Schema 2020-12). Each streaming event is checked
// against the schema its `type` names in the document's text/event-stream union; a Response object
// against `ResponseResource`. $refs resolve inside the document.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';

const SPEC = 'libs/protocol/spec/openresponses.json';
const ID = 'https://routerhub.invalid/openresponses.json';

interface OpenApi {
  info: { version: string };
  paths: Record<string, { post: { responses: Record<string, { content: Record<string, { schema: { oneOf?: Array<{ $ref: string }> } }> }> } }>;
  components: { schemas: Record<string, { properties?: { type?: { enum?: string[] } } }> };
}

/** The repository's root, found from here whether this runs from the sources or from dist/. */
function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, SPEC))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`${SPEC} not found above ${__dirname}`);
    dir = up;
  }
  return dir;
}

export interface Verdict { ok: boolean; errors: string }

export class OpenResponsesSpec {
  readonly version: string;
  /** Event `type` → the schema name of that event in the spec. */
  readonly eventSchemas = new Map<string, string>();
  private readonly ajv: Ajv2020;
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(path = join(repoRoot(), SPEC)) {
    const doc = JSON.parse(readFileSync(path, 'utf8')) as OpenApi;
    this.version = doc.info.version;
    // strict: false because an OpenAPI document carries keywords that are not JSON Schema
    // (`discriminator`, `example`, `x-*`): they annotate, and every union here is also a oneOf.
    this.ajv = new Ajv2020({ strict: false, allErrors: true });
    this.ajv.addSchema({ ...doc, $id: ID });
    const stream = doc.paths['/responses'].post.responses['200'].content['text/event-stream'].schema.oneOf ?? [];
    for (const { $ref } of stream) {
      const name = $ref.split('/').pop()!;
      const type = doc.components.schemas[name].properties?.type?.enum?.[0];
      if (type) this.eventSchemas.set(type, name);
    }
  }

  /** Validates `value` against `#/components/schemas/<name>`. */
  check(name: string, value: unknown): Verdict {
    let validate = this.compiled.get(name);
    if (!validate) {
      validate = this.ajv.compile({ $ref: `${ID}#/components/schemas/${name}` });
      this.compiled.set(name, validate);
    }
    const ok = validate(value) as boolean;
    return { ok, errors: ok ? '' : describe(validate.errors ?? []) };
  }

  /** One streaming event, against the schema of its type; a type the spec does not define fails. */
  checkEvent(event: { type: string }): Verdict {
    const name = this.eventSchemas.get(event.type);
    if (!name) return { ok: false, errors: `event type '${event.type}' is not in the specification` };
    return this.check(name, event);
  }

  checkResponse(response: unknown): Verdict {
    return this.check('ResponseResource', response);
  }
}

/** The most useful errors first: oneOf failures list every branch, so the deepest paths say most. */
function describe(errors: ErrorObject[]): string {
  return [...errors]
    .sort((a, b) => b.instancePath.split('/').length - a.instancePath.split('/').length)
    .slice(0, 6)
    .map((e) => `${e.instancePath || '/'} ${e.message}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''}`)
    .join('; ');
}
