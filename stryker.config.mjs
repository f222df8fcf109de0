// StrykerJS over shared/. Run it through `npm run test:mutation [-- <folder or file under shared/>]`
// (scripts/mutation.mjs), which builds the page module first and passes the target as MUTATE.
//
// Sized for a small shared machine: one test runner, per-test coverage (a mutant runs only the
// tests that reach it) and incremental results kept per target under reports/mutation/.

const target = (process.env.MUTATE ?? '').replace(/^\.?\/?(shared\/)?/, '').replace(/\/+$/, '');
const isFile = /\.ts$|\*/.test(target);
const mutate = target === '' ? ['shared/**/*.ts'] : isFile ? [`shared/${target}`] : [`shared/${target}/**/*.ts`];
const slug = target === '' ? 'all' : target.replace(/[^\w.-]+/g, '_');

/**
 * The jest suites a mutant may run. Each integration file starts its own stack (Azurite, the HTTPS
 * provider, the host) or at least Azurite in its beforeAll, and a mutant re-runs every test file
 * that covers it: with all integration suites a mutant took about a minute (hours per folder),
 * with the sign-in walk or the Azurite table suite alone several seconds on a loaded machine.
 * So by default the unit suites only, where a mutant costs about a second.
 *   MUTATION_TESTS=table        adds test/integration/tokenCacheTable.test.ts (shared/tokenCache/tableStore.ts against Azurite)
 *   MUTATION_TESTS=walk         adds that and test/integration/signInFlow.test.ts (the whole data walk)
 *   MUTATION_TESTS=integration  adds every integration suite that reaches shared/ (slow)
 * test/dev and test/infra test dev/ and infra/, not shared/.
 */
const table = ['test/integration/tokenCacheTable.test.ts'];
const walk = [...table, 'test/integration/signInFlow.test.ts'];
const integration = [
  'tokenCacheTable', 'signInFlow', 'badInput', 'hostileInput', 'sessions', 'claimsChallenge', 'encryptionAtRest', 'logoutToken', 'logoutNotifications', 'multiTenant',
  'keyVaultCredentials', 'managedIdentityCredential', 'streaming', 'revocation', 'b2c', 'graph', 'purge', 'credentialRotation',
].map((name) => `test/integration/${name}.test.ts`);
/**
 * Suites a target's own code is only reachable from, each starting Azurite (and the HTTPS provider)
 * once in its beforeAll, a few seconds a mutant: included by default when the target is that code
 * (`MUTATION_TESTS=unit` leaves them out).
 *   tokenCache/tableStore.ts                          the Azurite table suite
 *   tokenCache/ or another file of it                 that and the account-token suite (real MSAL over the row)
 *   auth/{accountTokens,refreshLease,msalNetwork}.ts  the account-token suite (real MSAL, Azurite, the dev provider)
 */
const accountTokens = ['test/integration/accountTokens.test.ts'];
const ownSuites = /^tokenCache\/tableStore\.ts$/.test(target) ? table
  : /^tokenCache(\/|$)/.test(target) ? [...table, ...accountTokens]
  : /^auth\/(\{[\w,]+\}|accountTokens|refreshLease|msalNetwork)\.ts$/.test(target) && /accountTokens|refreshLease|msalNetwork/.test(target) ? accountTokens
  : [];
const extra = { table, walk, integration, unit: [] }[process.env.MUTATION_TESTS ?? ''] ?? ownSuites;
// MUTATION_TEST_FILES (comma-separated paths or globs) replaces the set: say, a folder's own unit
// suites, when loading every suite that imports a much-used module costs more than the run allows.
const tests = process.env.MUTATION_TEST_FILES ? process.env.MUTATION_TEST_FILES.split(',').map((t) => t.trim()) : ['test/unit/**/*.test.ts', ...extra];
// functionFactory loads the whole app (every SDK) to test the factory in functions/: seconds per
// run for a mutant in shared/ it does not check (a module-level mutant re-runs every related file).
const skipped = ['test/unit/functionFactory.test.ts'];
// Results of different test sets are not comparable: each set keeps its own incremental file.
const out = `reports/mutation/${slug}${process.env.MUTATION_TESTS ? `-${process.env.MUTATION_TESTS}` : ''}${process.env.MUTATION_TEST_FILES ? '-chosen' : ''}`;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'jest',
  plugins: ['@stryker-mutator/jest-runner'],
  jest: {
    projectType: 'custom',
    configFile: 'jest.config.js',
    // Only the test files that import the mutated file (and match `tests`) are loaded for a mutant.
    enableFindRelatedTests: true,
    config: {
      // The integration suites reach shared/ through dev/ and functions/: jest follows imports only
      // through files under its roots, so those folders are roots too (testMatch still picks the tests).
      roots: ['<rootDir>/test', '<rootDir>/shared', '<rootDir>/functions', '<rootDir>/dev'],
      testMatch: tests.map((t) => `<rootDir>/${t}`),
      testPathIgnorePatterns: ['/node_modules/', ...skipped.map((t) => `<rootDir>/${t}`)],
    },
  },
  mutate,
  coverageAnalysis: 'perTest',
  // A module-level mutant (a constant, a header list) has no per-test coverage: it re-runs every
  // test file that imports its module, up to a minute each here, and took most of a run's time
  // for 3-7% of the mutants (22% in proxy/). They are left out of the score ("ignored" in the
  // report); the constants that matter have tests that name them.
  ignoreStatic: true,
  concurrency: 1,
  // A mutant that loops or hangs is a timeout after 1.5x its tests' dry-run time plus 10 s.
  timeoutFactor: 1.5,
  timeoutMS: 10000,
  incremental: true,
  incrementalFile: `${out}/stryker-incremental.json`,
  reporters: ['html', 'clear-text', 'progress'],
  htmlReporter: { fileName: `${out}/index.html` },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
  thresholds: { high: 85, low: 70, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  ignorePatterns: ['dist', '.dev', '.ci/.node', '.tools', 'coverage', 'test-results', 'reports', 'scripts/bicep/obj', '*.log'],
};
