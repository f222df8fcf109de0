import ts from 'typescript';
import type { Node } from 'web-tree-sitter';
import {
  type BicepFile,
  callArguments,
  callName,
  declarations,
  declaredValue,
  literal,
  property,
  propertyKey,
  resolveVariable,
  resources,
  resourcesOfType,
  stringValue,
} from './bicep';

/**
 * Security and consistency checks over the parse tree. Each returns the violations it finds, as
 * sentences naming the file and symbol, so a failing test says what to fix. The checks are
 * deliberately strict about form: a value they cannot read as a literal counts as a violation.
 */

/** Built-in Azure role definitions the templates may assign (ids are the same in every tenant). */
export const BUILT_IN_ROLES: Readonly<Record<string, string>> = {
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b': 'Storage Blob Data Owner',
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3': 'Storage Table Data Contributor',
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88': 'Storage Queue Data Contributor',
  '4633458b-17de-408a-b874-0445c86b69e6': 'Key Vault Secrets User',
  'b86a8fe4-44ce-4948-aee5-eccb2c155cd7': 'Key Vault Secrets Officer',
  'db79e9a7-68ee-4b58-9aeb-b90e7c24fcba': 'Key Vault Certificate User',
  '3913510d-42f4-4e42-8a64-420c390055eb': 'Monitoring Metrics Publisher',
};

/** App settings the Flex Consumption plan rejects or ignores (they moved to functionAppConfig). */
export const FLEX_REJECTED_SETTINGS = [
  'FUNCTIONS_EXTENSION_VERSION',
  'FUNCTIONS_WORKER_RUNTIME',
  'FUNCTIONS_WORKER_RUNTIME_VERSION',
  'FUNCTIONS_MAX_HTTP_CONCURRENCY',
  'FUNCTIONS_WORKER_PROCESS_COUNT',
  'FUNCTIONS_WORKER_DYNAMIC_CONCURRENCY_ENABLED',
  'SCM_DO_BUILD_DURING_DEPLOYMENT',
  'ENABLE_ORYX_BUILD',
  'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING',
  'WEBSITE_CONTENTOVERVNET',
  'WEBSITE_CONTENTSHARE',
  'WEBSITE_DNS_SERVER',
  'WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT',
  'WEBSITE_NODE_DEFAULT_VERSION',
  'WEBSITE_RUN_FROM_PACKAGE',
  'WEBSITE_SKIP_CONTENTSHARE_VALIDATION',
  'WEBSITE_VNET_ROUTE_ALL',
];

const where = (file: BicepFile, symbol: string): string => `${file.path}: ${symbol}`;

function expectLiteral(file: BicepFile, symbol: string, body: Node | undefined, path: string, expected: unknown): string[] {
  const actual = literal(property(body, path));
  return actual === expected ? [] : [`${where(file, symbol)} must set ${path}: ${JSON.stringify(expected)} (found ${JSON.stringify(actual ?? property(body, path)?.text ?? 'nothing')})`];
}

// ---------- Storage ----------

export function checkStorageAccounts(file: BicepFile): string[] {
  return resourcesOfType(file, 'Microsoft.Storage/storageAccounts')
    .filter((r) => !r.existing)
    .flatMap((r) => [
      ...expectLiteral(file, r.symbol, r.body, 'properties.allowSharedKeyAccess', false),
      ...expectLiteral(file, r.symbol, r.body, 'properties.allowBlobPublicAccess', false),
      ...expectLiteral(file, r.symbol, r.body, 'properties.minimumTlsVersion', 'TLS1_2'),
      ...expectLiteral(file, r.symbol, r.body, 'properties.supportsHttpsTrafficOnly', true),
    ]);
}

// ---------- Key Vault ----------

/** Control-plane API versions before this one retire in February 2027. */
export const MIN_KEY_VAULT_API_VERSION = '2026-02-01';

