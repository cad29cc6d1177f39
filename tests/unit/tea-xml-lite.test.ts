/**
 * The bundle's stand-in for @alicloud/tea-xml reads the XML error documents openapi-client parses exactly as the
 * real one does, and refuses what it cannot read (which the CAMS client then reports as unreadable).
 */
import { deepStrictEqual, throws } from 'node:assert/strict';
import { describe, it } from 'node:test';
import TeaXml from '@alicloud/tea-xml';
import TeaXmlLite from '../../shared/cams/stubs/tea-xml-lite.js';

const documents = [
  '<?xml version="1.0" encoding="UTF-8"?><Error><RequestId>7D8A-1</RequestId><HostId>cams.aliyuncs.com</HostId><Code>Throttling.User</Code><Message>Request was denied due to user flow control.</Message></Error>',
  '<Error>\n  <Code>Ram.PermissionDeny</Code>\n  <Message>a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos; &#65;&#x42;</Message>\n  <RequestId>R-2</RequestId>\n</Error>',
  '<Error><Code>InternalError</Code><Message><![CDATA[The <request> failed]]></Message><Recommend>https://x?a=1&amp;b=2</Recommend></Error>',
  '<Response xmlns="http://example.com"><Code>ServiceUnavailable</Code><RequestId>R-3</RequestId></Response>',
];

describe('tea-xml-lite', () => {
  for (const [i, document] of documents.entries()) {
    it(`parses error document ${i + 1} as @alicloud/tea-xml does`, () => {
      deepStrictEqual(TeaXmlLite.parseXml(document, null), TeaXml.parseXml(document, null));
    });
  }

  it('refuses nested documents and text that is not XML', () => {
    throws(
      () => TeaXmlLite.parseXml('<Error><Detail><Code>x</Code></Detail></Error>', null),
      /flat error documents/,
    );
    throws(() => TeaXmlLite.parseXml('not xml at all', null), /not an XML document/);
  });
});
