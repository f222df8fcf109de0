/**
 * Jest for the browser tests (`npm run test:e2e`): the root configuration, limited to test/e2e,
 * with the page and `npm start`'s bundle built once before any file runs.
 */
const base = require('../../jest.config.js');

module.exports = {
  ...base,
  rootDir: '../..',
  roots: ['<rootDir>/test/e2e'],
  testPathIgnorePatterns: ['/node_modules/'],
  globalSetup: '<rootDir>/test/e2e/support/globalSetup.ts',
  // Each file drives its own `npm start` stack and Chromium: a browser step can take seconds.
  testTimeout: 120000,
  // One file at a time: each runs a whole stack and Chromium, too much at once on a shared 2-core machine.
  maxWorkers: 1,
};