export function checkKeyVaults(file: BicepFile): string[] {
  const vaults = resources(file).filter((r) => r.type.toLowerCase().startsWith('microsoft.keyvault/'));
  return vaults.flatMap((r) => {
    const version = r.apiVersion.replace(/-preview$/, '');
    const problems = version < MIN_KEY_VAULT_API_VERSION ? [`${where(file, r.symbol)} uses ${r.type}@${r.apiVersion}; use ${MIN_KEY_VAULT_API_VERSION} or later`] : [];
    if (r.existing || r.type.toLowerCase() !== 'microsoft.keyvault/vaults') return problems;
    return [
      ...problems,
      ...expectLiteral(file, r.symbol, r.body, 'properties.enableRbacAuthorization', true),
      ...expectLiteral(file, r.symbol, r.body, 'properties.enableSoftDelete', true),
      ...expectLiteral(file, r.symbol, r.body, 'properties.enablePurgeProtection', true),
    ];
  });
}

// ---------- Role assignments ----------

export interface RoleAssignment {
  readonly symbol: string;
  readonly roleId: string | undefined;
  readonly principal: string | undefined;
  readonly scope: string | undefined;
}

/** Reads `roles.x` or a literal GUID through the file's vars. */
function roleIdOf(file: BicepFile, node: Node | undefined): string | undefined {
  if (!node) return undefined;
  const direct = literal(node);
  if (typeof direct === 'string') return direct;
  if (node.type === 'identifier') {
    const resolved = resolveVariable(file, node);
    return resolved === node ? undefined : roleIdOf(file, resolved);
  }
  if (node.type === 'member_expression') {
    const object = node.childForFieldName('object');
    const name = node.childForFieldName('property')?.text;
    const target = object ? resolveVariable(file, object) : undefined;
    return name ? roleIdOf(file, property(target, name)) : undefined;
  }
  return undefined;
}

export function roleAssignments(file: BicepFile): RoleAssignment[] {
  return resourcesOfType(file, 'Microsoft.Authorization/roleAssignments').map((r) => {
    const definition = property(r.body, 'properties.roleDefinitionId');
    const [collection, id] = definition && callName(definition) === 'subscriptionResourceId' ? callArguments(definition) : [];
    const roleId = stringValue(collection) === 'Microsoft.Authorization/roleDefinitions' ? roleIdOf(file, id) : undefined;
    const principalNode = property(r.body, 'properties.principalId');
    return {
      symbol: r.symbol,
      roleId,
      principal: principalNode?.type === 'identifier' ? principalNode.text : undefined,
      scope: property(r.body, 'scope')?.text,
    };
  });
}

/**
 * Every assignment names a known built-in role through subscriptionResourceId(), a principal that
 * is one of the given parameters, and a deterministic name built from scope, principal and role.
 */
export function checkRoleAssignments(file: BicepFile, principalParams: readonly string[]): string[] {
  const params = new Set(declarations(file).filter((d) => d.kind === 'param').map((d) => d.name));
  return resourcesOfType(file, 'Microsoft.Authorization/roleAssignments').flatMap((r) => {
    const assignment = roleAssignments(file).find((a) => a.symbol === r.symbol);
    const problems: string[] = [];
    if (!assignment?.roleId || !BUILT_IN_ROLES[assignment.roleId]) {
      problems.push(`${where(file, r.symbol)} must set roleDefinitionId to subscriptionResourceId('Microsoft.Authorization/roleDefinitions', <a known built-in role id>) (found ${assignment?.roleId ?? property(r.body, 'properties.roleDefinitionId')?.text ?? 'nothing'})`);
    }
    if (!assignment?.principal || !principalParams.includes(assignment.principal) || !params.has(assignment.principal)) {
      problems.push(`${where(file, r.symbol)} must set principalId to one of the parameters ${principalParams.join(', ')}`);
    }
    const name = property(r.body, 'name');
    const nameArgs = name && callName(name) === 'guid' ? callArguments(name).map((a) => a.text) : [];
    if (!assignment?.principal || !nameArgs.includes(assignment.principal)) {
      problems.push(`${where(file, r.symbol)} must be named guid(<scope>.id, <principal>, <role>) so that a redeployment finds it`);
    }
    return problems;
  });
}

// ---------- Parameters and outputs ----------

const SECRET_NAME = /pass(word)?|secret|connection_?string|account_?key|(^|_)sas(_|$)|token/i;
const SECRET_MEMBERS = /^(primaryKey|secondaryKey|primaryConnectionString|secondaryConnectionString|connectionString|instrumentationKey|keys|value)$/i;

