import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/**
 * The house rule the layout rests on: `shared/` is the domain, free of transport. It imports
 * nothing from `@azure/functions` (nor the worker's `@azure/functions-core`) and nothing from
 * `functions/` or `dev/`; the transport lives in `functions/`.
 */
const root = resolve(__dirname, '../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every module a file names: static imports and re-exports, `import()`, `require()`, type-only imports too. */
export function importsOf(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName);
}

function violations(file: string): string[] {
  const bad: string[] = [];
  for (const specifier of importsOf(readFileSync(file, 'utf8'))) {
    if (/^@azure\/functions(-core)?(\/|$)/.test(specifier)) bad.push(specifier);
    if (specifier.startsWith('.')) {
      const target = relative(root, resolve(file, '..', specifier)).split(sep)[0];
      if (target === 'functions' || target === 'dev') bad.push(specifier);
    }
  }
  return bad.map((s) => `${relative(root, file)} imports ${s}`);
}

test('shared/ imports nothing from @azure/functions, functions/ or dev/', () => {
  const files = sourceFiles(join(root, 'shared'));
  expect(files.length).toBeGreaterThan(20);
  expect(files.flatMap(violations)).toEqual([]);
});

test('the check sees every form of import', () => {
  const forms = [
    "import type { Cookie } from '@azure/functions';",
    "import { app } from '@azure/functions';",
    "export { HttpResponse } from '@azure/functions';",
    "const f = require('@azure/functions');",
    "const g = await import('@azure/functions');",
    "import '@azure/functions-core';",
  ];
  for (const form of forms) expect(importsOf(form)).toEqual([expect.stringMatching(/^@azure\/functions/)]);
});

/** Top-level `let`/`var` declarations: module state that one app could change under another. */
function mutableModuleState(text: string): string[] {
  const source = ts.createSourceFile('module.ts', text, ts.ScriptTarget.Latest, true);
  return source.statements.flatMap((statement) => {
    if (!ts.isVariableStatement(statement)) return [];
    if (statement.declarationList.flags & ts.NodeFlags.Const) return [];
    return statement.declarationList.declarations.map((d) => d.name.getText(source));
  });
}

/** Process-wide by nature, not per app: what they hold is the same for every runtime in the process. */
const PROCESS_WIDE = new Set([
  'shared/observe.ts: subscribed', // one diagnostics_channel subscription per process
  'shared/log.ts: capture', // where log lines go (a test may capture them)
  'shared/telemetry/index.ts: started', // one Azure Monitor SDK per process (OpenTelemetry's providers are global)
]);

test('no module-level mutable state in shared/ or functions/: handlers get their runtime from a factory', () => {
  const files = [...sourceFiles(join(root, 'shared')), ...sourceFiles(join(root, 'functions'))];
  const found = files.flatMap((file) => mutableModuleState(readFileSync(file, 'utf8')).map((name) => `${relative(root, file).split(sep).join('/')}: ${name}`));
  expect(found.filter((entry) => !PROCESS_WIDE.has(entry))).toEqual([]);
});

test('the state check sees let and var at the top level only', () => {
  expect(mutableModuleState('let current; export let other = 1; var legacy; const fixed = 1; function f() { let inner; }')).toEqual(['current', 'other', 'legacy']);
});
