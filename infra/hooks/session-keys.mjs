// azd post-provision hook: makes sure the Key Vault secret with the session-cookie keys exists.
// The value is what Session__Keys would hold: comma-separated base64url keys of 32 random bytes,
// the first one sealing. Bicep cannot make 32 random bytes (newGuid() has 122 random bits and
// changes on every deployment), so the key is generated here, once; an existing secret is kept, so
// re-provisioning never signs anyone out. Rotate by setting "<new>,<old>" as a new version.
//
// Runs as the signed-in azd (or az) user, who holds Key Vault Secrets Officer through
// main.bicep's principalId. azd passes the deployment outputs as environment variables.
import { randomBytes } from 'node:crypto';

const vaultUrl = process.env.AZURE_KEY_VAULT_URI;
const secretName = process.env.SESSION_KEYS_NAME;
const tenantId = process.env.AZURE_TENANT_ID;

if (!vaultUrl || !secretName) {
  console.error('session-keys: AZURE_KEY_VAULT_URI and SESSION_KEYS_NAME are not set; run through `azd provision`.');
  process.exit(1);
}

// The SDKs are the app's own dependencies; azd installs them before it provisions in `azd up`.
let identity;
let secrets;
try {
  identity = await import('@azure/identity');
  secrets = await import('@azure/keyvault-secrets');
} catch {
  console.error('session-keys: run `npm install` first (needs @azure/identity and @azure/keyvault-secrets).');
  process.exit(1);
}

const credential = new identity.ChainedTokenCredential(
  new identity.AzureDeveloperCliCredential({ tenantId }),
  new identity.AzureCliCredential({ tenantId }),
);
const client = new secrets.SecretClient(vaultUrl, credential);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A role assignment made seconds ago can take a few minutes to apply: retry 403 for a while. */
async function withRoleRetry(action) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await action();
    } catch (error) {
      if (error?.statusCode !== 403 || attempt >= 12) throw error;
      console.log(`session-keys: access denied, waiting for the role assignment (${attempt}/12)`);
      await sleep(15_000);
    }
  }
}

async function secretExists() {
  try {
    await client.getSecret(secretName);
    return true;
  } catch (error) {
    if (error?.statusCode === 404) return false;
    throw error;
  }
}

try {
  if (await withRoleRetry(secretExists)) {
    console.log(`session-keys: ${secretName} exists in ${vaultUrl}; left as is.`);
  } else {
    const key = randomBytes(32).toString('base64url');
    await withRoleRetry(() => client.setSecret(secretName, key, { contentType: 'session-keys: comma-separated base64url 32-byte keys' }));
    console.log(`session-keys: created ${secretName} in ${vaultUrl}.`);
  }
} catch (error) {
  // Never print the error object whole: it may carry request details.
  console.error(`session-keys: ${error?.code ?? 'error'} (${error?.statusCode ?? 'no status'}): ${error?.message ?? error}`);
  console.error('Check that principalId (AZURE_PRINCIPAL_ID) holds Key Vault Secrets Officer and, in private network mode, that this machine is in allowedIpAddresses.');
  process.exit(1);
}
