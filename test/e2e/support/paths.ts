import { resolve } from 'node:path';

/** The repository's root, where `npm start` runs. */
export const REPO_ROOT = resolve(__dirname, '..', '..', '..');
