/**
 * Failure kinds that tell the truth: a credential or request that cannot even be sent is a local 500, never
 * "CAMS could not be reached"; `camsCalls` counts only requests that left the process; credentials are trimmed
 * where they enter (a CRLF `.env`'s `\r`) and refused, by name, when they still cannot be sent.
 */
import { deepStrictEqual, rejects, strictEqual } from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { createCamsClient } from '../../shared/cams/client.js';
import { CamsError, CamsRequestNotSentError } from '../../shared/cams/errors.js';
import type { Env } from '../../shared/config.js';
import { toHttpError } from '../../shared/fc/error-table.js';
import type { FcContext } from '../../shared/fc/event.js';
import { useCamsOnFakeClock } from '../fixtures/cams.js';
import { directEvent, fcContext, ROLE_CREDENTIALS } from '../fixtures/fc.js';
import { buildFunction, type FunctionUnderTest } from '../fixtures/function.js';

// One clock for the function and the simulator: back-offs and the 5/s budget's waits pass at once.
const { cams, clock, fresh } = useCamsOnFakeClock();
const ENV = (): Env => ({ CAMS_ENDPOINT: cams.url, CAMS_TIMEOUT_MS: '2000' });

/** A fresh instance with `env` (default: the simulator's) on a fresh fake clock. */
function instance(env: Env = ENV()): FunctionUnderTest {
  return buildFunction(env, fresh());
}

async function invokeLogged(context: FcContext, fn = instance()) {
  const result = await fn.invoke(directEvent({ flowId: 'welcome-flow', refresh: true }), context);
  const lines = fn.logs();
  strictEqual(lines.length, 1);
  return { result, log: lines[0] as Record<string, unknown> };
}

const withCredentials = (credentials: unknown): FcContext => {
  const { credentials: _, ...rest } = fcContext();
  return credentials === undefined
    ? rest
    : { ...rest, credentials: credentials as NonNullable<FcContext['credentials']> };
};

describe('credentials where they enter', () => {
  it('removes a trailing \\r and spaces from the context keys: CAMS sees the clean keys', async () => {
    const { result, log } = await invokeLogged(
      withCredentials({
        accessKeyId: ` ${ROLE_CREDENTIALS.accessKeyId}\r`,
        accessKeySecret: `${ROLE_CREDENTIALS.accessKeySecret} `,
        securityToken: `${ROLE_CREDENTIALS.securityToken}\r\n`,
      }),
    );
    strictEqual((result as Record<string, unknown>)['flowId'], 'welcome-flow');
    deepStrictEqual(
      cams.calls.map((c) => [c.status, c.accessKeyId, c.securityToken]),
      [[200, ROLE_CREDENTIALS.accessKeyId, ROLE_CREDENTIALS.securityToken]],
    );
    strictEqual(log['camsCalls'], 1);
  });

  it('removes a trailing \\r from ALIBABA_CLOUD_* keys (a CRLF .env) when the context has none', async () => {
    const fn = instance({
      ...ENV(),
      ALIBABA_CLOUD_ACCESS_KEY_ID: `${ROLE_CREDENTIALS.accessKeyId}\r`,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: `${ROLE_CREDENTIALS.accessKeySecret}\r`,
      ALIBABA_CLOUD_SECURITY_TOKEN: `${ROLE_CREDENTIALS.securityToken}\r`,
    });
    const { result } = await invokeLogged(withCredentials(undefined), fn);
    strictEqual((result as Record<string, unknown>)['flowId'], 'welcome-flow');
    deepStrictEqual(
      cams.calls.map((c) => [c.accessKeyId, c.securityToken]),
      [[ROLE_CREDENTIALS.accessKeyId, ROLE_CREDENTIALS.securityToken]],
    );
  });

  const refused: Array<[string, unknown, string]> = [
    [
      'a token with a line break inside',
      { ...ROLE_CREDENTIALS, securityToken: 'CAIS-part-one\r\nX-Injected: 1' },
      'context.credentials.securityToken holds a character a credential cannot contain (control, space or non-ASCII)',
    ],
    [
      'a key id that is a number',
      { ...ROLE_CREDENTIALS, accessKeyId: 12345 },
      'context.credentials.accessKeyId is a number, not a string',
    ],
    [
      'a secret that is an object',
      { ...ROLE_CREDENTIALS, accessKeySecret: { value: 'x' } },
      'context.credentials.accessKeySecret is a object, not a string',
    ],
    [
      'a key id without its secret',
      { accessKeyId: ROLE_CREDENTIALS.accessKeyId },
      'context.credentials.accessKeySecret is missing',
    ],
    [
      'a secret of blanks',
      { ...ROLE_CREDENTIALS, accessKeySecret: ' \r\n' },
      'context.credentials.accessKeySecret is blank',
    ],
  ];
  for (const [what, credentials, message] of refused) {
    it(`answers 500 CredentialsInvalid for ${what}, without calling CAMS`, async () => {
      const { result, log } = await invokeLogged(withCredentials(credentials));
      deepStrictEqual(result, { error: { code: 'CredentialsInvalid', message, status: 500 } });
      strictEqual(cams.calls.length, 0);
      strictEqual(log['camsCalls'], 0);
    });
  }
});

