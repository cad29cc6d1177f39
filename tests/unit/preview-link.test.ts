/**
 * Meta's web-preview parameters, as Meta's Flows API reference states them (section "Visualizing and interacting
 * with your Flow using the Web Preview", developers.facebook.com/docs/whatsapp/flows/reference/flowsapi): one test
 * per row of Meta's table, each through the HTTP trigger and a direct invocation; the encoding of Meta's sample link;
 * the link's own `token`; the cache keeping the bare link; the payload's size and depth checked before it is parsed;
 * and properties: any string round-trips through the link exactly, and no string makes it crash.
 */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { loadConfig } from '../../shared/config.js';
import { applyLinkParams, LINK_LIMITS, PREVIEW_LINK_PARAMS } from '../../shared/preview/preview-link.js';
import { MemoryPreviewCache } from '../../shared/store/memory.js';
import { FleetStores } from '../../shared/store/select.js';
import { useCamsOnFakeClock } from '../fixtures/cams.js';
import { baseHeaders, directEvent } from '../fixtures/fc.js';
import { useFunction } from '../fixtures/function.js';

// One clock for the function and the simulator: these tests make many CAMS calls within a second, and the rate
// limits on both sides pass them without waiting.
const { cams, clock, fresh } = useCamsOnFakeClock();
const ENV = () => ({ CAMS_ENDPOINT: cams.url });
/** The instance's stores, the test's own so that it can count the cached links. */
let stores: FleetStores | undefined;
const fn = useFunction(ENV, () => {
  const options = fresh();
  stores = new FleetStores(loadConfig(ENV()).fleet, { now: () => clock().now() });
  return { ...options, stores };
});
afterEach(() => stores?.close());

const REQUEST_ID = 'C4A1B2C3-0000-4000-8000-00000000a016';
/** Past: the function does not cache it, so every call is one scripted CAMS answer and the headers are fixed. */
const EXPIRES = 1700617436633;
/** Shaped like Meta's sample (`…/preview/?token=b9d6…`). */
const BARE = 'https://business.facebook.com/wa/manage/flows/welcome-flow/preview/?token=b9d6e2a0-5c1f-4e8b';

function answerWith(previewUrl: string): void {
  cams.script({
    kind: 'json',
    status: 200,
    body: {
      RequestId: REQUEST_ID,
      Code: 'OK',
      Message: 'SUCCESS',
      Data: { FlowId: 'welcome-flow', PreviewUrl: previewUrl, PreviewUrlExpires: EXPIRES },
    },
  });
}

const preview = (previewUrl: string) => ({
  flowId: 'welcome-flow',
  previewUrl,
  previewUrlExpires: EXPIRES,
  expiresAt: new Date(EXPIRES).toISOString(),
  requestId: REQUEST_ID,
});

const OK_HEADERS = { ...baseHeaders(), 'X-Cache': 'miss', 'Cache-Control': 'private, max-age=0' };
const refusal = (message: string) => ({ error: { code: 'InvalidRequest', message, status: 400 } });

function viaTrigger(query: Record<string, string>) {
  return fn().http({ query });
}

function viaDirect(link: unknown) {
  return fn().invoke(directEvent({ flowId: 'welcome-flow', link }));
}

/** Both invocation forms answer 200 with CAMS's link followed by exactly `suffix`: the whole response. */
async function expectLink(
  query: Record<string, string>,
  link: Record<string, unknown>,
  suffix: string,
  previewUrl = BARE,
  expected = `${previewUrl}&${suffix}`,
): Promise<void> {
  const body = preview(expected);
  const calls = cams.calls.length;
  answerWith(previewUrl);
  deepStrictEqual(await viaTrigger(query), {
    statusCode: 200,
    headers: OK_HEADERS,
    isBase64Encoded: false,
    body: JSON.stringify(body),
    json: body,
  });
  answerWith(previewUrl);
  deepStrictEqual(await viaDirect(link), body);
  strictEqual(cams.calls.length, calls + 2);
}

/** Both invocation forms answer 400 InvalidRequest with `message`, and CAMS is never called: the whole response. */
async function expectRefused(
  query: Record<string, string> | undefined,
  link: unknown,
  message: string,
): Promise<void> {
  const calls = cams.calls.length;
  if (query !== undefined) {
    deepStrictEqual(await viaTrigger(query), {
      statusCode: 400,
      headers: baseHeaders(),
      isBase64Encoded: false,
      body: JSON.stringify(refusal(message)),
      json: refusal(message),
    });
  }
  deepStrictEqual(await viaDirect(link), refusal(message));
  strictEqual(cams.calls.length, calls);
}

