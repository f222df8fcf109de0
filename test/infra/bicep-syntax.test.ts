import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BicepFile, INFRA_DIR, declarations, infraBicepPaths, loadInfraFile, parseBicep, stringValue, syntaxProblems } from './bicep';

// Every template parses with tree-sitter-bicep, and the modules main.bicep wires together agree on
// parameter and output names: the part of `bicep build` that can run offline.

const paths = infraBicepPaths();
const files = new Map<string, BicepFile>();

beforeAll(async () => {
  for (const path of paths) files.set(path, await loadInfraFile(path));
});

const file = (path: string): BicepFile => {
  const loaded = files.get(path);
  if (!loaded) throw new Error(`${path} was not loaded`);
  return loaded;
};

test('infra/ holds main.bicep and the modules of the azd Functions layout', () => {
  expect(paths).toEqual(
    expect.arrayContaining([
      'main.bicep',
      'app/api.bicep',
      'app/storage.bicep',
      'app/keyvault.bicep',
      'app/monitoring.bicep',
      'app/rbac.bicep',
      'app/network.bicep',
      'app/identity.bicep',
      'app/entra.bicep',
    ]),
  );
});

test.each(paths)('%s parses without a syntax error', (path) => {
  expect(syntaxProblems(file(path))).toEqual([]);
});

test('a broken template is reported with its line', async () => {
  const broken = await parseBicep("param ok string\nresource sa 'Microsoft.Storage/storageAccounts@2025-01-01' = {\n  name: 'x'\n  properties: {\n    allowSharedKeyAccess: \n}\n", 'broken.bicep');
  const problems = syntaxProblems(broken);
  expect(problems.length).toBeGreaterThan(0);
  expect(problems[0]?.line).toBeGreaterThanOrEqual(5);
});

test('`extension` (newer than the grammar) is still syntax-checked', async () => {
  expect(syntaxProblems(await parseBicep('extension microsoftGraphV1\nparam x string\n'))).toEqual([]);
  expect(syntaxProblems(await parseBicep('extension microsoftGraphV1 =\nparam x string\n')).length).toBeGreaterThan(0);
});

test('no module comes from a registry: everything here can be read and checked offline', () => {
  for (const [path, bicep] of files) {
    for (const module of declarations(bicep).filter((d) => d.kind === 'module')) {
      const source = stringValue(module.node.namedChildren[1]) ?? '';
      expect({ path, module: module.name, source }).toEqual({ path, module: module.name, source: expect.stringMatching(/^(\.\/)?app\/[\w-]+\.bicep$/) });
    }
  }
});

describe('main.bicep wiring', () => {
  const main = () => file('main.bicep');

  test('every module call passes only declared parameters and every required one', () => {
    for (const module of declarations(main()).filter((d) => d.kind === 'module')) {
      const target = file((stringValue(module.node.namedChildren[1]) ?? '').replace(/^\.\//, ''));
      const declared = declarations(target).filter((d) => d.kind === 'param');
      const body = module.node.descendantsOfType('object')[0];
      const paramsObject = body?.namedChildren
        .find((p) => p.type === 'object_property' && p.namedChildren[0]?.text === 'params')
        ?.namedChildren.at(-1);
      const passed = (paramsObject?.namedChildren ?? []).filter((p) => p.type === 'object_property').map((p) => p.namedChildren[0]?.text ?? '');
      const required = declared.filter((d) => d.node.namedChildren.length <= 2).map((d) => d.name);
      expect({ module: module.name, unknown: passed.filter((name) => !declared.some((d) => d.name === name)) }).toEqual({ module: module.name, unknown: [] });
      expect({ module: module.name, missing: required.filter((name) => !passed.includes(name)) }).toEqual({ module: module.name, missing: [] });
    }
  });

  test('every <module>.outputs.<name> read in main.bicep is an output of that module', () => {
    const modules = new Map(declarations(main()).filter((d) => d.kind === 'module').map((d) => [d.name, (stringValue(d.node.namedChildren[1]) ?? '').replace(/^\.\//, '')]));
    const references = [...main().source.matchAll(/\b(\w+)!?\.outputs\.(\w+)/g)];
    expect(references.length).toBeGreaterThan(10);
    for (const [, moduleName = '', output = ''] of references) {
      const path = modules.get(moduleName);
      expect({ moduleName, known: path !== undefined }).toEqual({ moduleName, known: true });
      const outputs = declarations(file(path ?? '')).filter((d) => d.kind === 'output').map((d) => d.name);
      expect({ module: moduleName, output, exists: outputs.includes(output) }).toEqual({ module: moduleName, output, exists: true });
    }
  });

  test('abbreviations.json has every prefix main.bicep uses', () => {
    const abbreviations = JSON.parse(readFileSync(join(INFRA_DIR, 'abbreviations.json'), 'utf8')) as Record<string, string>;
    const used = [...main().source.matchAll(/\babbrs\.(\w+)/g)].map((m) => m[1] ?? '');
    expect(used.length).toBeGreaterThan(5);
    expect(used.filter((key) => typeof abbreviations[key] !== 'string')).toEqual([]);
  });
});
