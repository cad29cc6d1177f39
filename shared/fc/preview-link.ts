/**
 * Meta's web-preview parameters: a caller may ask for the preview link opened in interactive mode, with a first
 * action and its payload, a phone number, or the debug panel. They are validated with the request and appended to
 * the link the caller receives; the core and its cache only ever see the bare link CAMS returned.
 *
 * Names and values as Meta documents them for a flow's web preview: `interactive=true|false`,
 * `flow_action=navigate|data_exchange`, `flow_action_payload=<JSON object>` (for `navigate`: `{"screen": …,
 * "data": {…}}`), `phone_number=<the business number whose key encrypts data_exchange requests>`, `debug=true|false`.
 */

import { isRecord } from '../is-record.js';
import { InvalidRequestError } from '../preview/errors.js';

/** Query parameter name → value, in a fixed order; empty when the caller asked for none. */
export type PreviewLinkParams = ReadonlyArray<readonly [string, string]>;

export const PREVIEW_LINK_PARAMS = [
  'interactive',
  'flow_action',
  'flow_action_payload',
  'phone_number',
  'debug',
];

const FLOW_ACTIONS = new Set(['navigate', 'data_exchange']);
const PHONE_NUMBER = /^\+?[1-9][0-9]{5,14}$/;
const MAX_PAYLOAD_CHARS = 2000;

/** The values as they arrive: strings from a query, JSON values from a direct payload. */
type Source = { readonly kind: 'query' | 'json'; readonly get: (name: string) => unknown };

/** Validates Meta's parameters from an HTTP query (all strings). */
export function linkParamsFromQuery(query: ReadonlyMap<string, string | undefined>): PreviewLinkParams {
  return readLinkParams({ kind: 'query', get: (name) => query.get(name) });
}

/** Validates Meta's parameters from a direct payload's `link` object (JSON types: booleans, an object). */
export function linkParamsFromJson(link: unknown): PreviewLinkParams {
  if (link === undefined || link === null) return [];
  if (!isRecord(link)) throw invalid('link must be an object like {"interactive": true}');
  const unknown = Object.keys(link).find((key) => !PREVIEW_LINK_PARAMS.includes(key));
  if (unknown !== undefined) {
    throw invalid(
      `Unknown link parameter ${JSON.stringify(unknown.slice(0, 40))}; use ${PREVIEW_LINK_PARAMS.join(', ')}`,
    );
  }
  return readLinkParams({
    kind: 'json',
    get: (name) => (Object.hasOwn(link, name) ? link[name] : undefined),
  });
}

function readLinkParams(source: Source): PreviewLinkParams {
  const params: Array<[string, string]> = [];
  const interactive = readBoolean(source, 'interactive');
  const flowAction = source.get('flow_action');
  const payload = source.get('flow_action_payload');
  const phoneNumber = source.get('phone_number');
  const debug = readBoolean(source, 'debug');

  if (interactive !== undefined) params.push(['interactive', String(interactive)]);
  const needsInteractive = (name: string): void => {
    if (interactive !== true)
      throw invalid(`${name} applies only to an interactive preview; add interactive=true`);
  };
  let action: string | undefined;
  if (flowAction !== undefined) {
    needsInteractive('flow_action');
    if (typeof flowAction !== 'string' || !FLOW_ACTIONS.has(flowAction)) {
      throw invalid('flow_action must be navigate or data_exchange');
    }
    action = flowAction;
    params.push(['flow_action', flowAction]);
  }
  if (payload !== undefined) {
    needsInteractive('flow_action_payload');
    // As in a flow message: the first screen's payload belongs to `navigate` (the default action) only.
    if (action === 'data_exchange') throw invalid('flow_action_payload is for flow_action=navigate only');
    params.push(['flow_action_payload', readPayload(source, payload)]);
  }
  if (phoneNumber !== undefined) {
    needsInteractive('phone_number');
    if (typeof phoneNumber !== 'string' || !PHONE_NUMBER.test(phoneNumber)) {
      throw invalid('phone_number must be a phone number of 6–15 digits, optionally with a leading +');
    }
    params.push(['phone_number', phoneNumber]);
  }
  if (debug !== undefined) params.push(['debug', String(debug)]);
  return params;
}

function readBoolean(source: Source, name: string): boolean | undefined {
  const value = source.get(name);
  if (value === undefined) return undefined;
  if (source.kind === 'json' ? typeof value === 'boolean' : value === 'true' || value === 'false') {
    return value === true || value === 'true';
  }
  throw invalid(`${name} must be true or false`);
}

function readPayload(source: Source, value: unknown): string {
  let payload: unknown = value;
  if (source.kind === 'query') {
    try {
      payload = typeof value === 'string' ? JSON.parse(value) : undefined;
    } catch {
      payload = undefined;
    }
  }
  if (!isRecord(payload) || typeof payload['screen'] !== 'string' || payload['screen'] === '') {
    throw invalid(
      'flow_action_payload must be a JSON object naming the first screen: {"screen": "…", "data": {…}}',
    );
  }
  if (payload['data'] !== undefined && !isRecord(payload['data'])) {
    throw invalid('flow_action_payload.data must be a JSON object');
  }
  const text = JSON.stringify(payload);
  if (text.length > MAX_PAYLOAD_CHARS)
    throw invalid(`flow_action_payload must be at most ${MAX_PAYLOAD_CHARS} characters`);
  return text;
}

/** The link the caller receives: CAMS's link with the parameters set (replacing any of the same name). */
export function applyLinkParams(previewUrl: string, params: PreviewLinkParams): string {
  if (params.length === 0) return previewUrl;
  const url = new URL(previewUrl);
  for (const [name, value] of params) url.searchParams.set(name, value);
  return url.href;
}

function invalid(message: string): InvalidRequestError {
  return new InvalidRequestError('InvalidRequest', message);
}
