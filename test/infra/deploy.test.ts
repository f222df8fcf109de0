import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TableClient } from '@azure/data-tables';
import ignore from 'ignore';
import { startAzuriteTable } from '../../dev/azurite';
import { createDevCertificates } from '../../dev/tls';
import { startKeyVaultServer, type KeyVaultServer } from '../support/keyVaultServer';
import { MINIMAL_SETTINGS } from '../support/settings';
import { type BicepFile, INFRA_DIR, declaration, declaredValue, loadInfraFile, property, resourcesOfType, stringValue } from './bicep';

// The way from `azd up` to a working app: the rules azd applies (azd cannot be installed here),
// the hooks it runs, the package it uploads, and the template's region, container and logging.

const ROOT = join(INFRA_DIR, '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(command, args, { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, timeout: options.timeout ?? 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** The environment a hook sees: the machine's, minus the azd values these tests set themselves. */
function hookEnv(values: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ['CREATE_APP_REGISTRATION', 'AZURE_AD_CLIENT_ID', 'AZURE_KEY_VAULT_URI', 'SESSION_KEYS_NAME', 'AZURE_TENANT_ID']) delete env[name];
  return { ...env, ...values };
}

// ---------- azd's remote build rule ----------

type RemoteBuild = { remoteBuild: boolean } | { error: string };

/**
 * What azd (1.23.12 and later) decides for a js/ts service on Flex Consumption, from
 * resolveFunctionAppRemoteBuild: the service's `.funcignore` (gitignore syntax) decides whether
 * node_modules is excluded; an explicit `remoteBuild` must agree with it, and without the file
 * azd builds remotely whatever azure.yaml says.
 */
function azdRemoteBuild(funcignore: string | undefined, remoteBuild: boolean | undefined): RemoteBuild {
  if (funcignore === undefined) return { remoteBuild: true };
  const nodeModulesExcluded = ignore().add(funcignore).ignores('node_modules/');
  if (remoteBuild === undefined) return { remoteBuild: nodeModulesExcluded };
  if (remoteBuild && !nodeModulesExcluded) return { error: "'remoteBuild: true' requires '.funcignore' to exclude node_modules" };
  if (!remoteBuild && nodeModulesExcluded) return { error: "'remoteBuild: false' cannot be used when '.funcignore' excludes node_modules" };
  return { remoteBuild };
}

function serviceRemoteBuild(yaml: string): boolean | undefined {
  const value = /^ {4}remoteBuild: (\w+)$/m.exec(yaml)?.[1];
  return value === undefined ? undefined : value === 'true';
}

describe("azd's remote build rule", () => {
  test('the rule as modelled refuses the pairs azd refuses', () => {
    expect(azdRemoteBuild('node_modules\n', false)).toEqual({ error: expect.stringMatching(/remoteBuild: false/) });
    expect(azdRemoteBuild('node_modules/\n', false)).toEqual({ error: expect.any(String) });
    expect(azdRemoteBuild('/node_modules\n', false)).toEqual({ error: expect.any(String) });
    expect(azdRemoteBuild('*.ts\n', true)).toEqual({ error: expect.stringMatching(/remoteBuild: true/) });
    expect(azdRemoteBuild(undefined, false)).toEqual({ remoteBuild: true });
    expect(azdRemoteBuild('node_modules\n!node_modules\n', false)).toEqual({ remoteBuild: false });
    expect(azdRemoteBuild('# node_modules\n', false)).toEqual({ remoteBuild: false });
  });

  test('azure.yaml and .funcignore agree: the bundle deploys as built, with no remote build', () => {
    const remoteBuild = serviceRemoteBuild(read('azure.yaml'));
    expect(remoteBuild).toBe(false);
    expect(azdRemoteBuild(read('.funcignore'), remoteBuild)).toEqual({ remoteBuild: false });
  });
});

// ---------- preflight: no deployment without a client id ----------

