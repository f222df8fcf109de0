import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BicepFile, INFRA_DIR, declarations, declaredValue, loadInfraFile } from './bicep';

// The azd side: azure.yaml, the parameters file, the linter configuration, the post-provision hook
// and the deployment package all agree with main.bicep.

const ROOT = join(INFRA_DIR, '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

let main: BicepFile;
beforeAll(async () => {
  main = await loadInfraFile('main.bicep');
});

const mainParams = () => declarations(main).filter((d) => d.kind === 'param');
const mainOutputs = () => declarations(main).filter((d) => d.kind === 'output').map((d) => d.name);

describe('azure.yaml', () => {
  const yaml = () => read('azure.yaml');

  test('declares the api service as a TypeScript function app', () => {
    const service = /^services:\n {2}api:\n((?: {4}.*\n|\s*#.*\n)+)/m.exec(yaml())?.[1] ?? '';
    expect(service).toMatch(/^ {4}project: \.$/m);
    expect(service).toMatch(/^ {4}language: ts$/m);
    expect(service).toMatch(/^ {4}host: function$/m);
  });

  test('deploys the folder `npm run build` assembles, without a remote build', () => {
    expect(yaml()).toMatch(/^ {4}dist: dist\/deploy$/m);
    expect(yaml()).toMatch(/^ {4}remoteBuild: false$/m);
    const build = read('scripts/build.mjs');
    expect(build).toMatch(/\$\{out\}\/deploy/);
    expect(build).toMatch(/copyFileSync\('host\.json'/);
    expect(build).toMatch(/main: 'app\.js'/);
  });

  test('runs the preflight check before provisioning and deploying, and the session-keys hook after provisioning', () => {
    const hooks = /^hooks:\n((?: {2}.*\n|\s*#.*\n)+)/m.exec(yaml())?.[1] ?? '';
    const runs = [...hooks.matchAll(/^ {2}(\w+):\n(?:(?: {4,}.*|\s*#.*)\n)*?/gm)].map((m) => m[1]);
    expect(runs).toEqual(['preprovision', 'predeploy', 'postprovision']);
    const scriptOf = (hook: string) => {
      const block = new RegExp(`^ {2}${hook}:\\n((?: {4,}.*\\n)+)`, 'm').exec(hooks)?.[1] ?? '';
      return [...block.matchAll(/^\s+run: node (\S+)$/gm)].map((m) => m[1] ?? '');
    };
    expect(scriptOf('preprovision')).toEqual(['infra/hooks/preflight.mjs', 'infra/hooks/preflight.mjs']);
    expect(scriptOf('predeploy')).toEqual(['infra/hooks/preflight.mjs', 'infra/hooks/preflight.mjs']);
    expect(scriptOf('postprovision')).toEqual(['infra/hooks/session-keys.mjs', 'infra/hooks/session-keys.mjs']);
    for (const script of ['infra/hooks/preflight.mjs', 'infra/hooks/session-keys.mjs']) expect(existsSync(join(ROOT, script))).toBe(true);
  });

  test('the hook reads only values main.bicep outputs (azd passes outputs as environment variables)', () => {
    const hook = read('infra/hooks/session-keys.mjs');
    const used = [...hook.matchAll(/process\.env\.(\w+)/g)].map((m) => m[1] ?? '');
    expect(used.length).toBeGreaterThan(1);
    expect(used.filter((name) => !mainOutputs().includes(name))).toEqual([]);
    // The value is 32 random bytes, base64url: the format of Session__Keys.
    expect(hook).toMatch(/randomBytes\(32\)\.toString\('base64url'\)/);
  });
});

describe('main.parameters.json', () => {
  const parameters = () => (JSON.parse(read('infra/main.parameters.json')) as { parameters: Record<string, { value: unknown }> }).parameters;

  test('maps the azd environment into the template', () => {
    expect(parameters().environmentName?.value).toBe('${AZURE_ENV_NAME}');
    expect(parameters().location?.value).toBe('${AZURE_LOCATION}');
    expect(parameters().principalId?.value).toBe('${AZURE_PRINCIPAL_ID}');
  });

  test('names only parameters main.bicep declares, and every one without a default', () => {
    const declared = mainParams().map((d) => d.name);
    expect(Object.keys(parameters()).filter((name) => !declared.includes(name))).toEqual([]);
    const required = mainParams().filter((d) => declaredValue(d) === undefined).map((d) => d.name);
    expect(required.filter((name) => !(name in parameters()))).toEqual([]);
  });

  test('optional values have defaults, so `azd up` asks for nothing but the environment', () => {
    const values = Object.entries(parameters()).filter(([name]) => !['environmentName', 'location', 'principalId'].includes(name));
    expect(values.filter(([, entry]) => !/^\$\{[A-Z_]+=[^}]*\}$/.test(String(entry.value)))).toEqual([]);
  });
});

describe('bicepconfig.json', () => {
  test('turns the secret-handling linter rules into errors and enables the API version rule', () => {
    const config = JSON.parse(read('infra/bicepconfig.json')) as { analyzers: { core: { rules: Record<string, { level: string }> } } };
    const rules = config.analyzers.core.rules;
    expect(rules['outputs-should-not-contain-secrets']?.level).toBe('error');
    expect(rules['secure-parameter-default']?.level).toBe('error');
    expect(rules['no-hardcoded-env-urls']?.level).toBe('error');
    expect(['warning', 'error']).toContain(rules['use-recent-api-versions']?.level);
  });
});

describe('.funcignore', () => {
  test('keeps what the host loads and leaves out local settings, sources and maps', () => {
    const patterns = read('.funcignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
    for (const kept of ['host.json', 'package.json', 'dist', 'dist/app.js', 'dist/handlers.js', '*.js']) expect(patterns).not.toContain(kept);
    expect(patterns).toEqual(expect.arrayContaining(['local.settings.json', '*.map', 'test', 'infra']));
  });
});
