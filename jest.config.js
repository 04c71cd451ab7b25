/** Jest runs TypeScript through SWC (decorator metadata on, no type-check; `npm test` type-checks with tsc first). */
const swc = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    target: 'es2022',
  },
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
};

module.exports = {
  rootDir: __dirname,
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.spec.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', swc],
    '^.+\\.m?js$': ['@swc/jest', { jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  // ESM-only packages Node 20's Jest cannot require(): compile them to CommonJS like our own code.
  transformIgnorePatterns: ['/node_modules/(?!(content-disposition|jose|dpop)/)'],
  moduleNameMapper: {
    '^@keyshift/features/(.*)$': '<rootDir>/libs/features/$1',
    '^@keyshift/(common|config|crypto|database|domain|outbound|platform|queue)$': '<rootDir>/libs/$1/src',
  },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 30_000,
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
};