/** @secure() parameters carry no default (linter rule secure-parameter-default). */
export function checkSecureParameters(file: BicepFile): string[] {
  return declarations(file)
    .filter((d) => d.kind === 'param' && d.decorators.includes('secure') && declaredValue(d) !== undefined)
    .map((d) => `${where(file, d.name)} is @secure() and must not have a default value`);
}

/** No output is named like a secret or computed from a secure parameter, a list*() call or a key. */
export function checkOutputs(file: BicepFile): string[] {
  const secureParams = new Set(declarations(file).filter((d) => d.kind === 'param' && d.decorators.includes('secure')).map((d) => d.name));
  return declarations(file)
    .filter((d) => d.kind === 'output')
    .flatMap((d) => {
      const value = declaredValue(d);
      const problems: string[] = [];
      if (SECRET_NAME.test(d.name)) problems.push(`${where(file, d.name)}: the output name suggests a secret`);
      if (!value) return problems;
      const identifiers = value.descendantsOfType('identifier').map((n) => n.text);
      if (value.type === 'identifier') identifiers.push(value.text);
      if (identifiers.some((name) => secureParams.has(name))) problems.push(`${where(file, d.name)} outputs a @secure() parameter`);
      const calls = value.descendantsOfType('call_expression').map((n) => callName(n) ?? '');
      if (calls.some((name) => /(^|\.)list/i.test(name))) problems.push(`${where(file, d.name)} outputs the result of a list*() call`);
      const members = value.descendantsOfType('property_identifier').map((n) => n.text);
      if (members.some((name) => SECRET_MEMBERS.test(name))) problems.push(`${where(file, d.name)} outputs a key or connection string property`);
      return problems;
    });
}

/** Nowhere in the file: account keys, list*() calls for keys, or key-based connection strings. */
export function checkNoKeys(file: BicepFile): string[] {
  const problems: string[] = [];
  for (const call of file.root.descendantsOfType('call_expression')) {
    const name = callName(call) ?? '';
    if (/(^|\.)list(Keys|AccountSas|ServiceSas|Secrets|ConnectionStrings)$/i.test(name)) problems.push(`${file.path}: ${name}() reads a key; use the identity instead`);
  }
  for (const string of file.root.descendantsOfType('string')) {
    const text = stringValue(string) ?? '';
    if (/AccountKey=|SharedAccessKey=|SharedAccessSignature=/i.test(text)) problems.push(`${file.path}: a string holds a key-based connection string`);
  }
  return problems;
}

// ---------- App settings ----------

export type SettingValues = ReadonlyMap<string, readonly Node[]>;

/**
 * The app settings of a file: the keys of every object that can reach the `appsettings` config
 * resource's `properties`, through vars, ternaries, union(), reduce() and lambdas. A key with an
 * interpolation reads as `*` (e.g. `DownstreamApis__*__BaseUrl`). Values are kept per key.
 */
export function appSettings(file: BicepFile): SettingValues {
  const configs = resourcesOfType(file, 'Microsoft.Web/sites/config').filter((r) => literal(property(r.body, 'name')) === 'appsettings');
  const settings = new Map<string, Node[]>();
  for (const config of configs) {
    const properties = property(config.body, 'properties');
    if (properties) collectSettings(file, properties, settings, new Set());
  }
  return settings;
}

function collectSettings(file: BicepFile, node: Node, into: Map<string, Node[]>, seen: Set<string>): void {
  switch (node.type) {
    case 'identifier': {
      if (seen.has(node.text)) return;
      seen.add(node.text);
      const resolved = resolveVariable(file, node);
      if (resolved !== node) collectSettings(file, resolved, into, seen);
      return;
    }
    case 'object':
      for (const entry of node.namedChildren.filter((n) => n.type === 'object_property')) {
        const key = propertyKey(entry);
        const value = entry.namedChildren[entry.namedChildren.length - 1];
        if (key && value) into.set(key, [...(into.get(key) ?? []), value]);
      }
      return;
    case 'ternary_expression':
      for (const branch of ['consequence', 'alternative']) {
        const child = node.childForFieldName(branch);
        if (child) collectSettings(file, child, into, seen);
      }
      return;
    case 'call_expression':
      callArguments(node).forEach((argument) => collectSettings(file, argument, into, seen));
      return;
    case 'lambda_expression': {
      // Only the body: the parameters are names, not settings.
      const body = node.namedChildren[node.namedChildren.length - 1];
      if (body) collectSettings(file, body, into, seen);
      return;
    }
    case 'parenthesized_expression':
      node.namedChildren.forEach((child) => collectSettings(file, child, into, seen));
      return;
    default:
      return;
  }
}