describe('Meta’s table, row interactive: “If true, the preview will run in interactive mode. Defaults to false.”', () => {
  it('sets interactive=true or false on the link', async () => {
    await expectLink({ interactive: 'true' }, { interactive: true }, 'interactive=true');
    await expectLink({ interactive: 'false' }, { interactive: false }, 'interactive=false');
  });

  it('refuses a value that is not a boolean', async () => {
    await expectRefused({ interactive: 'yes' }, { interactive: 'true' }, 'interactive must be true or false');
  });
});

describe('Meta’s table, row flow_token: “It will be sent as part of each request … Required for Flows with endpoint.”', () => {
  const opaque = 'tok en+/&=?#%😀é,;';
  const encoded = 'tok%20en%2B%2F%26%3D%3F%23%25%F0%9F%98%80%C3%A9%2C%3B';

  it('writes any opaque string, encoded as encodeURIComponent writes it', async () => {
    await expectLink(
      { interactive: 'true', flow_token: opaque },
      { interactive: true, flow_token: opaque },
      `interactive=true&flow_token=${encoded}`,
    );
  });

  it('is required when flow_action is data_exchange (the endpoint case); an empty one counts as missing', async () => {
    const message = 'flow_token is required when flow_action is data_exchange';
    const endpoint = { flow_action: 'data_exchange', phone_number: '+15550001111' };
    await expectRefused(endpoint, endpoint, message);
    await expectRefused({ ...endpoint, flow_token: '' }, { ...endpoint, flow_token: '' }, message);
  });

  it('is a string, of at most 1024 characters (our cap: Meta gives none)', async () => {
    await expectRefused(undefined, { flow_token: 42 }, 'flow_token must be a string');
    const long = 'x'.repeat(LINK_LIMITS.flowTokenChars + 1);
    await expectRefused(
      { flow_token: long },
      { flow_token: long },
      'flow_token must be at most 1024 characters',
    );
  });
});

describe('Meta’s table, row flow_action: “data_exchange if it will make a request to the endpoint, or navigate if it won’t”', () => {
  it('writes data_exchange with the flow_token and phone_number it needs, with or without interactive=true', async () => {
    const endpoint = { flow_token: 'ft-1', flow_action: 'data_exchange', phone_number: '15550001111' };
    await expectLink(
      endpoint,
      endpoint,
      'flow_token=ft-1&flow_action=data_exchange&phone_number=15550001111',
    );
    await expectLink(
      { interactive: 'true', ...endpoint },
      { interactive: true, ...endpoint },
      'interactive=true&flow_token=ft-1&flow_action=data_exchange&phone_number=15550001111',
    );
  });

  it('writes navigate with its payload', async () => {
    await expectLink(
      { flow_action: 'navigate', flow_action_payload: '{"screen":"A"}' },
      { flow_action: 'navigate', flow_action_payload: { screen: 'A' } },
      'flow_action=navigate&flow_action_payload=%7B%22screen%22%3A%22A%22%7D',
    );
  });

  it('refuses any other action', async () => {
    for (const action of ['jump', 'NAVIGATE', '']) {
      await expectRefused(
        { flow_action: action },
        { flow_action: action },
        'flow_action must be navigate or data_exchange',
      );
    }
  });
});