describe('preflight hook', () => {
  const preflight = (values: Record<string, string>) => run(process.execPath, ['infra/hooks/preflight.mjs'], { env: hookEnv(values) });

  test('stops when neither CREATE_APP_REGISTRATION nor AZURE_AD_CLIENT_ID is set, naming both', async () => {
    const cases: Record<string, string>[] = [{}, { CREATE_APP_REGISTRATION: 'false' }, { CREATE_APP_REGISTRATION: 'false', AZURE_AD_CLIENT_ID: '  ' }];
    for (const values of cases) {
      const result = await preflight(values);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/azd env set CREATE_APP_REGISTRATION true/);
      expect(result.stderr).toMatch(/azd env set AZURE_AD_CLIENT_ID/);
    }
  });

  test('goes on with either one', async () => {
    expect((await preflight({ CREATE_APP_REGISTRATION: 'true' })).code).toBe(0);
    expect((await preflight({ CREATE_APP_REGISTRATION: 'True' })).code).toBe(0);
    expect((await preflight({ AZURE_AD_CLIENT_ID: '00000000-0000-0000-0000-000000000001' })).code).toBe(0);
  });

  test('refuses a CREATE_APP_REGISTRATION that is not a boolean (the template would fail later)', async () => {
    const result = await preflight({ CREATE_APP_REGISTRATION: 'yes', AZURE_AD_CLIENT_ID: 'x' });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/CREATE_APP_REGISTRATION is "yes"/);
  });

  test('reads the values main.parameters.json maps into the template', () => {
    const parameters = read('infra/main.parameters.json');
    const used = [...read('infra/hooks/preflight.mjs').matchAll(/process\.env\.(\w+)/g)].map((m) => m[1] ?? '');
    expect(used.sort()).toEqual(['AZURE_AD_CLIENT_ID', 'CREATE_APP_REGISTRATION']);
    for (const name of used) expect(parameters).toContain(`\${${name}=`);
  });
});

// ---------- post-provision hook: Node and azd only ----------

/** Node built-ins only: nothing the project's npm install would bring. */
function importedModules(source: string): string[] {
  return [...source.matchAll(/^\s*import\s[^'"]*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)/gm)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
}

describe('hooks need nothing but Node', () => {
  test.each(['infra/hooks/preflight.mjs', 'infra/hooks/session-keys.mjs'])('%s imports only node: built-ins', (path) => {
    const modules = importedModules(read(path));
    expect(modules.filter((name) => !name.startsWith('node:'))).toEqual([]);
  });

  test('the import scan sees package imports (so the check above can fail)', () => {
    expect(importedModules("import { SecretClient } from '@azure/keyvault-secrets';\nconst x = await import('@azure/identity');")).toEqual(['@azure/keyvault-secrets', '@azure/identity']);
  });
});

describe('session-keys hook against a Key Vault on loopback', () => {
  const TOKEN = 'vault-token-from-azd-0123456789';
  let vault: KeyVaultServer;
  let dir: string;
  let caFile: string;

  beforeAll(async () => {
    const tls = createDevCertificates();
    vault = await startKeyVaultServer({ tls, authorize: (token) => token === TOKEN });
    // A folder outside the repository: no node_modules to fall back on.
    dir = mkdtempSync(join(tmpdir(), 'session-keys-'));
    copyFileSync(join(ROOT, 'infra/hooks/session-keys.mjs'), join(dir, 'session-keys.mjs'));
    caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, tls.caCertPem);
  });

  afterAll(async () => {
    await vault.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** An `azd` on PATH that answers `azd auth token` the way azd does, and records its arguments. */
  function fakeAzd(token: string | undefined): string {
    const bin = mkdtempSync(join(dir, 'bin-'));
    const script = token
      ? `#!/bin/sh\necho "$@" > "${bin}/args"\necho '{"token":"${token}","expiresOn":"2099-01-01T00:00:00Z"}'\n`
      : '#!/bin/sh\necho "ERROR: not logged in, run azd auth login to login" >&2\nexit 1\n';
    writeFileSync(join(bin, 'azd'), script);
    chmodSync(join(bin, 'azd'), 0o755);
    return bin;
  }

  const runHook = (bin: string) =>
    run(process.execPath, ['session-keys.mjs'], {
      cwd: dir,
      // No az on this PATH: azd alone must be enough.
      env: hookEnv({ PATH: [bin, '/usr/bin', '/bin'].join(delimiter), NODE_EXTRA_CA_CERTS: caFile, AZURE_KEY_VAULT_URI: `${vault.url}/`, SESSION_KEYS_NAME: 'session-keys', AZURE_TENANT_ID: 'tenant-1' }),
    });

  test('creates one 32-byte base64url key with the token azd gives for the vault, then leaves it alone', async () => {
    vault.deleteSecret('session-keys');
    const bin = fakeAzd(TOKEN);
    const first = await runHook(bin);
    expect(first).toMatchObject({ code: 0, stdout: expect.stringMatching(/created session-keys/) });
    const versions = vault.secretVersions('session-keys');
    expect(versions).toHaveLength(1);
    expect(versions[0]?.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(versions[0]?.value ?? '', 'base64url')).toHaveLength(32);
    expect(readFileSync(join(bin, 'args'), 'utf8').trim()).toBe('auth token --output json --scope https://vault.azure.net/.default --tenant-id tenant-1');
    // The key never reaches the output.
    expect(first.stdout + first.stderr).not.toContain(versions[0]?.value);

    const second = await runHook(bin);
    expect(second).toMatchObject({ code: 0, stdout: expect.stringMatching(/exists/) });
    expect(vault.secretVersions('session-keys')).toHaveLength(1);
  });

  test('without a signed-in azd or az, fails with what to do and creates nothing', async () => {
    vault.deleteSecret('session-keys');
    const result = await runHook(fakeAzd(undefined));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/azd auth login/);
    expect(vault.secretVersions('session-keys')).toEqual([]);
  });

  test('a refused token fails without printing it', async () => {
    vault.deleteSecret('session-keys');
    const result = await runHook(fakeAzd('a-token-the-vault-refuses'));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/401/);
    expect(result.stdout + result.stderr).not.toContain('a-token-the-vault-refuses');
  });
});

// ---------- the package `npm run build` assembles ----------

function listFiles(dir: string, prefix = ''): { path: string; size: number }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(join(dir, entry.name), `${prefix}${entry.name}/`) : [{ path: `${prefix}${entry.name}`, size: statSync(join(dir, entry.name)).size }],
  );
}

