/**
 * The layers of shared/, enforced: imports run one way, edge → core → ports, and adapters implement the core's
 * ports. `npm run lint` runs this (depcruise), so a new import across a layer boundary fails the check.
 *
 *   functions/  composes the FC edge, the core, the CAMS integration and the stores
 *   shared/fc/        the FC edge          → may import the core, config, errors, the lowest helpers
 *   shared/auth/      caller identity      → may import the core's types, config, errors, helpers
 *   shared/preview/   the core             → imports only errors, config types and the lowest helpers
 *   shared/cams/      CAMS integration     → implements the core's ports
 *   shared/store/     memory / Redis       → implements the core's ports
 *   shared/*.ts       lowest layer: config, errors, secrets, is-record
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
      name: 'lowest-layer-imports-nothing-above',
      comment: 'config, errors, secrets and is-record sit under every layer.',
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
