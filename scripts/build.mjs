// Builds with esbuild. `app`: the deployment bundles the Functions host loads, every dependency
// inlined: app.js (package.json "main"), which registers every function from functions/manifest.ts
// and holds little else, and handlers.js, the functions' code, which app.js loads at the first
// call; plus dist/deploy/: the exact folder azd zips (azure.yaml `dist`) with host.json, a
// dependency-free package.json, both bundles and the telemetry bundle the handlers load only when
// Application Insights is configured, without source maps (the maps stay beside dist/app.js and
// dist/handlers.js for local debugging and `func start`).
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
const common = { bundle: true, platform: 'node', target: 'node22', format: 'cjs', sourcemap: true, logLevel: 'warning', define: { TELEMETRY_BUNDLE: '"telemetry.js"', HANDLERS_BUNDLE: '"handlers.js"' } };

/** Application Insights (shared/telemetry/azureMonitor.ts) in a bundle of its own, loaded only when configured. */
async function buildTelemetry(dir, options = {}) {
  await build({ ...common, entryPoints: ['shared/telemetry/azureMonitor.ts'], outfile: `${dir}/telemetry.js`, minify: true, ...options });
}

/**
 * One MSAL in sdks.js: our code requires it lazily (shared/lazySdks.ts), which would pick its
 * CommonJS build, while @azure/identity imports its ES build; both get the ES build.
 */
const oneMsal = {
  name: 'one-msal',
  setup(build) {
    build.onResolve({ filter: /^@azure\/msal-node$/ }, async (args) => {
      if (args.kind !== 'require-call') return undefined;
      const resolved = await build.resolve(args.path, { kind: 'import-statement', resolveDir: args.resolveDir });
      return resolved.errors.length > 0 ? { errors: resolved.errors } : { path: resolved.path };
    });
  },
};

/**
 * An entry that registers the functions (functions/index.ts) and the handlers it loads at the
 * first call, each in a bundle of its own; MSAL, @azure/identity and the Key Vault SDK
 * (shared/lazySdks.ts) in a third and node-forge (only a PKCS#12 certificate needs it) in a
 * fourth, loaded when used, so the first call does not read or compile them.
 */
async function buildApp(dir, entry, name) {
  const options = { ...common, external: ['@azure/functions-core'], minify: true };
  await build({ ...options, entryPoints: [entry], outfile: `${dir}/${name}.js` });
  await build({ ...options, entryPoints: ['functions/handlers.ts'], outfile: `${dir}/handlers.js`, define: { ...common.define, FORGE_BUNDLE: '"forge.js"', SDKS_BUNDLE: '"sdks.js"' } });
  await build({ ...options, entryPoints: ['shared/lazySdksBundle.ts'], outfile: `${dir}/sdks.js`, plugins: [oneMsal] });
  await build({ ...options, stdin: { contents: "module.exports = require('node-forge');", resolveDir: '.', loader: 'js' }, outfile: `${dir}/forge.js` });
}

/** The deployment package: nothing to install on the server, so no remote build is needed. */
function writeDeployFolder() {
  const dir = `${out}/deploy`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  copyFileSync('host.json', `${dir}/host.json`);
  // Ship only what runs: no map, and no comment pointing at one.
  for (const bundle of ['app.js', 'handlers.js', 'sdks.js', 'forge.js', 'telemetry.js']) writeFileSync(`${dir}/${bundle}`, readFileSync(`${out}/${bundle}`, 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n'));
  const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
  const deployed = { name: pkg.name, version: pkg.version, private: true, main: 'app.js', engines: { node: '>=22' } }; // what Azure Functions runs, not the dev machine's floor
  writeFileSync(`${dir}/package.json`, `${JSON.stringify(deployed, null, 2)}\n`);
}

if (target === 'app') {
  rmSync(`${out}/app.js`, { force: true });
  rmSync(`${out}/handlers.js`, { force: true });
  rmSync(`${out}/forge.js`, { force: true });
  rmSync(`${out}/sdks.js`, { force: true });
  await buildApp(out, 'functions/index.ts', 'app');
  await buildTelemetry(out);
  writeDeployFolder();
} else if (target === 'measure') {
  await build({ ...common, entryPoints: ['scripts/measure.ts'], outfile: `${out}/scripts/measure.js`, packages: 'external' });
} else if (target === 'bench') {
  await build({ ...common, entryPoints: { 'scripts/bench': 'scripts/bench.ts', 'scripts/bench/appProcess': 'scripts/bench/appProcess.ts' }, outdir: out, packages: 'external' });
} else if (target === 'cold') {
  // bench:cold: a hello app and the cold-start hosts, bundled and minified as the app is (the
  // app's host with its handlers bundle beside it, loaded at the first call as in Azure).
  await build({ ...common, entryPoints: ['scripts/bench/hello.ts'], outfile: `${out}/bench-cold/hello.js`, external: ['@azure/functions-core'], minify: true });
  await build({ ...common, entryPoints: ['scripts/bench/helloHost.ts'], outfile: `${out}/bench-cold/helloHost.js`, external: ['@azure/functions-core'], minify: true });
  await buildApp(`${out}/bench-cold`, 'scripts/bench/coldHost.ts', 'coldHost');
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
