// azd pre-provision and pre-deploy hook: refuses to go on when the app would get no client id.
// Without CREATE_APP_REGISTRATION=true or AZURE_AD_CLIENT_ID, main.bicep would deploy an app whose
// AzureAd__ClientId is empty, and every function would answer 503. Node built-ins only: it runs
// before anything is installed.
//
// azd passes the environment's values (.azure/<env>/.env, `azd env set`) as environment variables.

const createAppRegistration = (process.env.CREATE_APP_REGISTRATION ?? '').trim();
const clientId = (process.env.AZURE_AD_CLIENT_ID ?? '').trim();

/** The problem with the environment, or undefined when the deployment can go on. */
function preflightProblem({ createAppRegistration, clientId }) {
  if (createAppRegistration !== '' && !/^(true|false)$/i.test(createAppRegistration)) {
    return `CREATE_APP_REGISTRATION is "${createAppRegistration}"; it must be true or false.`;
  }
  if (/^true$/i.test(createAppRegistration) || clientId !== '') return undefined;
  return [
    'The app has no client id: set one of these two, then run azd again.',
    '  azd env set CREATE_APP_REGISTRATION true                  # the template registers the app (needs the right to register applications)',
    '  azd env set AZURE_AD_CLIENT_ID <application (client) id>  # an app registration you manage yourself',
  ].join('\n');
}

const problem = preflightProblem({ createAppRegistration, clientId });
if (problem) {
  console.error(`preflight: ${problem}`);
  process.exit(1);
}
console.log(/^true$/i.test(createAppRegistration) && clientId === '' ? 'preflight: the app registration will be created.' : `preflight: client id ${clientId}.`);
