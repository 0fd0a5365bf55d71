/**
 * jest runs the TypeScript sources as ESM through babel-jest, which only strips types (type checking is tsc's job,
 * in scripts/test.sh). babel-jest rather than SWC: its lock entries come out complete, so `npm ci` works anywhere.
 */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['babel-jest', { babelrc: false, configFile: false, presets: [['@babel/preset-typescript', { allowDeclareFields: true }]] }],
  },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  modulePathIgnorePatterns: ['<rootDir>/cdk.out', '<rootDir>/.media-ingest'],
  setupFiles: ['<rootDir>/test/setup.ts'],
  // Every local runtime's AWS calls are checked against the deployed roles when it stops (the offline IAM check).
  setupFilesAfterEnv: ['<rootDir>/test/iam-check.ts'],
  testTimeout: 120_000,
  maxWorkers: 2,
  // The longest files first (by an earlier run's timings, or a table of them on a fresh clone), so both workers end together.
  testSequencer: '<rootDir>/test/sequencer.js',
};