/** Settings hold endpoints and ids: no keys, no key-based connection strings, nothing Flex rejects. */
export function checkAppSettings(file: BicepFile, settings: SettingValues): string[] {
  const problems: string[] = [];
  for (const [name, values] of settings) {
    if (FLEX_REJECTED_SETTINGS.includes(name)) problems.push(`${file.path}: app setting ${name} is rejected by the Flex Consumption plan`);
    if (name === 'AzureWebJobsStorage' || (/ConnectionString$/i.test(name) && name !== 'APPLICATIONINSIGHTS_CONNECTION_STRING')) {
      problems.push(`${file.path}: app setting ${name} is a connection string; use identity-based settings (__serviceUri, __credential, __clientId)`);
    }
    for (const value of values) {
      const strings = [value, ...value.descendantsOfType('string')].map((n) => stringValue(n) ?? '');
      const calls = [value, ...value.descendantsOfType('call_expression')].map((n) => callName(n) ?? '');
      if (strings.some((s) => /AccountKey=|SharedAccessKey=|SharedAccessSignature=/i.test(s)) || calls.some((c) => /(^|\.)list/i.test(c))) {
        problems.push(`${file.path}: app setting ${name} carries a key`);
      }
    }
  }
  return problems;
}

// ---------- Setting names the code reads ----------

const SETTING_PREFIX = /^(AzureAd|TokenCache|Session|DownstreamApis|AzureWebJobsStorage)__/;

/**
 * Setting names spelled in TypeScript source: string and template literals that start with one of
 * the app's prefixes, read with the TypeScript parser. `${...}` becomes `*`. A literal ending in
 * `__` is a prefix; when a const holds one, `${thatConst}Suffix` in the same file reads as
 * prefix + suffix (config.ts builds `AzureAd__ClientCredentials__${i}__` + `SourceType` that way).
 */
export function settingNamesInSource(source: string, fileName = 'source.ts'): string[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  // Block scopes of prefix consts: the same name (`prefix`) may hold different prefixes in two functions.
  const scopes: Map<string, string>[] = [];
  const names = new Set<string>();

  const lookup = (name: string): string | undefined => scopes.findLast((scope) => scope.has(name))?.get(name);
  const literalText = (node: ts.Node): string | undefined => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
    if (!ts.isTemplateExpression(node)) return undefined;
    return node.templateSpans.reduce((text, span) => {
      const known = ts.isIdentifier(span.expression) ? lookup(span.expression.text) : undefined;
      return `${text}${known ?? '*'}${span.literal.text}`;
    }, node.head.text);
  };
  const visit = (node: ts.Node): void => {
    const opensScope = ts.isSourceFile(node) || ts.isBlock(node) || ts.isFunctionLike(node);
    if (opensScope) scopes.push(new Map());
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) {
      const text = literalText(node.initializer);
      if (text && SETTING_PREFIX.test(text) && text.endsWith('__')) scopes.at(-1)?.set(node.name.text, text);
    }
    const text = literalText(node);
    if (text && SETTING_PREFIX.test(text) && /^[\w*]+$/.test(text) && !text.endsWith('__')) names.add(text);
    node.forEachChild(visit);
    if (opensScope) scopes.pop();
  };
  visit(file);
  return [...names].sort();
}

/** Does a code pattern (with `*` for any name part) cover a Bicep setting name (maybe with `*`)? */
export function settingMatches(codePattern: string, bicepName: string): boolean {
  const regex = new RegExp(`^${codePattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[\\w*-]+')}$`, 'i');
  return regex.test(bicepName);
}
