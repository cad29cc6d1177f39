/**
 * The layers of shared/, enforced: imports run one way, edge → core → ports, and adapters implement the core's
 * ports. `npm run lint` runs this (depcruise), so a new import across a layer boundary fails the check.
 *
 *   functions/        composes the layers below into the FC handler
 *   shared/auth/      caller identity (a middleware at the edge) → the edge's types and HTTP errors, the core's rules
 *   shared/fc/        the FC edge: event, adapter, HTTP errors and the one error table, headers, the logger
 *                     → the core, and CAMS failures (for the error table and the log)
 *   shared/cams/      the CAMS client → implements the core's port; knows CAMS codes, no HTTP status
 *   shared/store/     memory / Redis → implement the core's ports
 *   shared/preview/   the core → only its own files and the lowest layer: no HTTP, no CAMS codes, no config
 *   shared/*.ts       lowest layer: config, config-error, secrets, is-record
 */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'shared-is-not-tooling',
      comment: 'Function code never imports dev tooling, tests, deploy or scripts.',
      severity: 'error',
      from: { path: '^(shared|functions|client)/' },
      to: { path: '^(dev|tests|deploy|scripts)/' },
    },
    {
      name: 'core-imports-no-adapters',
      comment: 'The core (shared/preview) knows the world only through its ports.',
      severity: 'error',
      from: { path: '^shared/preview/' },
      to: { path: '^shared/(fc|cams|store|auth)/' },
    },
    {
      name: 'core-knows-no-configuration',
      comment: 'The core takes its settings as arguments; which variable holds them is the edge’s business.',
      severity: 'error',
      from: { path: '^shared/preview/' },
      to: { path: '^shared/config(-error)?\\.ts$' },
    },
    {
      name: 'core-speaks-no-http-and-no-cams',
      comment: 'No HTTP, no SDK, no middleware in the core: it is plain async code.',
      severity: 'error',
      from: { path: '^shared/preview/' },
      to: {
        path: '(^node:https?$|^https?$|@middy/|@alicloud/|ioredis|jose)',
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'adapters-do-not-reach-up',
      comment: 'CAMS and store adapters never import the FC edge or caller identity.',
      severity: 'error',
      from: { path: '^shared/(cams|store)/' },
      to: { path: '^shared/(fc|auth)/' },
    },
    {
      name: 'adapters-are-independent',
      comment: 'The CAMS integration and the stores do not import each other.',
      severity: 'error',
      from: { path: '^shared/cams/' },
      to: { path: '^shared/store/' },
    },
    {
      name: 'stores-are-independent',
      severity: 'error',
      from: { path: '^shared/store/' },
      to: { path: '^shared/cams/' },
    },
    {
      name: 'edge-does-not-know-identity-or-stores',
      comment: 'Caller identity builds on the edge, not the other way round; the handler composes stores.',
      severity: 'error',
      from: { path: '^shared/fc/' },
      to: { path: '^shared/(auth|store)/' },
    },
    {
      name: 'identity-calls-no-cams-and-no-store',
      severity: 'error',
      from: { path: '^shared/auth/' },
      to: { path: '^shared/(cams|store)/' },
    },
    {
      name: 'lowest-layer-imports-nothing-above',
      comment: 'config, config-error, secrets and is-record sit under every layer.',
      severity: 'error',
      from: { path: '^shared/[^/]+\\.ts$' },
      to: { path: '^shared/[^/]+/' },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
