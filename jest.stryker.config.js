/**
 * Jest for Stryker (`npm run mutation`): only the unit specs that cover libs/domain, no database
 * global setup (the domain is pure), same SWC transform and path aliases as jest.config.js.
 */
const base = require('./jest.config');

module.exports = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: base.transform,
  transformIgnorePatterns: base.transformIgnorePatterns,
  moduleNameMapper: base.moduleNameMapper,
  testMatch: ['<rootDir>/test/unit/domain/**/*.spec.ts', '<rootDir>/test/unit/phase-machine.spec.ts'],
  modulePathIgnorePatterns: ['<rootDir>/.stryker-tmp/', '<rootDir>/reports/'],
  testTimeout: 30_000,
};
