import { readFileSync } from 'node:fs';
import { nodeVersionProblem, REQUIRED_NODE } from '../../dev/nodeVersion';

describe('the Node version check', () => {
  test('a Node without tls.setDefaultCACertificates gets a message naming the version needed and how to get it', () => {
    const problem = nodeVersionProblem('20.20.2', false);
    expect(problem).toContain(`Node.js ${REQUIRED_NODE}`);
    expect(problem).toContain('running on Node 20.20.2');
    expect(problem).toContain('npm start');
    expect(problem).toContain('https://nodejs.org/');
  });

  test('the Node running these tests passes', () => {
    expect(nodeVersionProblem()).toBeUndefined();
  });

  test('the pinned project Node is one the check accepts, and engines admits the machine Nodes npm ci runs on', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string }; devDependencies: Record<string, string> };
    const [major, minor] = pkg.devDependencies['node']!.split('.').map(Number) as [number, number];
    expect(major > 24 || (major === 24 && minor >= 5)).toBe(true);
    expect(pkg.engines.node).toBe('>=20');
  });
});
