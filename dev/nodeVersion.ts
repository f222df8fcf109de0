import * as tls from 'node:tls';

/**
 * The local stack and the tests trust a CA made for each run with `tls.setDefaultCACertificates`
 * (Node 22.19 and 24.5 onwards). npm scripts run on the project's own Node 24 (the pinned `node`
 * devDependency, first on their PATH); this check catches the other ways in, such as
 * `node dist/dev/start.js` or `node node_modules/.bin/jest` with an older machine Node.
 */
export const REQUIRED_NODE = '22.19 or newer (24.5+ on the 24 line)';

export function nodeVersionProblem(version: string = process.versions.node, hasCaApi: boolean = typeof tls.setDefaultCACertificates === 'function'): string | undefined {
  if (hasCaApi) return undefined;
  return [
    `This needs Node.js ${REQUIRED_NODE}; it is running on Node ${version}.`,
    'Use `npm start`, `npm test`, `npx jest` or `npm run ...`: they run on the project\'s own Node 24',
    '(the `node` devDependency that `npm ci` installs into node_modules/.bin), whatever the machine\'s Node.',
    'Or install Node 24 from https://nodejs.org/.',
  ].join('\n');
}

/** Exits with the message when this Node cannot run the local stack. */
export function exitUnlessNodeSupported(): void {
  const problem = nodeVersionProblem();
  if (!problem) return;
  console.error(problem);
  process.exit(1);
}
