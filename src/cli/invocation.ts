/**
 * How a user runs this very CLI from any folder, for the commands the CLI prints (the dev
 * banner): `kes` when the shell finds this program under that name, else node with absolute
 * paths. Never `npx kes`: outside this repository npx runs another package named kes.
 */
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

/** `word` as one shell word: as is when it is plain, else in single quotes. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

const realpath = (path: string): string | undefined => {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
};

/**
 * The first executable file `name` in PATH's folders, as the user's shell finds it. Folders
 * inside a node_modules folder do not count: npx and npm scripts put them on PATH for their child
 * only (npx even links the current package's own bins there), and they serve one project only.
 */
export function onPath(name: string, path: string | undefined): string | undefined {
  for (const dir of (path ?? '').split(delimiter)) {
    if (!isAbsolute(dir) || dir.split(sep).includes('node_modules')) continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Node options that load code this script needs (e.g. tsx), with their module made absolute. */
const LOADER_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);

function loaderOptions(execArgv: readonly string[], cwd: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (!LOADER_FLAGS.has(flag)) continue;
    const value = flag === arg ? execArgv[++i] : arg.slice(eq + 1);
    if (value === undefined) continue;
    out.push(flag, absoluteModule(value, flag === '--require' || flag === '-r', cwd));
  }
  return out;
}

/** A module specifier that Node resolved against the starting folder, made to work from any folder. */
function absoluteModule(specifier: string, commonjs: boolean, cwd: string): string {
  if (isAbsolute(specifier) || /^[a-z][a-z0-9+.-]*:/i.test(specifier)) return specifier;
  if (specifier.startsWith('.')) return commonjs ? resolve(cwd, specifier) : pathToFileURL(resolve(cwd, specifier)).href;
  try {
    // A package name (`--import tsx`): found from this checkout's node_modules, as Node found it.
    return import.meta.resolve(specifier);
  } catch {
    return specifier;
  }
}

/**
 * How to run this very CLI from any folder: `kes` (or `openkes`) when the one the shell finds on
 * PATH is this program, else node with the absolute path of this script (and of the loaders it
 * was started with, e.g. tsx). Never `npx kes`: outside this repository npx runs another package.
 */
export function cliInvocation({
  path = process.env.PATH,
  script = process.argv[1],
  execPath = process.execPath,
  execArgv = process.execArgv,
  cwd = process.cwd(),
}: { path?: string; script?: string; execPath?: string; execArgv?: readonly string[]; cwd?: string } = {}): string {
  const self = script === undefined ? undefined : realpath(script);
  if (self === undefined) return 'kes';
  for (const name of ['kes', 'openkes']) {
    const found = onPath(name, path);
    if (found !== undefined && realpath(found) === self) return name;
  }
  const node = onPath('node', path);
  const nodeWord = node !== undefined && realpath(node) === realpath(execPath) ? 'node' : execPath;
  return [nodeWord, ...loaderOptions(execArgv, cwd), self].map(shellWord).join(' ');
}
