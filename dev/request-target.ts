/**
 * Reads an HTTP request target the way FC's front door hands it to a function: the raw path (still URL-encoded,
 * with `..`, `%2e%2e` and backslashes left alone) and the query as a map of decoded values, repeated names joined
 * with commas. Never throws: a target that names no path is `undefined`, which the local server answers with 400.
 */

export interface RequestTarget {
  /** As sent: URL-encoded, never normalised. */
  readonly rawPath: string;
  /** Decoded names and values; a null-prototype object, so `__proto__` or `constructor` are plain entries. */
  readonly query: Record<string, string>;
  /** The same, as decoded pairs in order (repeats kept): what a signature covers. */
  readonly queryPairs: ReadonlyArray<readonly [string, string]>;
}

/** origin-form (`/p?q`) or absolute-form (`http://host/p?q`); anything else (`*`, `//[` aside) is refused. */
export function parseRequestTarget(target: string): RequestTarget | undefined {
  let pathAndQuery: string;
  if (target.startsWith('/')) {
    pathAndQuery = target;
  } else {
    const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*(.*)$/s.exec(target);
    if (absolute === null) return undefined;
    pathAndQuery = absolute[1] === undefined || absolute[1] === '' ? '/' : (absolute[1] ?? '/');
    if (!pathAndQuery.startsWith('/')) pathAndQuery = `/${pathAndQuery}`;
  }
  const hash = pathAndQuery.indexOf('#');
  if (hash !== -1) pathAndQuery = pathAndQuery.slice(0, hash);
  const mark = pathAndQuery.indexOf('?');
  const rawPath = mark === -1 ? pathAndQuery : pathAndQuery.slice(0, mark);
  const query: Record<string, string> = Object.create(null);
  // URLSearchParams decodes leniently (a bad escape stays as written) and never throws.
  const queryPairs = mark === -1 ? [] : [...new URLSearchParams(pathAndQuery.slice(mark + 1))];
  for (const [name, value] of queryPairs) {
    query[name] = Object.hasOwn(query, name) ? `${query[name]},${value}` : value;
  }
  return { rawPath, query, queryPairs };
}

/** Request headers as FC passes them: names as sent, repeated ones joined with commas, `__proto__` kept. */
export function rawHeaderMap(rawHeaders: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = Object.create(null);
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? '';
    const value = rawHeaders[i + 1] ?? '';
    headers[name] = Object.hasOwn(headers, name) ? `${headers[name]},${value}` : value;
  }
  return headers;
}