describe('Meta’s table, row flow_action_payload: “Initial screen data in JSON format, escaped using encodeURIComponent. Required if flow_action is navigate. Should be omitted otherwise.”', () => {
  it('reproduces Meta’s sample URL exactly (a space is %20)', async () => {
    // Meta's sample: …/preview/?token=b9d6...&interactive=true&flow_action=navigate&flow_action_payload=
    // %7B%22screen%22%3A%22FIRST_SCREEN%22%2C%22data%22%3A%7B%22screen_heading%22%3A%22hello%20world%22%7D%7D&debug=true
    const sample =
      'interactive=true&flow_action=navigate&flow_action_payload=%7B%22screen%22%3A%22FIRST_SCREEN%22%2C%22data%22%3A%7B%22screen_heading%22%3A%22hello%20world%22%7D%7D&debug=true';
    const payload = { screen: 'FIRST_SCREEN', data: { screen_heading: 'hello world' } };
    await expectLink(
      {
        interactive: 'true',
        flow_action: 'navigate',
        flow_action_payload: JSON.stringify(payload),
        debug: 'true',
      },
      { interactive: true, flow_action: 'navigate', flow_action_payload: payload, debug: true },
      sample,
    );
  });

  it('keeps the caller’s JSON text exactly, whatever its shape (Meta says only “JSON format”)', async () => {
    const text = '[ 1, {"x" : "a b"} ]';
    await expectLink(
      { flow_action: 'navigate', flow_action_payload: text },
      { flow_action: 'navigate', flow_action_payload: text },
      `flow_action=navigate&flow_action_payload=${encodeURIComponent(text)}`,
    );
  });

  it('is accepted without flow_action (Meta does not say which action the preview starts with)', async () => {
    await expectLink(
      { flow_action_payload: '{"screen":"A"}' },
      { flow_action_payload: { screen: 'A' } },
      'flow_action_payload=%7B%22screen%22%3A%22A%22%7D',
    );
  });

  it('is required when flow_action is navigate', async () => {
    await expectRefused(
      { interactive: 'true', flow_action: 'navigate' },
      { interactive: true, flow_action: 'navigate' },
      'flow_action_payload is required when flow_action is navigate',
    );
  });

  it('must be omitted when flow_action is data_exchange', async () => {
    const endpoint = {
      flow_token: 'ft-1',
      flow_action: 'data_exchange',
      phone_number: '15550001111',
      flow_action_payload: '{"screen":"A"}',
    };
    await expectRefused(
      endpoint,
      endpoint,
      'flow_action_payload must be omitted when flow_action is data_exchange',
    );
  });

  it('must be JSON text', async () => {
    for (const text of ['{screen:', '', 'hello world']) {
      await expectRefused(
        { flow_action: 'navigate', flow_action_payload: text },
        { flow_action: 'navigate', flow_action_payload: text },
        'flow_action_payload must be JSON text, like {"screen": "WELCOME", "data": {}}',
      );
    }
  });
});

describe('Meta’s table, row phone_number: “Phone number that will be used to send the Flow … Required for Flows with endpoint.”', () => {
  it('is required when flow_action is data_exchange; an empty one counts as missing', async () => {
    const message = 'phone_number is required when flow_action is data_exchange';
    const endpoint = { flow_token: 'ft-1', flow_action: 'data_exchange' };
    await expectRefused(endpoint, endpoint, message);
    await expectRefused({ ...endpoint, phone_number: '' }, { ...endpoint, phone_number: '' }, message);
  });

  it('is written in whatever form the caller uses (Meta gives no format)', async () => {
    const number = '+1 (555) 000-1111';
    await expectLink(
      { phone_number: number },
      { phone_number: number },
      'phone_number=%2B1%20(555)%20000-1111',
    );
  });

  it('is a string of at most 64 characters (our cap)', async () => {
    await expectRefused(undefined, { phone_number: 15550001111 }, 'phone_number must be a string');
    const long = '1'.repeat(LINK_LIMITS.phoneNumberChars + 1);
    await expectRefused(
      { phone_number: long },
      { phone_number: long },
      'phone_number must be at most 64 characters',
    );
  });
});

describe('Meta’s table, row debug: “Show actions in a separate panel … It will be ignored if interactive is not true.”', () => {
  it('is written with interactive=true, and without it too (Meta ignores it there, it does not refuse it)', async () => {
    await expectLink(
      { interactive: 'true', debug: 'true' },
      { interactive: true, debug: true },
      'interactive=true&debug=true',
    );
    await expectLink({ debug: 'true' }, { debug: 'true' }, 'debug=true');
  });

  it('is a string (Meta’s type), so any string is written as given; a JSON boolean as true/false', async () => {
    await expectLink({ debug: 'on 1' }, { debug: 'on 1' }, 'debug=on%201');
    await expectRefused(undefined, { debug: 1 }, 'debug must be a string or true/false');
  });
});

