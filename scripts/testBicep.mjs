// `npm run test:bicep`: the real Bicep compiler over infra/. The CLI comes from NuGet
// (Azure.Bicep.CommandLine.<rid>, version pinned in scripts/bicep/bicep-cli.csproj) through a
// download-only `dotnet restore` into .tools/ (ignored by git). Every file is built with
// `bicep build`, then linted with `bicep lint` and infra/bicepconfig.json, whose rules that matter
// are errors. app/entra.bicep needs the Microsoft Graph extension from a registry that cannot be
// reached offline: main.bicep is compiled against a stub with its parameters and outputs, and the
// real file stays under the grammar checks of test/infra.
//
// Fails (exit 1) on an error diagnostic or when the compiler cannot be obtained or run.
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { graphModuleStub } from './bicep/graphStub.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const PROJECT = join(ROOT, 'scripts/bicep/bicep-cli.csproj');
const PACKAGES = join(ROOT, '.tools/nuget');
const STAGE = join(ROOT, '.tools/bicep-stage');
const INFRA = join(ROOT, 'infra');
const GRAPH_MODULE = 'app/entra.bicep';
const RESTORE_TIMEOUT_MS = 300_000;
const BICEP_TIMEOUT_MS = 300_000;

function fail(message) {
  console.error(`test:bicep: ${message}`);
  process.exit(1);
}

function run(command, args, timeout) {
  return new Promise((resolvePromise) => {
    execFile(command, args, { cwd: ROOT, timeout, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolvePromise({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, error, stdout, stderr });
    });
  });
}

/** NuGet's runtime id for this machine: the CLI ships one package per platform. */
function runtimeId() {
  const os = { linux: 'linux', darwin: 'osx', win32: 'win' }[platform()];
  const cpu = { x64: 'x64', arm64: 'arm64' }[arch()];
  if (!os || !cpu) fail(`no Bicep CLI package for ${platform()}-${arch()}`);
  return `${os}-${cpu}`;
}

async function obtainBicep() {
  const version = /<BicepVersion>([^<]+)<\/BicepVersion>/.exec(readFileSync(PROJECT, 'utf8'))?.[1];
  if (!version) fail('scripts/bicep/bicep-cli.csproj names no BicepVersion');
  const rid = runtimeId();
  const packageId = `Azure.Bicep.CommandLine.${rid}`;
  const binary = join(PACKAGES, packageId.toLowerCase(), version, 'tools', rid.startsWith('win') ? 'bicep.exe' : 'bicep');
  if (!existsSync(binary)) {
    console.log(`test:bicep: restoring ${packageId} ${version} from NuGet`);
    const restore = await run('dotnet', ['restore', PROJECT, '--packages', PACKAGES, `-p:BicepRuntime=${rid}`, '--nologo', '-v', 'q'], RESTORE_TIMEOUT_MS);
    if (restore.error?.code === 'ENOENT') fail('`dotnet` is not on PATH: the .NET SDK is needed to obtain the Bicep CLI');
    if (restore.code !== 0) fail(`dotnet restore of ${packageId} ${version} failed (exit ${restore.code}):\n${(restore.stdout + restore.stderr).trim()}`);
    if (!existsSync(binary)) fail(`the restored package has no ${relative(ROOT, binary)}`);
  }
  // NuGet keeps the file mode of the package; make sure the CLI can run.
  if (!rid.startsWith('win')) chmodSync(binary, 0o755);
  const probe = await run(binary, ['--version'], 60_000);
  if (probe.code !== 0) fail(`${relative(ROOT, binary)} --version failed (exit ${probe.code}): ${(probe.stdout + probe.stderr).trim()}`);
  console.log(`test:bicep: ${probe.stdout.trim()}`);
  return binary;
}

/** A copy of infra/ whose Graph module is the stub: what `bicep build` can compile offline. */
function stageInfra() {
  rmSync(STAGE, { recursive: true, force: true });
  mkdirSync(STAGE, { recursive: true });
  cpSync(INFRA, join(STAGE, 'infra'), { recursive: true });
  writeFileSync(join(STAGE, 'infra', GRAPH_MODULE), graphModuleStub(readFileSync(join(INFRA, GRAPH_MODULE), 'utf8')));
  return join(STAGE, 'infra');
}

const DIAGNOSTIC = /^(.*?)\((\d+),(\d+)\) : (Error|Warning|Info) ([\w-]+): (.*)$/;

function diagnostics(output, stagedInfra) {
  return output
    .split('\n')
    .map((line) => DIAGNOSTIC.exec(line.trim()))
    .filter(Boolean)
    .map(([, path, line, column, level, code, message]) => {
      const file = `infra/${relative(stagedInfra, path).split('\\').join('/')}`;
      return { file: file === `infra/${GRAPH_MODULE}` ? `${file} (stub)` : file, line: Number(line), column: Number(column), level, code, message };
    });
}

const bicep = await obtainBicep();
const staged = stageInfra();
const pattern = join(staged, '**', '*.bicep');
const config = join(staged, 'bicepconfig.json');

const found = [];
const steps = [
  ['build', ['build', '--pattern', pattern, '--no-restore']],
  ['lint', ['lint', '--pattern', pattern, '--no-restore', '--config', config]],
];
const files = new Set();
let failedSteps = 0;
for (const [name, args] of steps) {
  const result = await run(bicep, args, BICEP_TIMEOUT_MS);
  const seen = diagnostics(`${result.stdout}\n${result.stderr}`, staged);
  const errors = seen.filter((d) => d.level === 'Error');
  if (result.code !== 0 && errors.length === 0) {
    console.error(`test:bicep: bicep ${name} exited ${result.code}:\n${(result.stdout + result.stderr).trim()}`);
    failedSteps++;
  }
  for (const d of seen) found.push({ step: name, ...d });
}

// Every file, as built: main.bicep, the modules, the Graph stub.
const built = (await run('find', [staged, '-name', '*.bicep'], 30_000)).stdout.split('\n').filter(Boolean);
for (const path of built) files.add(`infra/${relative(staged, path)}`);
const unique = [...new Map(found.map((d) => [`${d.file}:${d.line}:${d.column}:${d.code}:${d.level}`, d])).values()];
for (const d of unique) console.log(`${d.level.toLowerCase()} ${d.file}:${d.line}:${d.column} ${d.code}: ${d.message}`);

const failedFiles = new Set(unique.filter((d) => d.level === 'Error').map((d) => d.file.replace(' (stub)', '')));
const missingJson = built.filter((path) => !existsSync(path.replace(/\.bicep$/, '.json')));
for (const path of missingJson) {
  console.error(`test:bicep: no ARM template was written for infra/${relative(staged, path)}`);
  failedFiles.add(`infra/${relative(staged, path)}`);
}
const warnings = unique.filter((d) => d.level === 'Warning').length;
console.log(`test:bicep: built and linted ${files.size} files (${GRAPH_MODULE} as its stub; the real one is checked by the grammar tests), ${failedFiles.size} with errors, ${warnings} warnings`);
const failed = failedFiles.size + failedSteps;
console.log(`bicep: ${files.size - failedFiles.size} passed, ${failed} failed`);
process.exit(failed > 0 || files.size === 0 ? 1 : 0);
