/** jest runs the TypeScript sources as ESM through SWC (type checking is tsc's job, in scripts/test.sh). */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } }],
  },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  modulePathIgnorePatterns: ['<rootDir>/cdk.out', '<rootDir>/.media-ingest'],
  setupFiles: ['<rootDir>/test/setup.ts'],
  testTimeout: 120_000,
  maxWorkers: 2,
};
