import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { nodeVersionProblem } from '../../../dev/nodeVersion';
import { BUILD_DIR, FIGURES_FILE, REPO_ROOT } from './paths';

/** Once before the fault suite: the app processes run `npm start`'s bundle, built as `npm start` builds it. */
export default function globalSetup(): void {
  const nodeProblem = nodeVersionProblem();
  if (nodeProblem) throw new Error(nodeProblem);
  mkdirSync(BUILD_DIR, { recursive: true });
  rmSync(FIGURES_FILE, { force: true });
  execFileSync(process.execPath, ['scripts/build.mjs', 'dev', '--outdir', BUILD_DIR], { cwd: REPO_ROOT, stdio: 'inherit' });
}
