/**
 * Jest for the fault suite (`npm run test:faults`): the root configuration, limited to
 * test/faults, with `npm start`'s bundle built once before any file runs. Not part of `npm test`'s
 * jest run; `.ci/run` runs it after.
 */
const base = require('../../jest.config.js');

module.exports = {
  ...base,
  rootDir: '../..',
  roots: ['<rootDir>/test/faults'],
  testPathIgnorePatterns: ['/node_modules/'],
  globalSetup: '<rootDir>/test/faults/support/globalSetup.ts',
  globalTeardown: '<rootDir>/test/faults/support/globalTeardown.ts',
  // A black-holed dependency is waited out (its timeout, then recovery): a test takes tens of seconds.
  testTimeout: 120000,
  // One file at a time: each runs two app processes and every dependency, on a shared 2-core machine.
  maxWorkers: 1,
};
