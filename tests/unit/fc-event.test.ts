import { deepStrictEqual, strictEqual } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeInvocation } from '../../shared/fc/event.js';
import { httpEvent } from '../fixtures/fc.js';

describe('decodeInvocation', () => {
  it('recognises the FC 3.0 HTTP trigger struct and lower-cases header names', () => {
    const invocation = decodeInvocation(
      httpEvent({
        headers: { Origin: 'https://a.example.com', 'X-Custom': 'v' },
        query: { custSpaceId: 'c' },
      }),
    );
    deepStrictEqual(invocation, {
      kind: 'http',
      method: 'GET',
      rawPath: '/flows/welcome-flow/preview-url',
      headers: new Map([
        ['accept', 'application/json'],
        ['user-agent', 'curl/8.5.0'],
        ['origin', 'https://a.example.com'],
        ['x-custom', 'v'],
      ]),
      query: new Map([['custSpaceId', 'c']]),
      body: '',
      isBase64Encoded: false,
    });
  });

  it('joins headers whose names differ only in case, as FC joins repeats', () => {
    const invocation = decodeInvocation(httpEvent({ headers: { Origin: 'a', origin: 'b' } }));
    strictEqual(invocation.kind === 'http' && invocation.headers.get('origin'), 'a,b');
  });

  it('treats any other JSON as a direct invocation payload', () => {
    deepStrictEqual(decodeInvocation(Buffer.from('{"flowId":"x"}')), {
      kind: 'direct',
      payload: { flowId: 'x' },
      malformed: false,
    });
    deepStrictEqual(decodeInvocation(Buffer.from('{"version":"v1"}')), {
      kind: 'direct',
      payload: { version: 'v1' },
      malformed: false,
    });
  });

  it('marks bytes that are not JSON as malformed', () => {
    deepStrictEqual(decodeInvocation(Buffer.from([0xff, 0x00, 0x7b])), {
      kind: 'direct',
      payload: undefined,
      malformed: true,
    });
  });

  it('falls back to requestContext.http.path when rawPath is missing', () => {
    const event = JSON.parse(httpEvent().toString());
    delete event.rawPath;
    const invocation = decodeInvocation(Buffer.from(JSON.stringify(event)));
    strictEqual(invocation.kind === 'http' && invocation.rawPath, '/flows/welcome-flow/preview-url');
  });
});
