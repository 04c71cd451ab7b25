/**
 * Boundaries between features, checked on every `npm test` (npm run lint:deps).
 *
 * A feature (libs/features/<name>/) may import another feature only through what that feature
 * declares for others: its repositories, entities, ports (`*.port.ts`, server-connector.ts,
 * libs/features/ports/), DTO/view types and Nest modules (wiring). Services, handlers and executors
 * stay private to their feature. Module cycles are refused everywhere.
 *
 * Violations that existed when the rule arrived are listed in .dependency-cruiser-known-violations.json
 * (regenerate with `npm run lint:deps:baseline` only when removing entries); any new one fails.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A module cycle makes load order matter and hides which feature owns what.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-feature-cycles',
      severity: 'error',
      comment: 'Features depend on each other one way: a cycle between feature folders (keys <-> probes) is a seam missing.',
      scope: 'folder',
      from: { path: '^libs/features/[^/]+/?$' },
      to: { circular: true },
    },
    {
      name: 'feature-to-feature-only-through-ports',
      severity: 'error',
      comment:
        'Another feature is reached through its repository, entity, port, DTO/view types or module, never its services.',
      from: { path: '^libs/features/([^/]+)/' },
      to: {
        path: '^libs/features/([^/]+)/',
        pathNot: [
          '^libs/features/$1/',
          '\\.(repository|entity|port|module|dto)\\.ts$',
          '^libs/features/connectors/server-connector\\.ts$',
          // The connectors feature's face for the others: every change at a server goes through it.
          '^libs/features/connectors/registrar\\.ts$',
          '^libs/features/connectors/server-inventory\\.ts$',
          '^libs/features/repositories\\.module\\.ts$',
          '^libs/features/ports/',
          // Declared for every controller and service: who is calling, and the guards' decorators.
          '^libs/features/api-tokens/(principal|auth\\.decorators)\\.ts$',
          // The audit trail's port: every feature appends its events in its own transaction.
          '^libs/features/audit/audit-log\\.service\\.ts$',
        ],
      },
    },
    {
      name: 'domain-is-pure',
      severity: 'error',
      comment: 'libs/domain holds the phase rules: no Nest, TypeORM, Redis or feature code.',
      from: { path: '^libs/domain/' },
      to: { path: ['^libs/(features|database|queue|platform|outbound)/', 'node_modules/(@nestjs|typeorm|bullmq|ioredis|pg)/'] },
    },
    {
      name: 'libs-do-not-import-apps-or-tests',
      severity: 'error',
      from: { path: '^libs/' },
      to: { path: '^(apps|test|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // libs/database/src/entities.ts lists every feature's entities for the DataSource: wiring, which
    // would otherwise make every feature that imports @keyshift/database look like a cycle.
    exclude: { path: ['(^|/)(dist|node_modules)/', '^libs/database/src/entities\\.ts$'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
