/**
 * Meta's web-preview parameters: validated with the request (400, CAMS never called), set on the link the caller
 * receives, and never in the cache, which keeps CAMS's bare link for every caller.
 */
import { deepStrictEqual, strictEqual } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { handler } from '../functions/get-flow-preview-url/index.js';
import { useCamsSimulator } from './fixtures/cams.js';
import { asHttp, directEvent, fcContext, httpEvent } from './fixtures/fc.js';

const cams = useCamsSimulator({ env: { CORS_ALLOWED_ORIGINS: undefined } });

async function viaHttp(query: Record<string, string>) {
  return asHttp(await handler(httpEvent({ query }), fcContext()));
}

const linkOf = (response: { json: unknown }) => new URL((response.json as { previewUrl: string }).previewUrl);

describe('Meta preview link parameters', () => {
  it('sets them on the returned link, keeping CAMS’s token', async () => {
    const payload = JSON.stringify({ screen: 'WELCOME', data: { name: 'Ana' } });
    const response = await viaHttp({
      interactive: 'true',
      flow_action: 'navigate',
      flow_action_payload: payload,
      phone_number: '+15550001111',
      debug: 'true',
    });
    strictEqual(response.statusCode, 200, response.body);
    const link = linkOf(response);
    deepStrictEqual(
      [...link.searchParams.keys()],
      ['token', 'interactive', 'flow_action', 'flow_action_payload', 'phone_number', 'debug'],
    );
    strictEqual(link.searchParams.get('flow_action_payload'), payload);
    strictEqual(link.searchParams.get('phone_number'), '+15550001111');
    strictEqual(link.origin, 'https://business.facebook.com');
  });

  it('keeps the bare link in the cache: the next caller without parameters gets it bare, from the cache', async () => {
    const withParams = linkOf(await viaHttp({ interactive: 'true', debug: 'true' }));
    const bare = await viaHttp({});
    strictEqual(bare.headers['X-Cache'], 'hit');
    const bareLink = linkOf(bare);
    deepStrictEqual([...bareLink.searchParams.keys()], ['token']);
    strictEqual(bareLink.searchParams.get('token'), withParams.searchParams.get('token'));
    strictEqual(cams.calls.length, 1);
  });

  it('accepts them in a direct payload as JSON values under link', async () => {
    const result = (await handler(
      directEvent({
        flowId: 'welcome-flow',
        link: { interactive: true, flow_action: 'data_exchange', phone_number: '15550001111' },
      }),
      fcContext(),
    )) as { previewUrl: string };
    const link = new URL(result.previewUrl);
    deepStrictEqual(Object.fromEntries(link.searchParams), {
      token: link.searchParams.get('token'),
      interactive: 'true',
      flow_action: 'data_exchange',
      phone_number: '15550001111',
    });
  });

  const invalid: Array<[string, Record<string, string>, string]> = [
    ['interactive=yes', { interactive: 'yes' }, 'interactive must be true or false'],
    ['debug=1', { debug: '1' }, 'debug must be true or false'],
    [
      'an unknown flow_action',
      { interactive: 'true', flow_action: 'jump' },
      'flow_action must be navigate or data_exchange',
    ],
    [
      'flow_action without interactive',
      { flow_action: 'navigate' },
      'flow_action applies only to an interactive preview; add interactive=true',
    ],
    [
      'a payload that is not JSON',
      { interactive: 'true', flow_action_payload: '{screen:' },
      'flow_action_payload must be a JSON object naming the first screen: {"screen": "…", "data": {…}}',
    ],
    [
      'a payload without a screen',
      { interactive: 'true', flow_action_payload: '{"data":{}}' },
      'flow_action_payload must be a JSON object naming the first screen: {"screen": "…", "data": {…}}',
    ],
    [
      'a payload with data_exchange',
      { interactive: 'true', flow_action: 'data_exchange', flow_action_payload: '{"screen":"A"}' },
      'flow_action_payload is for flow_action=navigate only',
    ],
    [
      'a phone number with letters',
      { interactive: 'true', phone_number: '+1-555-CALL' },
      'phone_number must be a phone number of 6–15 digits, optionally with a leading +',
    ],
  ];
  for (const [what, query, message] of invalid) {
    it(`answers 400 InvalidRequest for ${what}, without calling CAMS`, async () => {
      const response = await viaHttp(query);
      deepStrictEqual(
        [response.statusCode, response.json],
        [400, { error: { code: 'InvalidRequest', message, status: 400 } }],
      );
      strictEqual(cams.calls.length, 0);
    });
  }

  it('refuses unknown or ill-typed link fields in a direct payload', async () => {
    for (const [link, message] of [
      [{ interactive: 'true' }, 'interactive must be true or false'],
      [
        { Interactive: true },
        'Unknown link parameter "Interactive"; use interactive, flow_action, flow_action_payload, phone_number, debug',
      ],
      ['interactive', 'link must be an object like {"interactive": true}'],
    ] as const) {
      deepStrictEqual(await handler(directEvent({ flowId: 'welcome-flow', link }), fcContext()), {
        error: { code: 'InvalidRequest', message, status: 400 },
      });
    }
    strictEqual(cams.calls.length, 0);
  });
});
