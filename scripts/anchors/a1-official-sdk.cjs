/**
 * Benchmark anchor A1: a plain FC handler on the official CAMS SDK, the way Alibaba Cloud's templates deploy it
 * (`code` with its `node_modules`, required at load). It answers what the function answers: the preview or an error.
 * `scripts/bench.mts` also bundles this file with esbuild for A2.
 */
'use strict';
const Cams = require('@alicloud/cams20200606');
const OpenApi = require('@alicloud/openapi-client');
const Util = require('@alicloud/tea-util');

exports.handler = async (event, context) => {
  const { flowId } = JSON.parse(event.toString('utf8'));
  const { accessKeyId, accessKeySecret, securityToken } = context.credentials;
  const endpoint = new URL(process.env.CAMS_ENDPOINT);
  const client = new Cams.default(
    new OpenApi.Config({
      accessKeyId,
      accessKeySecret,
      securityToken,
      endpoint: endpoint.host,
      protocol: endpoint.protocol === 'http:' ? 'HTTP' : 'HTTPS',
    }),
  );
  const response = await client.getFlowPreviewUrlWithOptions(
    new Cams.GetFlowPreviewUrlRequest({ flowId }),
    new Util.RuntimeOptions({}),
  );
  const data = response.body.data;
  return {
    flowId,
    previewUrl: data.previewUrl,
    previewUrlExpires: data.previewUrlExpires,
    requestId: response.body.requestId,
  };
};
