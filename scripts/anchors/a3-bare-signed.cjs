/**
 * Benchmark anchor A3, the floor: a handler that signs the CAMS request itself (Alibaba Cloud V3,
 * ACS3-HMAC-SHA256) with node:crypto and sends it with node:https (node:http for the loopback simulator), one
 * keep-alive agent per instance. No SDK, no middleware, no validation, no cache, no log.
 */
'use strict';
const crypto = require('node:crypto');
const https = require('node:https');
const http = require('node:http');

const agents = {
  'https:': new https.Agent({ keepAlive: true }),
  'http:': new http.Agent({ keepAlive: true }),
};
const sha256 = (data) => crypto.createHash('sha256').update(data).digest('hex');

exports.handler = async (event, context) => {
  const { flowId } = JSON.parse(event.toString('utf8'));
  const { accessKeyId, accessKeySecret, securityToken } = context.credentials;
  const endpoint = new URL(process.env.CAMS_ENDPOINT);
  const body = `FlowId=${encodeURIComponent(flowId)}`;
  const headers = {
    host: endpoint.host,
    'content-type': 'application/x-www-form-urlencoded',
    'x-acs-action': 'GetFlowPreviewUrl',
    'x-acs-version': '2020-06-06',
    'x-acs-date': new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    'x-acs-signature-nonce': crypto.randomUUID(),
    'x-acs-content-sha256': sha256(body),
  };
  if (securityToken) {
    headers['x-acs-security-token'] = securityToken;
    headers['x-acs-accesskey-id'] = accessKeyId;
  }
  const names = Object.keys(headers).sort();
  const canonical = [
    'POST',
    '/',
    '',
    ...names.map((n) => `${n}:${headers[n].trim()}`),
    '',
    names.join(';'),
    headers['x-acs-content-sha256'],
  ].join('\n');
  const signature = crypto
    .createHmac('sha256', accessKeySecret)
    .update(`ACS3-HMAC-SHA256\n${sha256(canonical)}`)
    .digest('hex');
  headers.authorization = `ACS3-HMAC-SHA256 Credential=${accessKeyId},SignedHeaders=${names.join(';')},Signature=${signature}`;
  const transport = endpoint.protocol === 'http:' ? http : https;
  const text = await new Promise((resolve, reject) => {
    const request = transport.request(
      {
        host: endpoint.hostname,
        port: endpoint.port,
        method: 'POST',
        path: '/',
        headers,
        agent: agents[endpoint.protocol],
        timeout: 5000,
      },
      (response) => {
        const chunks = [];
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', reject);
    request.end(body);
  });
  const answer = JSON.parse(text);
  if (answer.Code !== 'OK') return { error: { code: answer.Code } };
  return {
    flowId,
    previewUrl: answer.Data.PreviewUrl,
    previewUrlExpires: answer.Data.PreviewUrlExpires,
    requestId: answer.RequestId,
  };
};
