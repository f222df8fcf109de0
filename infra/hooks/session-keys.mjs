// azd post-provision hook: makes sure the Key Vault secret with the session-cookie keys exists.
// The value is what Session__Keys would hold: comma-separated base64url keys of 32 random bytes,
// the first one sealing. Bicep cannot make 32 random bytes (newGuid() has 122 random bits and
// changes on every deployment), so the key is generated here, once; an existing secret is kept, so
// re-provisioning never signs anyone out. Rotate by setting "<new>,<old>" as a new version.
//
// Node built-ins only (azd may still be installing the project's packages while it provisions):
// the Key Vault REST API through fetch, with a token from `azd auth token` (the signed-in azd
// user) or, failing that, from `az account get-access-token`. That user holds Key Vault Secrets
// Officer through main.bicep's principalId. azd passes the deployment outputs as environment
// variables.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

const API_VERSION = '7.5';
const REQUEST_TIMEOUT_MS = 30_000;
const TOOL_TIMEOUT_MS = 60_000;
const ROLE_RETRIES = 12;
const ROLE_RETRY_DELAY_MS = 15_000;

const vaultUrl = (process.env.AZURE_KEY_VAULT_URI ?? '').replace(/\/+$/, '');
const secretName = process.env.SESSION_KEYS_NAME;
const tenantId = process.env.AZURE_TENANT_ID;

if (!vaultUrl || !secretName) {
  console.error('session-keys: AZURE_KEY_VAULT_URI and SESSION_KEYS_NAME are not set; run through `azd provision`.');
  process.exit(1);
}

class HttpError extends Error {
  constructor(status, code) {
    super(`Key Vault answered ${status}${code ? ` ${code}` : ''}`);
    this.status = status;
    this.code = code;
  }
}

/** Runs a CLI and parses its JSON output; rejects with its first stderr line, never the output. */
function runJson(command, args) {
  return new Promise((resolve, reject) => {
    // `az` is a .cmd script on Windows, which only a shell starts.
    execFile(command, args, { timeout: TOOL_TIMEOUT_MS, shell: process.platform === 'win32', windowsHide: true }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`${command}: ${String(stderr || error.message).split('\n')[0]}`));
      try {
        resolve(JSON.parse(stdout));
      } catch {
        reject(new Error(`${command}: output is not JSON`));
      }
    });
  });
}

/** An access token for the vault's resource (as its challenge names it), from azd, then az. */
async function accessToken(resource) {
  const scope = `${resource.replace(/\/+$/, '')}/.default`;
  const tenant = tenantId ? ['--tenant-id', tenantId] : [];
  const failures = [];
  try {
    const result = await runJson('azd', ['auth', 'token', '--output', 'json', '--scope', scope, ...tenant]);
    if (typeof result?.token === 'string' && result.token) return result.token;
    failures.push('azd: no token in its output');
  } catch (error) {
    failures.push(error.message);
  }
  try {
    const result = await runJson('az', ['account', 'get-access-token', '--output', 'json', '--scope', scope, ...(tenantId ? ['--tenant', tenantId] : [])]);
    if (typeof result?.accessToken === 'string' && result.accessToken) return result.accessToken;
    failures.push('az: no token in its output');
  } catch (error) {
    failures.push(error.message);
  }
  throw new Error(`no token for ${scope} (sign in with \`azd auth login\`): ${failures.join('; ')}`);
}

/** Key Vault's challenge: an unauthenticated request answers 401 naming the resource to ask a token for. */
async function vaultResource() {
  const response = await fetch(`${vaultUrl}/secrets/${encodeURIComponent(secretName)}?api-version=${API_VERSION}`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  await response.arrayBuffer();
  const challenge = response.headers.get('www-authenticate') ?? '';
  const resource = /resource="([^"]+)"/i.exec(challenge)?.[1] ?? /scope="([^"]+)\/\.default"/i.exec(challenge)?.[1];
  if (response.status !== 401 || !resource) throw new Error(`the vault answered ${response.status} without a Bearer challenge`);
  return resource;
}

async function vaultRequest(token, method, body) {
  const response = await fetch(`${vaultUrl}/secrets/${encodeURIComponent(secretName)}?api-version=${API_VERSION}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  // Read the error code only: a successful body holds the secret value, which is never printed.
  const json = await response.json().catch(() => undefined);
  if (!response.ok) throw new HttpError(response.status, json?.error?.innererror?.code ?? json?.error?.code);
}

/** A role assignment made seconds ago can take a few minutes to apply: retry 403 for a while. */
async function withRoleRetry(action) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await action();
    } catch (error) {
      if (error?.status !== 403 || attempt >= ROLE_RETRIES) throw error;
      console.log(`session-keys: access denied, waiting for the role assignment (${attempt}/${ROLE_RETRIES})`);
      await sleep(ROLE_RETRY_DELAY_MS);
    }
  }
}

async function secretExists(token) {
  try {
    await vaultRequest(token, 'GET');
    return true;
  } catch (error) {
    if (error?.status === 404) return false;
    throw error;
  }
}

try {
  const token = await accessToken(await vaultResource());
  if (await withRoleRetry(() => secretExists(token))) {
    console.log(`session-keys: ${secretName} exists in ${vaultUrl}; left as is.`);
  } else {
    const key = randomBytes(32).toString('base64url');
    await withRoleRetry(() => vaultRequest(token, 'PUT', { value: key, contentType: 'session-keys: comma-separated base64url 32-byte keys' }));
    console.log(`session-keys: created ${secretName} in ${vaultUrl}.`);
  }
} catch (error) {
  // Only the message: never a request, a response body or a token.
  console.error(`session-keys: ${error?.message ?? 'failed'}`);
  console.error('Check that principalId (AZURE_PRINCIPAL_ID) holds Key Vault Secrets Officer and, in private network mode, that this machine is in allowedIpAddresses.');
  process.exit(1);
}
