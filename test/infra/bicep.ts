import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Language, Parser, type Node } from 'web-tree-sitter';

/**
 * Bicep read through tree-sitter-bicep's WASM grammar: no Bicep CLI is needed. The helpers walk
 * the concrete syntax tree; they resolve a few shapes of expression (literals, `var` objects,
 * ternaries, union(), lambdas) and nothing more, which is enough for the checks in checks.ts.
 */

export const INFRA_DIR = join(__dirname, '..', '..', 'infra');

export interface BicepFile {
  readonly path: string;
  readonly source: string;
  readonly root: Node;
}

export interface SyntaxProblem {
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

let parserPromise: Promise<Parser> | undefined;

async function createParser(): Promise<Parser> {
  await Parser.init();
  // Bytes, not a path: loading by path takes a dynamic import that Jest's CommonJS runtime refuses.
  const language = await Language.load(new Uint8Array(readFileSync(require.resolve('tree-sitter-bicep/tree-sitter-bicep.wasm'))));
  return new Parser().setLanguage(language);
}

export function bicepParser(): Promise<Parser> {
  parserPromise ??= createParser();
  return parserPromise;
}

/**
 * The grammar (1.1) predates the `extension` statement that replaced `provider`/`import`. Rewrite it
 * to the older form on the same line, so that its syntax is still checked and line numbers hold.
 */
export function normalizeExtensions(source: string): string {
  return source.replace(/^extension\s+([A-Za-z_][\w]*)(?=\s*(\/\/.*)?$)/gm, "import '$1'").replace(/^extension\s+('[^']*')/gm, 'import $1');
}

export async function parseBicep(source: string, path = '<inline>'): Promise<BicepFile> {
  const parser = await bicepParser();
  const tree = parser.parse(normalizeExtensions(source));
  if (!tree) throw new Error(`tree-sitter returned no tree for ${path}`);
  return { path, source, root: tree.rootNode };
}

export async function loadInfraFile(relativePath: string): Promise<BicepFile> {
  const path = join(INFRA_DIR, relativePath);
  return parseBicep(readFileSync(path, 'utf8'), relativePath);
}

/** Every .bicep file under infra/, as paths relative to it. */
export function infraBicepPaths(dir = INFRA_DIR): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.bicep'))
    .map((entry) => relative(INFRA_DIR, join(entry.parentPath, entry.name)).split('\\').join('/'))
    .sort();
}

export function syntaxProblems(file: BicepFile): SyntaxProblem[] {
  const problems: SyntaxProblem[] = [];
  const visit = (node: Node): void => {
    if (node.isError || node.isMissing) {
      const { row, column } = node.startPosition;
      const what = node.isMissing ? `missing ${node.type}` : `unexpected ${JSON.stringify(node.text.slice(0, 40))}`;
      problems.push({ line: row + 1, column: column + 1, message: what });
      return;
    }
    if (node.hasError) node.children.forEach(visit);
  };
  visit(file.root);
  return problems;
}

// ---------- Declarations ----------

export interface Declaration {
  readonly kind: 'param' | 'var' | 'output' | 'resource' | 'module';
  readonly name: string;
  readonly node: Node;
  readonly decorators: readonly string[];
}

const DECLARATION_KINDS: Record<string, Declaration['kind']> = {
  parameter_declaration: 'param',
  variable_declaration: 'var',
  output_declaration: 'output',
  resource_declaration: 'resource',
  module_declaration: 'module',
};

/** Top-level declarations with the names of the decorators written above them. */
export function declarations(file: BicepFile): Declaration[] {
  const result: Declaration[] = [];
  for (const node of file.root.namedChildren) {
    const kind = DECLARATION_KINDS[node.type];
    if (!kind) continue;
    const name = node.namedChildren[0]?.text ?? '';
    result.push({ kind, name, node, decorators: decoratorNames(node) });
  }
  return result;
}

function decoratorNames(node: Node): string[] {
  const previous = node.previousNamedSibling;
  if (previous?.type !== 'decorators') return [];
  return previous.namedChildren.map((decorator) => {
    const call = decorator.namedChildren[0];
    const callee = call?.type === 'call_expression' ? call.childForFieldName('function') : call;
    return (callee?.text ?? '').replace(/^sys\./, '');
  });
}

export function declaration(file: BicepFile, kind: Declaration['kind'], name: string): Declaration | undefined {
  return declarations(file).find((d) => d.kind === kind && d.name === name);
}

/** The expression after `=` of a param default, var, output or module. */
export function declaredValue(decl: Declaration): Node | undefined {
  const children = decl.node.namedChildren;
  if (decl.kind === 'param') return children.length > 2 ? children[children.length - 1] : undefined;
  return children[children.length - 1];
}

// ---------- Resources ----------

export interface Resource {
  readonly symbol: string;
  /** Full type, e.g. Microsoft.Web/sites/config for a child declared inside its parent. */
  readonly type: string;
  readonly apiVersion: string;
  readonly existing: boolean;
  readonly conditional: boolean;
  readonly loop: boolean;
  /** The object literal after `=` (inside `if` or `for` when present). */
  readonly body: Node | undefined;
  readonly node: Node;
}

/** Every resource of the file, nested children included. */
export function resources(file: BicepFile): Resource[] {
  const result: Resource[] = [];
  const visit = (node: Node, parent: Resource | undefined): void => {
    if (node.type === 'resource_declaration') {
      const resource = toResource(node, parent);
      result.push(resource);
      resource.body?.namedChildren.forEach((property) => property.namedChildren.forEach((child) => visit(child, resource)));
      return;
    }
    node.namedChildren.forEach((child) => visit(child, parent));
  };
  visit(file.root, undefined);
  return result;
}

function toResource(node: Node, parent: Resource | undefined): Resource {
  const [symbolNode, typeNode] = node.namedChildren;
  const [typeName = '', declaredVersion] = (stringValue(typeNode) ?? '').split('@');
  const value = node.namedChildren[node.namedChildren.length - 1];
  const body = value ? bodyObject(value) : undefined;
  const nested = parent !== undefined && !typeName.includes('/');
  return {
    symbol: symbolNode?.text ?? '',
    type: nested ? `${parent.type}/${typeName}` : typeName,
    apiVersion: declaredVersion ?? parent?.apiVersion ?? '',
    existing: node.children.some((child) => child.type === 'existing'),
    conditional: value?.type === 'if_statement' || (value?.type === 'for_statement' && value.descendantsOfType('if_statement').length > 0),
    loop: value?.type === 'for_statement',
    body,
    node,
  };
}

function bodyObject(value: Node): Node | undefined {
  if (value.type === 'object') return value;
  if (value.type === 'if_statement') return value.namedChildren.find((n) => n.type === 'object');
  if (value.type === 'for_statement') {
    const body = value.childForFieldName('body');
    return body ? bodyObject(body) : undefined;
  }
  return undefined;
}

export function resourcesOfType(file: BicepFile, type: string): Resource[] {
  return resources(file).filter((r) => r.type.toLowerCase() === type.toLowerCase());
}

// ---------- Objects and values ----------

export function propertyKey(property: Node): string | undefined {
  const key = property.namedChildren[0];
  if (!key) return undefined;
  return key.type === 'identifier' ? key.text : stringValue(key);
}

/** The value of `path` (dotted) inside an object literal, if written as nested literals. */
export function property(object: Node | undefined, path: string): Node | undefined {
  let current = object;
  for (const segment of path.split('.')) {
    if (current?.type !== 'object') return undefined;
    const match: Node | undefined = current.namedChildren.find((p) => p.type === 'object_property' && propertyKey(p) === segment);
    current = match?.namedChildren[match.namedChildren.length - 1];
  }
  return current;
}

/** A string literal's value; interpolations become `*` (or the given placeholder). */
export function stringValue(node: Node | undefined | null, placeholder = '*'): string | undefined {
  if (!node || node.type !== 'string') return undefined;
  let value = '';
  for (const part of node.namedChildren) {
    if (part.type === 'string_content') value += part.text;
    else if (part.type === 'escape_sequence') value += unescape(part.text);
    else if (part.type === 'interpolation') value += placeholder;
  }
  // Multi-line strings ('''...''') hold their text directly.
  if (node.namedChildCount === 0 && node.text.startsWith("'''")) value = node.text.slice(3, -3);
  return value;
}

function unescape(sequence: string): string {
  const map: Record<string, string> = { "\\'": "'", '\\\\': '\\', '\\n': '\n', '\\r': '\r', '\\t': '\t', '\\$': '$' };
  return map[sequence] ?? sequence;
}

export type Literal = string | number | boolean | null;

/** The value of a literal expression; undefined for anything computed. */
export function literal(node: Node | undefined): Literal | undefined {
  if (!node) return undefined;
  switch (node.type) {
    case 'string':
      return node.descendantsOfType('interpolation').length > 0 ? undefined : stringValue(node);
    case 'number':
      return Number(node.text);
    case 'boolean':
      return node.text === 'true';
    case 'null':
      return null;
    default:
      return undefined;
  }
}

export function callName(node: Node | undefined): string | undefined {
  if (node?.type !== 'call_expression') return undefined;
  return node.childForFieldName('function')?.text.replace(/^(az|sys)\./, '');
}

export function callArguments(node: Node): Node[] {
  return node.childForFieldName('arguments')?.namedChildren ?? [];
}

/** Follows an identifier to the value of the `var` it names (once per name, no cycles). */
export function resolveVariable(file: BicepFile, node: Node, seen: Set<string> = new Set()): Node {
  if (node.type !== 'identifier' || seen.has(node.text)) return node;
  const decl = declaration(file, 'var', node.text);
  const value = decl && declaredValue(decl);
  if (!value) return node;
  seen.add(node.text);
  return resolveVariable(file, value, seen);
}
