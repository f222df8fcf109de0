// Mutation testing of shared/ with StrykerJS (npm run test:mutation; not part of npm test).
//
//   npm run test:mutation                  all of shared/
//   npm run test:mutation -- auth          one folder of shared/ (auth, session, proxy, tokenCache, credentials, ...)
//   npm run test:mutation -- shared/returnUrl.ts   one file (or a glob) under shared/
//   MUTATE=proxy npm run test:mutation     the same through the environment
//   npm run test:mutation -- auth --force  ignore the incremental results and test every mutant again
//
// Each target keeps its own report and incremental file under reports/mutation/<target>/ (git-ignored),
// so running one folder never discards another folder's results. stryker.config.mjs holds the rest.
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWeb } from './buildWeb.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const target = args.find((a) => !a.startsWith('-')) ?? process.env.MUTATE ?? '';
const strykerArgs = args.filter((a) => a.startsWith('-'));

await buildWeb();
const stryker = join(root, 'node_modules', '@stryker-mutator', 'core', 'bin', 'stryker.js');
const result = spawnSync(process.execPath, [stryker, 'run', 'stryker.config.mjs', ...strykerArgs], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, MUTATE: target },
});
process.exit(result.status ?? 1);
