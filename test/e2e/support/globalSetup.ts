import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { nodeVersionProblem } from '../../../dev/nodeVersion';
import { CHROMIUM_PATH } from './browser';
import { REPO_ROOT } from './paths';
import { SCREENSHOT_ROOT } from './screenshots';

/**
 * Once before the browser tests: Debian's Chromium must be there (never a downloaded browser),
 * and the page and `npm start`'s bundle are built as `npm start` builds them.
 */
export default function globalSetup(): void {
  const nodeProblem = nodeVersionProblem();
  if (nodeProblem) throw new Error(nodeProblem);
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`The browser tests drive Debian's Chromium at ${CHROMIUM_PATH}: install it with \`apt-get install -y chromium\`.`);
  }
  rmSync(SCREENSHOT_ROOT, { recursive: true, force: true });
  // buildWeb first: the dev bundle inlines the page it generates.
  execFileSync(process.execPath, ['scripts/buildWeb.mjs'], { cwd: REPO_ROOT, stdio: 'inherit' });
  execFileSync(process.execPath, ['scripts/build.mjs', 'dev'], { cwd: REPO_ROOT, stdio: 'inherit' });
}
