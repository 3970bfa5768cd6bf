// `npm run doctor`: one deployment checked through the running cluster, the way Codex uses it. A
// Codex-shaped request (Codex's own tools, reasoning where the catalog says the model reasons) pinned
// to the deployment with x-routerhub-deployment (a management key), asked to call exec_command; then
// the tool's output is sent back with the reasoning item, as Codex's next turn does. What came back
// says whether the deployment is reachable, accepts its key, streams, calls tools, carries reasoning
// across turns and reports usage; diagnose() turns a failure into the fix an operator makes.
import type { ResponsesRequest } from '../protocol/types';
import { codexRequest } from '../providers/replay';
import { DEPLOYMENT_HEADER, deploymentId, type Deployment, type ModelEntry } from '../routing/catalog';
import { postResponses, type ClientResult } from '../testing/cluster';

/** What one deployment did; null: not reached (an earlier step failed) or not applicable. */
export interface DeploymentCheckup {
  model: string;
  deployment: string;
  provider: string;
  reachable: boolean | null;
  auth_ok: boolean | null;
  time_to_first_token_ms: number | null;
  tool_call_ok: boolean | null;
  /** null: the catalog does not mark the model as reasoning. */
  reasoning_ok: boolean | null;
  usage_reported: boolean | null;
  cached_tokens: number | null;
  ok: boolean;
  /** The first thing that went wrong, as RouterHub reported it. */
  error: { status: number; code: string | null; message: string } | null;
  /** What the operator should change. */
  fix: string | null;
  /** The responses this check produced (their request-log records say whether usage was estimated). */
  response_ids: string[];
}

export interface CheckupTarget { baseUrl: string; key: string; timeoutMs: number }

/** The command the model is asked to run (the demo upstream calls the tool for a line `run: …`). */
const COMMAND = 'echo routerhub-doctor';
const PROMPT = `Use the exec_command tool to run this command, then tell me its output in one line.\nrun: ${COMMAND}`;
const DELTAS = new Set(['response.output_text.delta', 'response.function_call_arguments.delta', 'response.reasoning_summary_text.delta', 'response.custom_tool_call_input.delta']);

type Item = Record<string, unknown> & { type: string };
interface Outcome { result: ClientResult | null; response: Record<string, any> | null; error: DeploymentCheckup['error']; firstTokenMs: number | null }

/** The first Codex turn for `model`: Codex's developer message and tools, and our prompt. */
export function doctorRequest(model: ModelEntry, deployment: Deployment): ResponsesRequest {
  const codex = codexRequest();
  const developer = (codex.input as Item[]).filter((i) => i.type === 'message' && i.role === 'developer').slice(0, 1);
  return {
    ...codex,
    model: model.id,
    stream: true,
    input: [...developer, { type: 'message', role: 'user', content: [{ type: 'input_text', text: PROMPT }] }],
    tool_choice: 'auto',
    parallel_tool_calls: false,
    reasoning: model.reasoning ? { effort: 'low', summary: 'auto' } : undefined,
    include: model.reasoning ? ['reasoning.encrypted_content'] : [],
    prompt_cache_key: `routerhub-doctor-${deploymentId(deployment)}`,
  } as ResponsesRequest;
}

