import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { graphModuleStub } from '../../scripts/bicep/graphStub.mjs';
import { INFRA_DIR, declarations, parseBicep, syntaxProblems } from './bicep';

// `npm run test:bicep` compiles main.bicep against a stand-in for app/entra.bicep (the Graph
// extension cannot be restored offline). The stand-in must keep the module's interface.

const signature = (source: string) =>
  parseBicep(source).then((file) =>
    declarations(file)
      .filter((d) => d.kind === 'param' || d.kind === 'output')
      .map((d) => `${d.kind} ${d.name} ${d.node.namedChildren[1]?.text ?? ''} ${d.decorators.join(',')}`),
  );

test('the Graph stub has the parameters and outputs of app/entra.bicep, and no extension', async () => {
  const entra = readFileSync(join(INFRA_DIR, 'app/entra.bicep'), 'utf8');
  const stub = graphModuleStub(entra);
  expect(await signature(stub)).toEqual(await signature(entra));
  expect((await signature(entra)).length).toBeGreaterThan(3);
  expect(stub).not.toMatch(/^extension /m);
  expect(stub).not.toMatch(/Microsoft\.Graph/);
  expect(syntaxProblems(await parseBicep(stub))).toEqual([]);
});

test('a parameter or output added to the module is carried into the stub', async () => {
  const changed = "extension microsoftGraphV1\n@secure()\nparam extra string\nparam count int = 2\noutput appId string = 'x'\noutput ids array = []\n";
  const stub = graphModuleStub(changed);
  expect(await signature(stub)).toEqual(await signature(changed));
});