describe('deployment package', () => {
  let out: string;
  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'build-'));
    const result = await run(process.execPath, ['scripts/build.mjs', 'app', '--outdir', out], { timeout: 120_000 });
    if (result.code !== 0) throw new Error(`build failed: ${result.stderr}`);
  }, 150_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  test('holds host.json, a dependency-free package.json, the entry, handlers and telemetry bundles: no source map', async () => {
    const files = listFiles(join(out, 'deploy'));
    expect(files.map((f) => f.path).sort()).toEqual(['app.js', 'forge.js', 'handlers.js', 'host.json', 'package.json', 'sdks.js', 'telemetry.js', 'xmlAndProxy.js']);
    const entry = readFileSync(join(out, 'deploy/app.js'), 'utf8');
    const handlers = readFileSync(join(out, 'deploy/handlers.js'), 'utf8');
    // No comment that points at a map (library code may mention the word elsewhere).
    const pointsAtMap = /\/\/# sourceMappingURL=\S+\s*$/;
    for (const bundle of ['app.js', 'handlers.js', 'sdks.js', 'forge.js', 'xmlAndProxy.js', 'telemetry.js']) expect(pointsAtMap.test(readFileSync(join(out, 'deploy', bundle), 'utf8'))).toBe(false);
    // A cold start does not parse OpenTelemetry: the handlers only know where telemetry.js is.
    expect(handlers).not.toMatch(/useAzureMonitor|@opentelemetry\/sdk/);
    expect(handlers).toContain('"telemetry.js"');
    // The entry registers and knows where the handlers are; their code (MSAL, zod, the Table SDK) is not in it.
    expect(entry).toContain('"handlers.js"');
    expect(entry).not.toMatch(/ConfidentialClientApplication|TableClient|ZodMini|useAzureMonitor/);
    // MSAL, @azure/identity and the Key Vault SDK are in sdks.js, loaded when used; the handlers know where it is.
    const sdks = readFileSync(join(out, 'deploy/sdks.js'), 'utf8');
    expect(handlers).not.toMatch(/x-client-SKU/);
    expect(sdks).toMatch(/x-client-SKU/);
    expect(handlers).toContain('"sdks.js"');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { lazySdks } = require(join(out, 'deploy/sdks.js')) as { lazySdks: { msalNode: Record<string, unknown>; azureIdentity: Record<string, unknown>; keyVaultSecrets: Record<string, unknown> } };
    expect([typeof lazySdks.msalNode['ConfidentialClientApplication'], typeof lazySdks.azureIdentity['DefaultAzureCredential'], typeof lazySdks.keyVaultSecrets['SecretClient']]).toEqual(['function', 'function', 'function']);
    // node-forge (PKCS#12 certificates only) is a bundle of its own, which the handlers know where to find.
    expect(handlers).not.toMatch(/pkcs12FromAsn1=function/);
    expect(handlers).toContain('"forge.js"');
    expect(readFileSync(join(out, 'deploy/forge.js'), 'utf8')).toMatch(/pkcs12FromAsn1=function/);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect(typeof (require(join(out, 'deploy/forge.js')) as { pkcs12: { pkcs12FromAsn1: unknown } }).pkcs12.pkcs12FromAsn1).toBe('function');
    // The XML parser and the proxy agents the Table SDK imports are in xmlAndProxy.js (its use: the test below).
    const xmlAndProxy = readFileSync(join(out, 'deploy/xmlAndProxy.js'), 'utf8');
    for (const marker of [/ignoreAttributes/, /Creating new HttpsProxyAgent instance/]) {
      expect(handlers).not.toMatch(marker);
      expect(sdks).not.toMatch(marker);
      expect(xmlAndProxy).toMatch(marker);
    }
    expect(handlers).toContain('"xmlAndProxy.js"');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const coreXml = (require(join(out, 'deploy/xmlAndProxy.js')) as Record<string, { parseXML: (xml: string) => Promise<unknown>; stringifyXML: (value: unknown, options: unknown) => string }>)['@azure/core-xml']!;
    await expect(coreXml.parseXML(coreXml.stringifyXML({ Id: 'a' }, { rootName: 'SignedIdentifier' }))).resolves.toEqual({ Id: 'a' });
    const pkg = JSON.parse(readFileSync(join(out, 'deploy/package.json'), 'utf8')) as Record<string, unknown>;
    expect(pkg.main).toBe('app.js');
    expect(pkg).not.toHaveProperty('dependencies');
    expect(readFileSync(join(out, 'deploy/host.json'), 'utf8')).toBe(read('host.json'));
    // The map stays outside the package, for local debugging.
    expect(statSync(join(out, 'app.js.map')).isFile()).toBe(true);
    console.log(`deployment package: ${files.map((f) => `${f.path} ${f.size} B`).join(', ')}; ${files.reduce((sum, f) => sum + f.size, 0)} B in all`);
  });

  test('the entry registers every function without loading the handlers; the handlers bundle needs no node_modules and answers a bad setting with 503 naming it', async () => {
    // Outside the Functions host app.http registers nothing (test mode): what is checked is what loading the entry evaluates.
    const entry = await run(process.execPath, ['-e', `require(${JSON.stringify(join(out, 'deploy/app.js'))}); process.stdout.write('\\n' + JSON.stringify(Object.keys(require.cache).map((p) => require('node:path').basename(p))))`], { cwd: out });
    expect(entry.code).toBe(0);
    expect(JSON.parse(entry.stdout.trim().split('\n').at(-1)!)).toEqual(['app.js']);
    // The handlers bundle on its own, from a folder with no node_modules above it, as the host runs it.
    const script = `
      const { startHandlers } = require(${JSON.stringify(join(out, 'deploy/handlers.js'))});
      const handlers = startHandlers({ AzureAd__ClientId: 'client' }, { log: () => {} });
      const lines = [];
      const context = { invocationId: 'i', functionName: 'health', log: (l) => lines.push(l), warn: () => {}, error: () => {} };
      handlers.http.get('health')({ method: 'GET', url: 'http://localhost/api/health', headers: new Headers(), params: {}, query: new URLSearchParams() }, context)
        .then((answer) => process.stdout.write('\\n' + JSON.stringify({ status: answer.status, body: JSON.parse(answer.body), names: [...handlers.http.keys()] })));`;
    const result = await run(process.execPath, ['-e', script], { cwd: out });
    expect(result.code).toBe(0);
    const answer = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { status: number; body: { code: string; settings: string[] }; names: string[] };
    expect(answer.status).toBe(503);
    expect(answer.body.code).toBe('configuration_invalid');
    expect(answer.body.settings).toEqual(expect.arrayContaining(['AzureAd__TenantId', 'Session__Keys']));
    expect(answer.names).toEqual(expect.arrayContaining(['login', 'redirect', 'proxy', 'health', 'web']));
  });

  test('a proxy set in the environment still carries the Table calls; the proxy agents load from xmlAndProxy.js only then', async () => {
    const azurite = await startAzuriteTable();
    // A forward proxy on loopback, as HttpProxyAgent speaks to one for an http: endpoint (Azurite):
    // records each request and passes it on, to loopback only.
    const seen: string[] = [];
    const proxy = createServer((request, response) => {
      const target = new URL(request.url ?? '/', 'http://invalid');
      seen.push(`${request.method} ${target.host}${target.pathname}`);
      if (target.hostname !== '127.0.0.1') return void response.writeHead(403).end();
      const upstream = httpRequest({ host: target.hostname, port: target.port, method: request.method, path: `${target.pathname}${target.search}`, headers: request.headers, timeout: 10_000 }, (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      });
      upstream.on('error', () => response.writeHead(502).end());
      request.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    // The purge timer lists the table's expired rows and deletes them, from a folder with no node_modules above it.
    const table = TableClient.fromConnectionString(azurite.connectionString, 'TokenCache', { allowInsecureConnection: true });
    const expiredRow = (partitionKey: string) => table.createEntity({ partitionKey, rowKey: 'link', Account: 'x', Issuer: 'x', ExpiresOn: new Date(Date.now() - 60_000) });
    const settings = { ...MINIMAL_SETTINGS, AzureAd__TenantId: 'contoso.onmicrosoft.com', TokenCache__ConnectionString: azurite.connectionString };
    const script = `
      const loaded = () => Object.keys(require.cache).map((p) => require('node:path').basename(p));
      const { startHandlers } = require(${JSON.stringify(join(out, 'deploy/handlers.js'))});
      const handlers = startHandlers(${JSON.stringify(settings)}, { log: () => {} });
      const lines = [];
      const context = { invocationId: 'i', functionName: 'purgeExpired', log: (l) => lines.push(l), warn: (l) => lines.push(l), error: (l) => lines.push(l) };
      const before = loaded();
      handlers.timers.get('purgeExpired')({}, context)
        .then(() => process.stdout.write('\\n' + JSON.stringify({ lines, before, after: loaded() }), () => process.exit(0)));`;
    const env = { ...process.env };
    for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY']) {
      delete env[name];
      delete env[name.toLowerCase()];
    }
    const purge = async (extra: NodeJS.ProcessEnv) => {
      const result = await run(process.execPath, ['-e', script], { cwd: out, env: { ...env, ...extra } });
      expect({ code: result.code, stderr: result.code === 0 ? '' : result.stderr.slice(-2000) }).toEqual({ code: 0, stderr: '' });
      return JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { lines: string[]; before: string[]; after: string[] };
    };
    const purged = [{ event: 'purge', deleted: 1, skipped: 0, pages: 1 }];
    try {
      await table.createTable();
      await expiredRow('direct');
      const direct = await purge({});
      expect(direct.lines.map((line) => JSON.parse(line) as unknown)).toEqual(purged);
      expect(seen).toEqual([]);
      expect(direct.after).not.toContain('xmlAndProxy.js');

      await expiredRow('proxied');
      const proxied = await purge({ HTTP_PROXY: proxyUrl });
      expect(proxied.lines.map((line) => JSON.parse(line) as unknown)).toEqual(purged);
      const tablePath = `127.0.0.1:${azurite.port}/devstoreaccount1/TokenCache`;
      expect(seen).toEqual([`GET ${tablePath}()`, `DELETE ${tablePath}(PartitionKey='proxied',RowKey='link')`]);
      expect(proxied.before).not.toContain('xmlAndProxy.js');
      expect(proxied.after).toContain('xmlAndProxy.js');
    } finally {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
      await azurite.close();
    }
  });
});

