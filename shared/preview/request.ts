/**
 * What a valid request is, whichever way it arrived (an HTTP path and query, or a direct payload): the rules for a
 * flow id and a space id. The edge reads the values out of its event; this file decides whether they may reach CAMS.
 */

import { InvalidRequestError } from './errors.js';
import type { FlowPreviewRequest } from './ports.js';

const FLOW_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * What a `custSpaceId` looks like: the rule for a requested space and for one a token grants (shared/auth/), since
 * either may reach CAMS.
 */
export const CUST_SPACE_ID = /^[A-Za-z0-9_.-]{1,64}$/;

export function validateFlowId(value: unknown): string {
  if (typeof value === 'string' && FLOW_ID.test(value)) return value;
  throw new InvalidRequestError(
    'InvalidFlowId',
    value === undefined || value === ''
      ? 'flowId is required'
      : 'flowId must be 1–64 characters of letters, digits, _ and -',
  );
}

export function validateCustSpaceId(value: unknown): string {
  if (typeof value === 'string' && CUST_SPACE_ID.test(value)) return value;
  throw new InvalidRequestError(
    'InvalidCustSpaceId',
    'custSpaceId must be 1–64 characters of letters, digits, _, . and -',
  );
}

/** A request from its two values; `custSpaceId` undefined (or null, from JSON) means the account level. */
export function flowPreviewRequest(flowId: unknown, custSpaceId: unknown): FlowPreviewRequest {
  const flow = validateFlowId(flowId);
  return custSpaceId === undefined || custSpaceId === null
    ? { flowId: flow }
    : { flowId: flow, custSpaceId: validateCustSpaceId(custSpaceId) };
}
