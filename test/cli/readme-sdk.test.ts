/**
 * The README's SDK examples work as written, against the package as a project installs it: the
 * client is built from this checkout's sources into a temporary package (this package.json,
 * `dist/client`), which a temporary project has as `node_modules/openkes`. The TypeScript
 * examples type-check under `"module": "NodeNext"` and run against a dev server; the CommonJS
 * `import()` line runs from a CommonJS module, and `moduleResolution: node10` finds the types.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, startCli, type RunningCli } from './run-cli.js';

const run = promisify(execFile);
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

/** The README's code blocks of one language in the SDK section. */
function sdkBlocks(lang: 'ts' | 'js'): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## The TypeScript SDK');
  assert.ok(start >= 0, 'README has the SDK section');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  return [...section.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);
}

/** Runs tsc; a failure shows tsc's own messages. */
async function tsc(project: string): Promise<void> {
  try {
    await run(process.execPath, [TSC, '-p', project], { timeout: 60_000 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    assert.fail(`tsc -p ${project} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

/** A project at dir that has the temporary package as node_modules/openkes. */
function project(dir: string, pkg: string, type: 'module' | 'commonjs', compilerOptions: Record<string, unknown>, source: string): void {
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  symlinkSync(pkg, join(dir, 'node_modules', 'openkes'));
  symlinkSync(join(ROOT, 'node_modules', '@types'), join(dir, 'node_modules', '@types'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true, type }));
  // skipLibCheck (much faster): the sources the declarations come from are type-checked by
  // the build, and NOT_ANY below fails if a declaration of the package did not resolve.
  const options = { target: 'ES2022', strict: true, types: ['node'], outDir: 'out', skipLibCheck: true, ...compilerOptions };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: options, files: ['main.ts'] }));
  writeFileSync(join(dir, 'main.ts'), source);
}

/** Fails to compile when the client is typed `any` (a declaration of the package did not resolve). */
const NOT_ANY = `
// @ts-expect-error: no such method
if (process.env.NEVER) kes.noSuchMethod();
`;

/** The examples, then what uses the second one's functions. */
const HARNESS = `${NOT_ANY}
const sample = process.env.SAMPLE_FILE!;
await encryptFile(kes, sample);
const back = await decryptFile(kes, sample);
console.log(back.equals(await readFile(sample)) ? 'round trip ok' : 'round trip FAILED');
kes.close();
`;

/** A CommonJS module around the README's import() line. */
const commonJs = (line: string) => `import { readFileSync } from 'node:fs';
async function main() {
  ${line.trim()}
  const kes = new KesClient({ endpoints: process.env.KES_SERVER!, apiKey: process.env.KES_API_KEY, ca: readFileSync(process.env.KES_CAPATH!, 'utf8') });
  console.log('version', await kes.version());
  kes.close();${NOT_ANY.replaceAll('\n', '\n  ').trimEnd()}
}
main().catch((err) => { console.error(err); process.exit(1); });
`;

describe('the README SDK examples', () => {
  let tmp: string;
  let pkg: string;
  let server: RunningCli;
  let env: Record<string, string>;
  /** The projects, type-checked (and compiled) in parallel once the package is built. */
  const compiled = new Map<string, Promise<void>>();
  const app = (name: string) => join(tmp, name);

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'kes-readme-sdk-'));
    // The package: this package.json (exports, typesVersions) and dist/client built from src/.
    pkg = join(tmp, 'openkes');
    mkdirSync(pkg);
    copyFileSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
    const build = join(tmp, 'tsconfig.build.json');
    writeFileSync(build, JSON.stringify({
      extends: join(ROOT, 'tsconfig.json'),
      compilerOptions: { outDir: join(pkg, 'dist'), rootDir: join(ROOT, 'src'), sourceMap: false, typeRoots: [join(ROOT, 'node_modules/@types')] },
      include: [],
      files: [join(ROOT, 'src/client/index.ts')],
    }));
    server = startCli(['server', '--dev', '--addr', '127.0.0.1:0']);
    await Promise.all([tsc(build), server.waitFor(/Server is up and running/)]);
    env = Object.fromEntries([...server.stdout().matchAll(/export (KES_\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
    assert.deepEqual(Object.keys(env).sort(), ['KES_API_KEY', 'KES_CAPATH', 'KES_SERVER']);

    const [first, second] = sdkBlocks('ts');
    const [line] = sdkBlocks('js');
    const nodeNext = { module: 'NodeNext', moduleResolution: 'NodeNext' };
    project(app('app'), pkg, 'module', nodeNext, `${first}\n${second}\n${HARNESS}`);
    project(app('app-alone'), pkg, 'module', nodeNext, first ?? '');
    project(app('app-cjs'), pkg, 'commonjs', nodeNext, commonJs(line ?? ''));
    project(app('app-node10'), pkg, 'commonjs', { module: 'CommonJS', moduleResolution: 'node10', noEmit: true }, commonJs(line ?? ''));
    for (const name of ['app', 'app-alone', 'app-cjs', 'app-node10']) {
      const check = tsc(app(name));
      check.catch(() => {}); // awaited by its test
      compiled.set(name, check);
    }
  });

  after(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
    rmSync(tmp, { recursive: true, force: true });
  });

  test('type-check under "module": "NodeNext", create a key, and encrypt and decrypt a file', async () => {
    const blocks = sdkBlocks('ts');
    assert.equal(blocks.length, 2, 'the client example and the envelope encryption example');
    assert.match(blocks[0]!, /from 'openkes\/client'/);
    await compiled.get('app');
    const sample = join(tmp, 'sample.txt');
    writeFileSync(sample, 'the data the key server never sees\n');
    // Twice: the second run finds the key already there (KES_ERR_KEY_EXISTS, handled).
    for (let i = 0; i < 2; i++) {
      const { stdout } = await run(process.execPath, ['out/main.js'], { cwd: app('app'), env: { ...process.env, ...env, SAMPLE_FILE: sample }, timeout: 30_000 });
      assert.equal(stdout, 'my-app\nround trip ok\n', `run ${i + 1}`);
    }
    const sealed = JSON.parse(readFileSync(`${sample}.enc`, 'utf8'));
    assert.equal(Buffer.from(sealed.key, 'base64').length > 32, true, 'the file keeps the encrypted data key only');
  });

  test('the first example also runs on its own', async () => {
    await compiled.get('app-alone');
    const { stdout } = await run(process.execPath, ['out/main.js'], { cwd: app('app-alone'), env: { ...process.env, ...env }, timeout: 20_000 });
    assert.match(stdout, /^my-app\n/m);
  });

  test('CommonJS callers load it with import(), and node10 resolution finds its types', async () => {
    const [line] = sdkBlocks('js');
    assert.ok(line?.includes("await import('openkes/client')"), 'README shows import() for CommonJS');
    await compiled.get('app-node10');
    await compiled.get('app-cjs');
    assert.match(readFileSync(join(app('app-cjs'), 'out/main.js'), 'utf8'), /await import\('openkes\/client'\)/, 'import() stays import() in CommonJS output');
    const { stdout } = await run(process.execPath, ['out/main.js'], { cwd: app('app-cjs'), env: { ...process.env, ...env }, timeout: 20_000 });
    assert.match(stdout, /^version \d+\.\d+\.\d+/);
  });
});
