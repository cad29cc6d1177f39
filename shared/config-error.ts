/**
 * A setting the function cannot run with. Knows nothing of HTTP: the edge's error table answers it as a 500
 * `ConfigInvalid` whose message names the variable and the problem.
 *
 * A value is quoted (for the log only) solely when its variable cannot hold a secret and the value does not look
 * like one: `JWT_*`, `REDIS_URL` and the credentials are never quoted, nor is anything shaped like a key, a token,
 * a PEM block, a JSON document or a URL with userinfo, whatever variable it was pasted into.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly variable: string;
  /** The message, plus the value when it may be shown: for the log line, never for a caller. */
  readonly detail: string;

  constructor(variable: string, problem: string, value?: string) {
    super(`${variable} ${problem}`);
    this.variable = variable;
    this.detail =
      value !== undefined && mayQuote(variable, value) ? `${this.message}, got '${value}'` : this.message;
  }
}

/** Variables whose values may hold a secret by design: never quoted. */
const SECRET_CAPABLE = /^(JWT_|REDIS_URL$|ALIBABA_CLOUD_)/;

/**
 * A short value of plain words and punctuation (`ten seconds`, `https://app.example.com/`). Anything longer,
 * with characters keys and tokens are made of in a long run, or with the marks of a document or credentials, is not.
 */
const PLAIN_VALUE = /^[A-Za-z0-9 ._:/,+*-]{0,40}$/;
const LONG_RUN = /[A-Za-z0-9+/_=-]{17,}/;

function mayQuote(variable: string, value: string): boolean {
  if (SECRET_CAPABLE.test(variable)) return false;
  return PLAIN_VALUE.test(value) && !LONG_RUN.test(value) && !value.includes('-----');
}
