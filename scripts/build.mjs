// Builds with esbuild. `app`: the deployment bundles the Functions host loads, every dependency
// inlined: app.js (package.json "main"), which registers every function from functions/manifest.ts
// and holds little else, and handlers.js, the functions' code, which app.js loads at the first
// call; plus dist/deploy/: the exact folder azd zips (azure.yaml `dist`) with host.json, a
// dependency-free package.json, both bundles, the bundles the handlers load only on the paths
// that use them (sdks.js, forge.js, xmlAndProxy.js) and the telemetry bundle they load only when
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
 * Modules the Azure SDKs import at load that a request uses only in rare cases: `@azure/core-xml`,
 * with its XML parser and builder (TableClient hands parseXML/stringifyXML to its pipeline for
 * the service's XML answers, such as an access policy: entities are JSON), and the proxy agents
 * the pipeline's proxyPolicy creates only when a proxy is configured (with agent-base and debug).
 * They are a bundle of their own (xmlAndProxy.js), read and evaluated at their first use. In the
 * bundles that import them each is replaced by a small module made at build time from the real
 * one's exports: its constants copied, each function or class one that requires xmlAndProxy.js
 * and calls or constructs the real one; an export of another kind fails the build.
 */
const ON_FIRST_USE = ['@azure/core-xml', 'https-proxy-agent', 'http-proxy-agent'];

async function onFirstUseSource(name) {
  const lines = [
    "import { join } from 'node:path';",
    `const real = () => require(join(__dirname, XML_AND_PROXY_BUNDLE))[${JSON.stringify(name)}];`,
  ];
  for (const [key, value] of Object.entries(await import(name))) {
    if (['string', 'number', 'boolean'].includes(typeof value)) lines.push(`export const ${key} = ${JSON.stringify(value)};`);
    else if (typeof value === 'function' && /^class\b/.test(Function.prototype.toString.call(value))) lines.push(`export function ${key}(...args) { return new (real().${key})(...args); }`);
    else if (typeof value === 'function') lines.push(`export function ${key}(...args) { return real().${key}(...args); }`);
    else throw new Error(`${name} exports ${key} (${typeof value}): scripts/build.mjs cannot defer it; keep the module in the bundle or defer it another way`);
  }
  return lines.join('\n');
}

const packageRoot = (path) => /^(.*\/node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1];

/**
 * Resolves the ON_FIRST_USE modules to their stand-ins (the handlers' and sdks.js's builds). An
 * importer with a copy of its own (another version) fails the build: xmlAndProxy.js holds the
 * project's copy.
 */
async function onFirstUse() {
  const sources = new Map(await Promise.all(ON_FIRST_USE.map(async (name) => [name, await onFirstUseSource(name)])));
  const filter = new RegExp(`^(${ON_FIRST_USE.map((name) => name.replace(/[/.-]/g, '\\$&')).join('|')})$`);
  return {
    name: 'on-first-use',
    setup(build) {
      build.onResolve({ filter }, async (args) => {
        if (args.pluginData === 'on-first-use') return undefined;
        const [theirs, ours] = await Promise.all([args.resolveDir, process.cwd()].map((resolveDir) => build.resolve(args.path, { kind: args.kind, resolveDir, pluginData: 'on-first-use' })));
        if (packageRoot(theirs.path) !== packageRoot(ours.path)) return { errors: [{ text: `${args.importer} uses its own copy of ${args.path} (${theirs.path}), not the one xmlAndProxy.js holds` }] };
        return { path: args.path, namespace: 'on-first-use' };
      });
      build.onLoad({ filter: /.*/, namespace: 'on-first-use' }, (args) => ({ contents: sources.get(args.path), loader: 'js', resolveDir: '.' }));
    },
  };
}

/** The npm packages whose code is in a bundle, from its metafile. */
function packagesIn(metafile) {
  const names = new Set();
  for (const [output, { inputs }] of Object.entries(metafile.outputs)) {
    if (output.endsWith('.map')) continue;
    for (const [input, { bytesInOutput }] of Object.entries(inputs)) {
      const name = /^(?:.*\/)?node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1];
      if (name && bytesInOutput > 0) names.add(name);
    }
  }
  return names;
}

/**
 * An entry that registers the functions (functions/index.ts) and the handlers it loads at the
 * first call, each in a bundle of its own; MSAL, @azure/identity and the Key Vault SDK
 * (shared/lazySdks.ts) in a third, node-forge (only a PKCS#12 certificate needs it) in a
 * fourth and the XML and proxy modules (ON_FIRST_USE) in a fifth, loaded when used, so the
 * first call does not read or compile them.
 */
async function buildApp(dir, entry, name) {
  const options = { ...common, external: ['@azure/functions-core'], minify: true };
  const deferred = { define: { ...common.define, XML_AND_PROXY_BUNDLE: '"xmlAndProxy.js"' }, plugins: [await onFirstUse()] };
  await build({ ...options, entryPoints: [entry], outfile: `${dir}/${name}.js` });
  const handlers = await build({ ...options, entryPoints: ['functions/handlers.ts'], outfile: `${dir}/handlers.js`, metafile: true, define: { ...deferred.define, FORGE_BUNDLE: '"forge.js"', SDKS_BUNDLE: '"sdks.js"' }, plugins: deferred.plugins });
  await build({ ...options, entryPoints: ['shared/lazySdksBundle.ts'], outfile: `${dir}/sdks.js`, define: deferred.define, plugins: [oneMsal, ...deferred.plugins] });
  await build({ ...options, stdin: { contents: "module.exports = require('node-forge');", resolveDir: '.', loader: 'js' }, outfile: `${dir}/forge.js` });
  // Each module evaluated at the first read of its property, as in sdks.js.
  const getters = ON_FIRST_USE.map((module) => `get ${JSON.stringify(module)}() { return require(${JSON.stringify(module)}); }`);
  const xmlAndProxy = await build({ ...options, stdin: { contents: `module.exports = { ${getters.join(', ')} };`, resolveDir: '.', loader: 'js' }, outfile: `${dir}/xmlAndProxy.js`, metafile: true });
  // None of that code may reach the bundle a cold start's first call reads (another import of it would).
  const inHandlers = packagesIn(handlers.metafile);
  const leaked = [...packagesIn(xmlAndProxy.metafile)].filter((pkg) => inHandlers.has(pkg));
  if (leaked.length > 0) throw new Error(`handlers.js holds ${leaked.join(', ')}, which xmlAndProxy.js is for: see who imports them (esbuild --metafile)`);
}

/** The deployment package: nothing to install on the server, so no remote build is needed. */
function writeDeployFolder() {
  const dir = `${out}/deploy`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  copyFileSync('host.json', `${dir}/host.json`);
  // Ship only what runs: no map, and no comment pointing at one.
  for (const bundle of ['app.js', 'handlers.js', 'sdks.js', 'forge.js', 'xmlAndProxy.js', 'telemetry.js']) writeFileSync(`${dir}/${bundle}`, readFileSync(`${out}/${bundle}`, 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n'));
  const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
  const deployed = { name: pkg.name, version: pkg.version, private: true, main: 'app.js', engines: { node: '>=22' } }; // what Azure Functions runs, not the dev machine's floor
  writeFileSync(`${dir}/package.json`, `${JSON.stringify(deployed, null, 2)}\n`);
}

if (target === 'app') {
  rmSync(`${out}/app.js`, { force: true });
  rmSync(`${out}/handlers.js`, { force: true });
  rmSync(`${out}/forge.js`, { force: true });
  rmSync(`${out}/sdks.js`, { force: true });
  rmSync(`${out}/xmlAndProxy.js`, { force: true });
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