// ---------- the template: region, deployment container, network, diagnostics ----------

describe('template', () => {
  let main: BicepFile;
  let storage: BicepFile;
  let keyVault: BicepFile;
  beforeAll(async () => {
    main = await loadInfraFile('main.bicep');
    storage = await loadInfraFile('app/storage.bicep');
    keyVault = await loadInfraFile('app/keyvault.bicep');
  });

  test('location is restricted to regions that offer Flex Consumption, and azd asks for it', () => {
    const location = declaration(main, 'param', 'location');
    expect(location?.decorators).toEqual(expect.arrayContaining(['allowed', 'metadata']));
    const allowed = location?.node.previousNamedSibling?.descendantsOfType('array')[0]?.descendantsOfType('string').map((s) => stringValue(s)) ?? [];
    expect(allowed).toEqual(expect.arrayContaining(['eastus', 'eastus2', 'westeurope', 'northeurope', 'swedencentral', 'australiaeast', 'japaneast']));
    // Regions without the plan, and early-access ones, are not offered.
    for (const region of ['westindia', 'qatarcentral', 'eastus2euap', 'centraluseuap']) expect(allowed).not.toContain(region);
    expect(new Set(allowed).size).toBe(allowed.length);
  });

  test('the deployment container is named per app, within the 63 characters a container name may have', () => {
    const value = declaredValue(declaration(main, 'var', 'deploymentContainerName')!);
    expect(value?.text).toBe("'app-package-${take(functionAppName, 32)}-${take(toLower(uniqueString(functionAppName, resourceToken)), 7)}'");
    // 'app-package-' + at most 32 + '-' + 7 lowercase characters.
    expect('app-package-'.length + 32 + 1 + 7).toBeLessThanOrEqual(63);
    for (const module of ['storage', 'api']) {
      const params = declaration(main, 'module', module)?.node.descendantsOfType('object')[0];
      expect(property(params, 'params.deploymentContainerName')?.text).toBe('deploymentContainerName');
    }
  });

  test('private network mode lets no Azure service past the storage firewall', () => {
    const account = resourcesOfType(storage, 'Microsoft.Storage/storageAccounts').find((r) => !r.existing);
    expect(property(account?.body, 'properties.networkAcls.bypass')?.text).toBe("publicNetworkAccess == 'Enabled' ? 'AzureServices' : 'None'");
    expect(property(account?.body, 'properties.networkAcls.defaultAction')?.text).toBe("publicNetworkAccess == 'Enabled' ? 'Allow' : 'Deny'");
  });

  function diagnostics(file: BicepFile) {
    return resourcesOfType(file, 'Microsoft.Insights/diagnosticSettings').map((r) => ({
      scope: property(r.body, 'scope')?.text,
      workspace: property(r.body, 'properties.workspaceId')?.text,
      categories: (property(r.body, 'properties.logs')?.text.match(/category: '(\w+)'/g) ?? []).map((c) => c.slice(11, -1)),
      loop: property(r.body, 'properties.logs')?.text.includes('for category in storageLogCategories') ?? false,
    }));
  }

  test('Key Vault sends its audit events (every secret read) to Log Analytics', () => {
    expect(diagnostics(keyVault)).toEqual([{ scope: 'vault', workspace: 'logAnalyticsWorkspaceId', categories: ['AuditEvent'], loop: false }]);
  });

  test('blob and table services send their read, write and delete logs to Log Analytics', () => {
    expect(diagnostics(storage)).toEqual([
      { scope: 'account::blobServices', workspace: 'logAnalyticsWorkspaceId', categories: [], loop: true },
      { scope: 'account::tableServices', workspace: 'logAnalyticsWorkspaceId', categories: [], loop: true },
    ]);
    const categories = declaredValue(declaration(storage, 'var', 'storageLogCategories')!)?.descendantsOfType('string').map((s) => stringValue(s));
    expect(categories).toEqual(['StorageRead', 'StorageWrite', 'StorageDelete']);
  });

  test('main.bicep hands both modules the workspace monitoring creates', () => {
    for (const module of ['storage', 'keyVault']) {
      const params = declaration(main, 'module', module)?.node.descendantsOfType('object')[0];
      expect(property(params, 'params.logAnalyticsWorkspaceId')?.text).toBe('monitoring.outputs.logAnalyticsId');
    }
  });
});

// ---------- `func start` needs Azurite ----------

describe('the func start path', () => {
  test('`npm run azurite` starts the emulator the host and local.settings.example.json expect, and the README says so', () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.azurite).toMatch(/^azurite /);
    expect(scripts.azurite).toMatch(/--location \.dev\//);
    expect(read('.gitignore')).toMatch(/^\.dev\/$/m);
    expect(read('local.settings.example.json')).toMatch(/"AzureWebJobsStorage": "UseDevelopmentStorage=true"/);
    // The README, or the docs it points to, says so in the paragraph that tells about func start.
    const docs = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];
    const paragraphs = docs.flatMap((path) => read(path).split(/\n\s*\n/));
    expect(paragraphs.filter((p) => p.includes('`npm run azurite`') && p.includes('func start'))).toHaveLength(1);
  });
});
