// Builds with esbuild. `app`: the deployment bundle the Functions host loads (package.json "main"),
// every dependency inlined so a cold start reads one file, plus dist/deploy/: the exact folder azd
// zips (azure.yaml `dist`) with host.json, a dependency-free package.json, the bundle and the
// telemetry bundle it loads only when Application Insights is configured, without source maps (dist/app.js.map stays beside dist/app.js for local debugging and `func start`).
// `dev`: the local stack behind `npm start`, with node_modules left external (Azurite and
// Playwright are not bundled). `--outdir <dir>` writes somewhere other than dist/ (the tests).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { buildWeb } from './buildWeb.mjs';

const target = process.argv[2] ?? 'app';
const outdirFlag = process.argv.indexOf('--outdir');
const out = outdirFlag > 0 ? process.argv[outdirFlag + 1] : 'dist';
// The page (web/) is inlined into the bundles as a generated module.
await buildWeb();
const common = { bundle: true, platform: 'node', target: 'node22', format: 'cjs', sourcemap: true, logLevel: 'warning', define: { TELEMETRY_BUNDLE: '"telemetry.js"' } };

/** Application Insights (shared/telemetry/azureMonitor.ts) in a bundle of its own, loaded only when configured. */
async function buildTelemetry(dir, options = {}) {
  await build({ ...common, entryPoints: ['shared/telemetry/azureMonitor.ts'], outfile: `${dir}/telemetry.js`, minify: true, ...options });
}

/** The deployment package: nothing to install on the server, so no remote build is needed. */
function writeDeployFolder() {
  const dir = `${out}/deploy`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  copyFileSync('host.json', `${dir}/host.json`);
  // Ship only what runs: no map, and no comment pointing at one.
  const bundle = readFileSync(`${out}/app.js`, 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
  writeFileSync(`${dir}/app.js`, bundle);
  writeFileSync(`${dir}/telemetry.js`, readFileSync(`${out}/telemetry.js`, 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n'));
  const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
  const deployed = { name: pkg.name, version: pkg.version, private: true, main: 'app.js', engines: { node: '>=22' } }; // what Azure Functions runs, not the dev machine's floor
  writeFileSync(`${dir}/package.json`, `${JSON.stringify(deployed, null, 2)}\n`);
}

if (target === 'app') {
  rmSync(`${out}/app.js`, { force: true });
  await build({ ...common, entryPoints: ['functions/index.ts'], outfile: `${out}/app.js`, external: ['@azure/functions-core'], minify: true });
  await buildTelemetry(out);
  writeDeployFolder();
} else if (target === 'measure') {
  await build({ ...common, entryPoints: ['scripts/measure.ts'], outfile: `${out}/scripts/measure.js`, packages: 'external' });
} else if (target === 'bench') {
  await build({ ...common, entryPoints: { 'scripts/bench': 'scripts/bench.ts', 'scripts/bench/appProcess': 'scripts/bench/appProcess.ts' }, outdir: out, packages: 'external' });
} else if (target === 'cold') {
  // bench:cold: a hello app and the cold-start host, bundled and minified as the app is.
  await build({ ...common, entryPoints: ['scripts/bench/hello.ts'], outfile: `${out}/bench-cold/hello.js`, external: ['@azure/functions-core'], minify: true });
  for (const name of ['coldHost', 'helloHost']) await build({ ...common, entryPoints: [`scripts/bench/${name}.ts`], outfile: `${out}/bench-cold/${name}.js`, external: ['@azure/functions-core'], minify: true });
  await build({ ...common, entryPoints: ['scripts/benchCold.ts'], outfile: `${out}/scripts/benchCold.js`, packages: 'external' });
} else if (target === 'measure-obo') {
  await build({ ...common, entryPoints: ['scripts/measureObo.ts'], outfile: `${out}/scripts/measureObo.js`, packages: 'external' });
} else if (target === 'dev') {
  await build({ ...common, entryPoints: ['dev/start.ts'], outfile: `${out}/dev/start.js`, packages: 'external' });
  await buildTelemetry(`${out}/dev`, { packages: 'external', minify: false });
} else {
  console.error(`unknown build target "${target}" (expected app, dev, measure, measure-obo, bench or cold)`);
  process.exit(2);
}