describe('the link’s own token and the encoding', () => {
  it('refuses a caller’s token: it is the link’s own (Meta: …/preview/?token=…)', async () => {
    const trigger = refusal(
      'Unknown query parameter "token"; accepted: custSpaceId, interactive, flow_token, flow_action, flow_action_payload, phone_number, debug',
    );
    deepStrictEqual(await viaTrigger({ token: 'mine' }), {
      statusCode: 400,
      headers: baseHeaders(),
      isBase64Encoded: false,
      body: JSON.stringify(trigger),
      json: trigger,
    });
    deepStrictEqual(
      await viaDirect({ token: 'mine' }),
      refusal(
        'Unknown link parameter "token"; use interactive, flow_token, flow_action, flow_action_payload, phone_number, debug',
      ),
    );
    strictEqual(cams.calls.length, 0);
  });

  it('keeps CAMS’s link byte for byte, its token’s escapes and its fragment included', async () => {
    const link =
      'https://business.facebook.com/wa/manage/flows/welcome-flow/preview/?token=b9d6%2Bx%3D%3D&v=1+2#top';
    await expectLink(
      { interactive: 'true' },
      { interactive: true },
      '',
      link,
      'https://business.facebook.com/wa/manage/flows/welcome-flow/preview/?token=b9d6%2Bx%3D%3D&v=1+2&interactive=true#top',
    );
  });

  it('lets the caller’s value replace one of Meta’s names CAMS’s link already carries, and keeps the rest', async () => {
    const link =
      'https://business.facebook.com/wa/manage/flows/welcome-flow/preview/?token=b9d6&interactive=false&debug=true&%69nteractive=0';
    await expectLink(
      { interactive: 'true', flow_token: 'a b' },
      { interactive: true, flow_token: 'a b' },
      '',
      link,
      'https://business.facebook.com/wa/manage/flows/welcome-flow/preview/?token=b9d6&debug=true&interactive=true&flow_token=a%20b',
    );
  });

  it('refuses a lone surrogate (encodeURIComponent cannot write it) with a 400 naming the parameter', async () => {
    for (const name of ['flow_token', 'phone_number', 'debug', 'flow_action_payload']) {
      const value = name === 'flow_action_payload' ? '"\ud800"' : `a\udc00b`;
      await expectRefused(
        { [name]: value },
        { [name]: value },
        `${name} is not well-formed Unicode (it holds a lone surrogate)`,
      );
    }
  });
});

describe('the cache keeps the bare link', () => {
  it('gives two callers of one flow each only their own parameters, from one CAMS call', async () => {
    const [a, b] = await Promise.all([
      viaTrigger({ interactive: 'true', flow_token: 'token-of-a', flow_action_payload: '{"screen":"A"}' }),
      viaDirect({ debug: true, phone_number: '+15550002222' }),
    ]);
    strictEqual(cams.calls.length, 1);
    const linkA = new URL((a.json as { previewUrl: string }).previewUrl);
    const linkB = new URL((b as { previewUrl: string }).previewUrl);
    const token = linkA.searchParams.get('token');
    ok(token);
    deepStrictEqual(
      [...linkA.searchParams],
      [
        ['token', token],
        ['interactive', 'true'],
        ['flow_token', 'token-of-a'],
        ['flow_action_payload', '{"screen":"A"}'],
      ],
    );
    deepStrictEqual(
      [...linkB.searchParams],
      [
        ['token', token],
        ['phone_number', '+15550002222'],
        ['debug', 'true'],
      ],
    );
    // A third caller without parameters gets the bare link, from the cache.
    const bare = await viaTrigger({});
    strictEqual(bare.headers['X-Cache'], 'hit');
    deepStrictEqual(
      [...new URL((bare.json as { previewUrl: string }).previewUrl).searchParams],
      [['token', token]],
    );
    strictEqual(cams.calls.length, 1);
    const { cache } = (stores as FleetStores).session();
    ok(cache instanceof MemoryPreviewCache);
    strictEqual(cache.size, 1);
  });
});

