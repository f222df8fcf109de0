import { resolve } from 'node:path';

export const REPO_ROOT = resolve(__dirname, '..', '..', '..');
/** `npm start`'s bundle, built for this suite beside (not over) the one `npm start` builds. */
export const BUILD_DIR = resolve(REPO_ROOT, 'dist', 'faults');
export const APP_ENTRY = resolve(BUILD_DIR, 'dev', 'start.js');
/** The figures each file records, printed as one table when the run ends. */
export const FIGURES_FILE = resolve(BUILD_DIR, 'figures.jsonl');
