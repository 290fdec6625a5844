/**
 * Tests run against the real local stack (Kafka, registry, MariaDB, Redis). `npm test` brings it
 * up first; globalSetup re-checks it so `npx jest` alone gives a clear error instead of timeouts.
 * workerThreads: structured clone carries bigint between workers, where JSON would throw.
 */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  workerThreads: true,
  maxWorkers: 2,
  testTimeout: 120000,
  reporters: ['default', '<rootDir>/test/fixtures/summary-reporter.js'],
};
