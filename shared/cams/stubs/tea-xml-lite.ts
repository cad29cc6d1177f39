/**
 * A stand-in for `@alicloud/tea-xml` in the bundle (see `BUNDLE_ALIASES` in ../sdk-workarounds.ts; tests prove it equivalent).
 *
 * openapi-client's V3 path calls `parseXml(body, null)` in one place only: for an HTTP ≥ 400 answer whose
 * content-type is exactly `text/xml;charset=utf-8`, and then reads `Error.Code`, `Error.Message`,
 * `Error.RequestId`… — flat text elements. This reads exactly that shape, so xml2js, sax and xmlbuilder (≈100 KB of
 * bundle, several ms of cold start) stay out. Anything else throws, and the CAMS client reports the answer as
 * unreadable (502) — the same outcome as an XML body it could not map.
 */
const ELEMENT = /<([A-Za-z_][\w.-]*)(?:\s[^<>]*)?>([\s\S]*?)<\/\1\s*>/g;
const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decode(text: string): string {
  const cdata = /^\s*<!\[CDATA\[([\s\S]*)\]\]>\s*$/.exec(text);
  if (cdata) return cdata[1] ?? '';
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);/g, (_, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(Number.parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(Number.parseInt(entity.slice(1), 10));
    return ENTITIES[entity] ?? '';
  });
}

function children(xml: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const match of xml.matchAll(ELEMENT)) {
    const [, name, text] = match;
    if (
      name === undefined ||
      text === undefined ||
      /<[A-Za-z_]/.test(text.replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, ''))
    ) {
      throw new Error('tea-xml-lite reads flat error documents only');
    }
    out[name] = decode(text);
  }
  return out;
}

/** Attributes the way xml2js shows them: under `$`. */
function attributes(tag: string): Record<string, string> | undefined {
  const found = [...tag.matchAll(/([A-Za-z_][\w:.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)];
  if (found.length === 0) return undefined;
  return Object.fromEntries(found.map(([, name, double, single]) => [name, decode(double ?? single ?? '')]));
}

function parseXml(body: string, response: unknown): Record<string, unknown> {
  if (response !== null && response !== undefined) throw new Error('tea-xml-lite does not cast to models');
  const withoutProlog = body.replace(/^\s*<\?xml[^>]*\?>/, '').trim();
  const root = /^<([A-Za-z_][\w.-]*)(\s[^<>]*)?>([\s\S]*)<\/\1\s*>$/.exec(withoutProlog);
  if (root?.[1] === undefined || root[3] === undefined) throw new Error('tea-xml-lite: not an XML document');
  const attrs = attributes(root[2] ?? '');
  return { [root[1]]: { ...(attrs ? { $: attrs } : {}), ...children(root[3]) } };
}

function toXML(): never {
  throw new Error('tea-xml-lite does not build XML');
}

/** The same call shape as the module it replaces: `require('@alicloud/tea-xml').default.parseXml(…)`. */
export default { parseXml, toXML };
