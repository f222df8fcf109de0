import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { REPO_ROOT } from './paths';

/** git-ignored (test-results/): one folder per test file, one numbered picture per step. */
export const SCREENSHOT_ROOT = join(REPO_ROOT, 'test-results', 'screenshots');

export class Screenshots {
  private step = 0;
  private readonly dir: string;

  constructor(suite: string) {
    this.dir = join(SCREENSHOT_ROOT, suite);
    mkdirSync(this.dir, { recursive: true });
  }

  /** Saves the whole page as `NN-name.png` and returns its path. */
  async take(page: Page, name: string): Promise<string> {
    this.step += 1;
    const path = join(this.dir, `${String(this.step).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path, fullPage: true });
    return path;
  }
}
