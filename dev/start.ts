import './quietTestMode';
import { existsSync, readFileSync } from 'node:fs';
import { isLoopbackHost, processSettings, type Settings } from '../shared/config';
import { ConfigurationError } from '../shared/errors';
import { startLocalStack } from './stack';
import { MULTI_TENANT_USERS } from './idp';
import { DEV_AUTHORITY_SHAPES, type DevAuthorityShape } from './authorityShapes';
import { exitUnlessNodeSupported } from './nodeVersion';
import { describeConfigurationError } from './configurationMessage';

/**
 * `npm start`: the function app on http://localhost:7071 (PORT overrides) with the settings
 * of the environment and of local.settings.json "Values" (the environment wins), and an
 * embedded default for every part they leave out. The demo page is at /api/ (/ redirects there).
 * DEV_IDP_CONSENT_REQUIRED=true makes the dev provider ask for consent per API, to see
 * incremental consent at work. DEV_AUTHORITY (oidc, tenant, organizations, common, b2c) picks
 * the authority shape the app uses against the dev provider; DEV_GRAPH=false leaves out the
 * Microsoft Graph stand-in; DEV_OBO=false leaves out the on-behalf-of demo (the API `obo`, which
 * is the app's own /api/obo/demo/).
 */
function localSettingsFile(): Settings {
  if (!existsSync('local.settings.json')) return {};
  try {
    const parsed = JSON.parse(readFileSync('local.settings.json', 'utf8')) as { Values?: Record<string, unknown> };
    return Object.fromEntries(Object.entries(parsed.Values ?? {}).filter(([, v]) => typeof v === 'string')) as Settings;
  } catch {
    console.error('local.settings.json is not valid JSON');
    process.exit(1);
  }
}

async function main(): Promise<void> {
  exitUnlessNodeSupported();
  const env = processSettings();
  const settings: Settings = { ...localSettingsFile(), ...env };
  const port = settings['PORT'] ? Number(settings['PORT']) : 7071;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error('PORT must be a port number');
    process.exit(1);
  }
  const redirectUri = settings['AzureAd__RedirectUri'];
  if (redirectUri && URL.canParse(redirectUri)) {
    const redirect = new URL(redirectUri);
    const redirectPort = Number(redirect.port || (redirect.protocol === 'https:' ? 443 : 80));
    if (isLoopbackHost(redirect.hostname) && redirectPort !== port) {
      console.error(`AzureAd__RedirectUri is on port ${redirectPort}, but npm start listens on port ${port}; set PORT=${redirectPort}, or change the redirect URI's port (and its registration) to ${port}.`);
      process.exit(1);
    }
  }
  const consentRequired = /^(1|true)$/i.test(settings['DEV_IDP_CONSENT_REQUIRED'] ?? '');
  const authority = (settings['DEV_AUTHORITY'] ?? 'oidc') as DevAuthorityShape;
  if (!DEV_AUTHORITY_SHAPES.includes(authority)) {
    console.error(`DEV_AUTHORITY must be one of ${DEV_AUTHORITY_SHAPES.join(', ')}`);
    process.exit(1);
  }
  const graph = !/^(0|false)$/i.test(settings['DEV_GRAPH'] ?? '');
  const obo = !/^(0|false)$/i.test(settings['DEV_OBO'] ?? '');
  // The demo API's claims challenges (path step-up) need a client that declares cp1.
  const withCapabilities: Settings = settings['AzureAd__ClientId'] ? settings : { AzureAd__ClientCapabilities: 'cp1', ...settings };
  const stack = await startLocalStack({ settings: withCapabilities, port, graph, obo, idp: { consentRequired, authority, users: [...MULTI_TENANT_USERS] } });
  console.log('');
  for (const line of stack.embedded) console.log(`  embedded: ${line}`);
  if (stack.idp) {
    const users = MULTI_TENANT_USERS.map((u) => `${u.username} / ${u.password}`).join(', ');
    console.log(`  demo users: ${users}`);
    if (consentRequired) console.log('  the dev provider asks for consent per API (DEV_IDP_CONSENT_REQUIRED)');
  }
  console.log('');
  console.log(`  Open ${stack.appUrl}/api/ in a browser.`);
  console.log('');
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await stack.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigurationError) {
    console.error(describeConfigurationError(error));
  } else {
    console.error(`npm start failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  process.exit(1);
});
