/** Jest: TypeScript through SWC; ESM-only dependencies are transformed too. */
const esmOnly = ['jose', 'cookie', 'agent-base', 'http-proxy-agent', 'https-proxy-agent', 'proxy-agent-negotiate', 'fast-xml-parser', 'fast-xml-builder', 'strnum', 'path-expression-matcher', 'xml-naming', '@nodable/entities', 'anynum', 'web-tree-sitter'];

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The browser tests and the fault suite have their own configurations (test/e2e/, test/faults/jest.config.js).
  testPathIgnorePatterns: ['/node_modules/', '/test/e2e/', '/test/faults/'],
  transform: {
    '^.+\\.(t|j|mj)s$': ['@swc/jest', { jsc: { target: 'es2023', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }],
  },
  // ESM-only packages (jose, cookie, the proxy agents and XML parser under the Azure SDK) are compiled to CommonJS too.
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join('|')})/)`],
  // Stops at once, naming the Node needed, when jest runs on a machine Node too old for the local stack.
  globalSetup: '<rootDir>/test/support/nodeCheck.ts',
  setupFiles: ['<rootDir>/dev/quietTestMode.ts'],
  testTimeout: 60000,
  maxWorkers: 2,
  // Workers end their work within milliseconds of jest's stop message (no handle left open), but
  // Node's own teardown of a worker that loaded the stack (MSAL, the Azure SDK, Azurite's client)
  // took 0.4 to 0.6 s on a loaded 2-core machine, past jest's 500 ms default: jest then killed
  // it and warned of a leak that was not there. A real leak still shows, 5 s later.
  workerGracefulExitTimeout: 5000,
};