describe('flow_action_payload: size before parse, bounded depth (issue 17)', () => {
  const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

  it('answers 400 for 5,000 nested arrays in a 10 KB query, by its size, before parsing', async () => {
    const text = nested(5000);
    strictEqual(text.length, 10_000);
    await expectRefused(
      { flow_action: 'navigate', flow_action_payload: text },
      { flow_action: 'navigate', flow_action_payload: text },
      'flow_action_payload must be at most 2000 characters',
    );
  });

  it('answers 400 for nesting deeper than 64 within the size, as text and as a JSON value', async () => {
    const message = 'flow_action_payload must nest arrays and objects at most 64 deep';
    await expectRefused({ flow_action_payload: nested(65) }, { flow_action_payload: nested(65) }, message);
    // As a value in a direct payload: parsed with the event already, so it is walked without recursion.
    for (const depth of [65, 5000, 100_000]) {
      const event = `{"flowId":"welcome-flow","link":{"flow_action_payload":${nested(depth)}}}`;
      deepStrictEqual(await fn().invoke(Buffer.from(event)), refusal(message));
    }
    const wide = { screen: 'A', data: { list: Array.from({ length: 5000 }, () => 0) } };
    await expectRefused(
      undefined,
      { flow_action_payload: wide },
      'flow_action_payload must be at most 2000 characters',
    );
    strictEqual(cams.calls.length, 0);
  });

  it('accepts 64 levels and 2000 characters', async () => {
    const deep = nested(64);
    await expectLink(
      { flow_action_payload: deep },
      { flow_action_payload: JSON.parse(deep) },
      `flow_action_payload=${encodeURIComponent(deep)}`,
    );
    const shell = JSON.stringify({ screen: 'A', data: { text: '' } });
    const long = JSON.stringify({ screen: 'A', data: { text: 'x'.repeat(2000 - shell.length) } });
    strictEqual(long.length, 2000);
    await expectLink(
      { flow_action_payload: long },
      { flow_action_payload: long },
      `flow_action_payload=${encodeURIComponent(long)}`,
    );
  });
});

/** Any string without a lone surrogate, any code point (astral, controls, NUL, BOM, +, %, &, =, #). */
const anyText = fc.string({ unit: 'binary', maxLength: 60 });
/** Strings that do hold a lone surrogate somewhere. */
const withLoneSurrogate = fc
  .tuple(anyText, fc.integer({ min: 0xd800, max: 0xdfff }), anyText)
  .map(([before, half, after]) => `${before}${String.fromCharCode(half)}${after}`)
  .filter((text) => /\p{Cs}/u.test(text));

describe('properties', () => {
  it('any string and any JSON text round-trip exactly through the link (5,000 links)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...PREVIEW_LINK_PARAMS), fc.string({ unit: 'binary' })), {
          maxLength: 6,
        }),
        (pairs) => {
          const params = [...new Map(pairs)];
          const link = applyLinkParams(BARE, params);
          ok(link.startsWith(BARE));
          // Written as encodeURIComponent writes it: no space, no '+' standing for one.
          ok(!/[ +]/.test(link), link);
          const read = new URL(link).searchParams;
          deepStrictEqual([...read], [['token', 'b9d6e2a0-5c1f-4e8b'], ...params]);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('any string round-trips through the handler, trigger and direct invocation (300 runs)', async () => {
    const short = fc.string({ unit: 'binary', maxLength: 30 });
    const payloadText = fc
      .jsonValue({ maxDepth: 4, stringUnit: 'binary' })
      .map((value) => JSON.stringify(value))
      .filter((text) => text.length <= LINK_LIMITS.payloadChars);
    const tokens = new Set<string | null>();
    await fc.assert(
      fc.asyncProperty(
        anyText.filter((text) => text !== ''),
        short.filter((text) => text !== ''),
        short,
        payloadText,
        async (flowToken, phoneNumber, debug, payload) => {
          const endpoint = {
            flow_token: flowToken,
            flow_action: 'data_exchange',
            phone_number: phoneNumber,
            debug,
          };
          const navigate = { flow_token: flowToken, flow_action: 'navigate', flow_action_payload: payload };
          for (const input of [endpoint, navigate]) {
            for (const answer of [(await viaTrigger(input)).json, await viaDirect(input)]) {
              const read = new URL((answer as { previewUrl: string }).previewUrl).searchParams;
              tokens.add(read.get('token'));
              deepStrictEqual(Object.fromEntries(read), { token: read.get('token'), ...input });
            }
          }
        },
      ),
      { numRuns: 300 },
    );
    // One flow, one CAMS link for all of them: the parameters never reached the cache.
    strictEqual(tokens.size, 1);
    strictEqual(cams.calls.length, 1);
  });

  it('a lone surrogate anywhere is a 400 naming its parameter, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('flow_token', 'phone_number', 'debug', 'flow_action_payload'),
        withLoneSurrogate,
        async (name, value) => {
          const message = `${name} is not well-formed Unicode (it holds a lone surrogate)`;
          deepStrictEqual((await viaTrigger({ [name]: value })).json, refusal(message));
          deepStrictEqual(await viaDirect({ [name]: value }), refusal(message));
        },
      ),
      { numRuns: 300 },
    );
    strictEqual(cams.calls.length, 0);
  });
});