async function send(target: CheckupTarget, deployment: string, body: ResponsesRequest): Promise<Outcome> {
  const started = performance.now();
  let firstTokenMs: number | null = null;
  let result: ClientResult;
  try {
    result = await postResponses(target.baseUrl, target.key, body, {
      headers: { [DEPLOYMENT_HEADER]: deployment },
      signal: AbortSignal.timeout(target.timeoutMs),
      onEvent: (e) => {
        if (firstTokenMs === null && DELTAS.has(e.data.type)) firstTokenMs = Math.round(performance.now() - started);
      },
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const detail = e.name === 'TimeoutError' ? `no answer within ${target.timeoutMs} ms` : e.cause?.code ?? e.cause?.message ?? e.message;
    return { result: null, response: null, error: { status: 0, code: 'routerhub_unreachable', message: detail }, firstTokenMs };
  }
  if (result.status !== 200 || result.json) {
    const error = (result.json?.error ?? {}) as { code?: string | null; message?: string };
    return { result, response: null, error: { status: result.status, code: error.code ?? null, message: error.message ?? result.raw.slice(0, 300) }, firstTokenMs };
  }
  const terminal = result.events.at(-1)?.data;
  const response = (terminal?.response ?? null) as Record<string, any> | null;
  if (terminal?.type !== 'response.completed' || !response) {
    const e = (response?.error ?? {}) as { code?: string | null; message?: string };
    return { result, response, error: { status: 200, code: e.code ?? 'stream_incomplete', message: e.message ?? `the stream ended with ${terminal?.type ?? 'no terminal event'}` }, firstTokenMs };
  }
  return { result, response, error: null, firstTokenMs };
}

export async function checkDeployment(target: CheckupTarget, model: ModelEntry, deployment: Deployment): Promise<DeploymentCheckup> {
  const id = deploymentId(deployment);
  const checkup: DeploymentCheckup = {
    model: model.id, deployment: id, provider: deployment.provider, reachable: null, auth_ok: null,
    time_to_first_token_ms: null, tool_call_ok: null, reasoning_ok: null, usage_reported: null, cached_tokens: null,
    ok: false, error: null, fix: null, response_ids: [],
  };
  const first = doctorRequest(model, deployment);
  const one = await send(target, id, first);
  checkup.time_to_first_token_ms = one.firstTokenMs;
  if (one.response?.id) checkup.response_ids.push(one.response.id);
  if (one.error) return finish(checkup, model, deployment, one.error, target);
  checkup.reachable = true;
  checkup.auth_ok = true;
  const output = (one.response!.output ?? []) as Item[];
  const call = output.find((i) => i.type === 'function_call');
  const reasoning = output.filter((i) => i.type === 'reasoning');
  checkup.usage_reported = usageReported(one.response!.usage);
  checkup.tool_call_ok = call !== undefined;
  if (model.reasoning) checkup.reasoning_ok = reasoning.length > 0;
  if (!call) return finish(checkup, model, deployment, null, target);

  // Codex's next turn: everything so far, the reasoning and the call as they came, and the tool's output.
  const second = { ...first, input: [...(first.input as Item[]), ...reasoning, call, { type: 'function_call_output', call_id: call.call_id, output: 'routerhub-doctor\n' }] } as ResponsesRequest;
  const two = await send(target, id, second);
  if (two.response?.id) checkup.response_ids.push(two.response.id);
  if (two.error) {
    checkup.tool_call_ok = false;
    if (model.reasoning) checkup.reasoning_ok = false;
    return finish(checkup, model, deployment, two.error, target);
  }
  checkup.usage_reported = checkup.usage_reported && usageReported(two.response!.usage);
  const details = (two.response!.usage?.input_tokens_details ?? null) as { cached_tokens?: number } | null;
  checkup.cached_tokens = typeof details?.cached_tokens === 'number' ? details.cached_tokens : null;
  return finish(checkup, model, deployment, null, target);
}

function usageReported(usage: Record<string, any> | null | undefined): boolean {
  // RouterHub estimates usage a provider did not send; a provider's own usage has its token details.
  return !!usage && usage.input_tokens > 0 && usage.output_tokens > 0 && typeof usage.input_tokens_details?.cached_tokens === 'number';
}

/**
 * RouterHub estimates the usage a provider did not send, and the client cannot tell: the request log
 * can (`usage_estimated`). Corrects a checkup whose responses were billed on an estimate.
 */
export function usageWasEstimated(c: DeploymentCheckup, model: ModelEntry, d: Deployment, routerhubUrl: string): DeploymentCheckup {
  c.usage_reported = false;
  c.ok = false;
  c.fix = diagnose(c, model, d, routerhubUrl);
  return c;
}

function finish(c: DeploymentCheckup, model: ModelEntry, d: Deployment, error: DeploymentCheckup['error'], target: CheckupTarget): DeploymentCheckup {
  c.error = error;
  if (error) {
    const kind = failureKind(error);
    // An unset key variable or a catalog mismatch: the upstream was never tried.
    c.reachable = kind === 'routerhub_unreachable' || kind === 'upstream_unreachable' ? false : kind === 'catalog' || kind === 'missing_key' ? null : true;
    c.auth_ok = kind === 'routerhub_key' || kind === 'upstream_key' || kind === 'missing_key' ? false : c.reachable ? (kind === 'other' ? null : true) : null;
  }
  c.ok = !error && c.tool_call_ok === true && c.reasoning_ok !== false && c.usage_reported === true;
  c.fix = c.ok ? null : diagnose(c, model, d, target.baseUrl);
  return c;
}

type FailureKind = 'routerhub_unreachable' | 'routerhub_key' | 'catalog' | 'missing_key' | 'upstream_key' | 'upstream_unreachable' | 'upstream_model' | 'rate_limited' | 'other';

function failureKind(e: NonNullable<DeploymentCheckup['error']>): FailureKind {
  switch (e.code) {
    case 'routerhub_unreachable': return 'routerhub_unreachable';
    case 'invalid_api_key': case 'missing_api_key': case 'deployment_pin_not_allowed': return 'routerhub_key';
    case 'unknown_deployment': case 'model_not_found': return 'catalog';
    case 'no_deployment_available': return 'missing_key';
    case 'upstream_auth_failed': return 'upstream_key';
    case 'upstream_connection_error': return 'upstream_unreachable';
    case 'upstream_model_not_found': return 'upstream_model';
    case 'rate_limit_exceeded': return 'rate_limited';
    default: return e.status === 404 ? 'catalog' : 'other';
  }
}

/** The change that makes a failed checkup pass, in the operator's terms (variables, catalog fields). */
export function diagnose(c: DeploymentCheckup, model: ModelEntry, d: Deployment, routerhubUrl: string): string {
  const host = safeHost(d.base_url);
  if (c.error) {
    switch (failureKind(c.error)) {
      case 'routerhub_unreachable':
        return `Nothing answers at ROUTERHUB_URL (${routerhubUrl}): ${c.error.message}. Start the cluster (npm start), or set ROUTERHUB_URL to an ingress or the load balancer.`;
      case 'routerhub_key':
        return `RouterHub refused ROUTERHUB_API_KEY (${c.error.message}). doctor needs a management key: create one with \`npm run keys -- create --admin --name doctor\` and export it as ROUTERHUB_API_KEY.`;
      case 'catalog':
        return `The cluster's catalog has no deployment ${c.deployment} of ${model.id}: run doctor with the ROUTERHUB_MODELS file the ingresses use.`;
      case 'missing_key':
        return `Set ${d.api_key_env ?? 'the deployment\'s api_key_env'} in the workers' environment (a Secret in Kubernetes): the workers have no value for it.`;
      case 'upstream_key':
        return `${host} rejected the key in ${d.api_key_env ?? '(no api_key_env)'}: put a valid ${d.provider} key in ${d.api_key_env ?? 'the variable named by api_key_env'} in the workers' environment.`;
      case 'upstream_unreachable':
        return `Nothing answers at base_url ${d.base_url} (${c.error.message}): fix the deployment's base_url in the catalog (scheme, host, port), or the workers' network access to it.`;
      case 'upstream_model':
        return `${host} does not know the model '${d.model}' (HTTP 404): fix the deployment's model name, or its base_url (it must end where the provider's API starts, e.g. …/v1).`;
      case 'rate_limited':
        return `${host} is rate limiting this deployment (${c.error.message}): run doctor again later, or raise the provider account's limits.`;
      default:
        return `The deployment failed (HTTP ${c.error.status}, ${c.error.code ?? 'no code'}): ${c.error.message}`;
    }
  }
  if (c.tool_call_ok === false) return `The model answered without calling exec_command: check that ${d.model} supports tool calling through the ${d.provider} family (or use a model that does).`;
  if (c.reasoning_ok === false) return `The catalog marks ${model.id} as reasoning, but no reasoning item came back: set "reasoning": false in the catalog, or check that ${d.model} reasons at ${host}.`;
  return `${host} reported no usage, so RouterHub bills an estimate: for an openai-chat server, make it honour stream_options.include_usage (vLLM, for one, needs a recent version).`;
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