describe('what counts as a CAMS call, and as CAMS being unavailable', () => {
  it('reports a request Node refuses to build as CamsRequestNotSent, not sent and not counted', async () => {
    // Past the credential check (the client used directly): Node itself refuses the header (ERR_INVALID_CHAR).
    const client = createCamsClient(
      { host: new URL(cams.url).host, protocol: 'HTTP' },
      { ...ROLE_CREDENTIALS, securityToken: 'CAIS-token\u0000' },
    );
    let sent = 0;
    await rejects(
      client.fetchPreviewUrl({ flowId: 'welcome-flow' }, { timeoutMs: 1000, onSent: () => (sent += 1) }),
      (error) =>
        error instanceof CamsRequestNotSentError &&
        (error.cause as { code?: string }).code === 'ERR_INVALID_CHAR',
    );
    strictEqual(sent, 0);
    strictEqual(cams.calls.length, 0);
    const answer = toHttpError(new CamsRequestNotSentError({ cause: new Error('x') }));
    deepStrictEqual([answer.statusCode, answer.code, answer.expose], [500, 'CamsRequestNotSent', true]);
  });

  it('reports a refused connection as CamsUnavailable and counts each attempt that left', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as { port: number };
    await new Promise((resolve) => closed.close(resolve));
    const fn = instance({ ...ENV(), CAMS_ENDPOINT: `http://127.0.0.1:${port}` });
    const { result, log } = await invokeLogged(fcContext(), fn);
    deepStrictEqual(result, {
      error: { code: 'CamsUnavailable', message: 'CAMS could not be reached', status: 502 },
    });
    // ECONNREFUSED is retried: four attempts, each a request that left the process.
    strictEqual(log['camsCalls'], 4);
    deepStrictEqual((log['error'] as { cams?: unknown }).cams, {
      kind: 'network',
      errorCode: 'ECONNREFUSED',
    });
    deepStrictEqual(log['retries'], [
      { attempt: 1, reason: 'ECONNREFUSED', delayMs: 50 },
      { attempt: 2, reason: 'ECONNREFUSED', delayMs: 100 },
      { attempt: 3, reason: 'ECONNREFUSED', delayMs: 200 },
    ]);
    // Full jitter at the clock's 0.5, each back-off followed by the wait for the next slot of the 5/s budget.
    deepStrictEqual(clock().sleeps, [50, 170, 100, 120, 200, 20]);
  });

  it('never reads Node’s own ERR_* codes as a network failure', async () => {
    const client = createCamsClient(
      { host: new URL(cams.url).host, protocol: 'HTTP' },
      // A key id with a character Node refuses in the signed x-acs-accesskey-id header.
      { ...ROLE_CREDENTIALS, accessKeyId: 'STS.key\u007f' },
    );
    await rejects(
      client.fetchPreviewUrl({ flowId: 'welcome-flow' }, { timeoutMs: 1000 }),
      (error) => !(error instanceof CamsError) && error instanceof CamsRequestNotSentError,
    );
  });
});
