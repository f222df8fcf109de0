// Builds with esbuild. `app`: the deployment bundle the Functions host loads (package.json "main"),
// every dependency inlined so a cold start reads one file. `dev`: the local stack behind `npm start`,
// with node_modules left external (Azurite and Playwright are not bundled).
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

const target = process.argv[2] ?? 'app';
const common = { bundle: true, platform: 'node', target: 'node22', format: 'cjs', sourcemap: true, logLevel: 'warning' };

if (target === 'app') {
  rmSync('dist/app.js', { force: true });
  await build({ ...common, entryPoints: ['functions/index.ts'], outfile: 'dist/app.js', external: ['@azure/functions-core'], minify: true });
} else if (target === 'dev') {
  await build({ ...common, entryPoints: ['dev/start.ts'], outfile: 'dist/dev/start.js', packages: 'external' });
} else {
  console.error(`unknown build target "${target}" (expected app or dev)`);
  process.exit(2);
}
