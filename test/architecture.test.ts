// The import rules of the code base, checked the way VS Code's layer lint does
// (STYLE.md "Layering you can see"): every .ts/.vue file under runtime/, main/
// and renderer/ is parsed with the TypeScript compiler and each import is held
// to the rules below. A violation is printed as file:line so it can be fixed
// where it is.
//
//   (a) Electron stays in the shell: nothing under runtime/ imports 'electron'
//       except the one host adapter, runtime/nodes/host-electron.ts; the
//       renderer, tests and benchmarks never load it, not even through a file
//       they import (the Electron binary does not exist where they run).
//   (b) The renderer sees the runtime only through the console API's
//       declarations: runtime/control/api.ts (or runtime/control/api/), and
//       runtime/control/**/*-types.ts.
//   (c) Lower runtime layers never import higher ones, in the order of LAYERS.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import ts from 'typescript';

/** Rank of each runtime/<folder>, lowest first. Folders not listed are not ranked. */
const LAYERS: Readonly<Record<string, number>> = {
  gsm: 0,
  objects: 1,
  log: 2,
  membership: 3,
  nodes: 3,
  cluster: 4,
  sdk: 5,
  apps: 6,
  debugger: 3,
  control: 8,
  cli: 9,
};

/** The only runtime file allowed to import Electron (BRIEF §2: "one small host adapter"). */
const ELECTRON_HOST_ADAPTER = 'runtime/nodes/host-electron.ts';

/** Trees whose files must never load Electron, directly or through what they import. */
const ELECTRON_FREE_TREES = ['renderer/', 'test/', 'bench/'];

const SOURCE_EXTENSIONS = ['.ts', '.mts', '.cts', '.tsx', '.vue'];

interface ImportRef {
  specifier: string;
  line: number;
  /** Erased at run time (`import type`, `export type`, `import('x').T`): cannot load a module. */
  typeOnly: boolean;
}

interface Violation {
  file: string;
  line: number;
  message: string;
}

const isElectron = (specifier: string) => specifier === 'electron' || specifier.startsWith('electron/');

/** The script blocks of a .vue file, each with the 0-based line it starts on. */
function scriptBlocks(source: string): { code: string; firstLine: number }[] {
  const blocks: { code: string; firstLine: number }[] = [];
  for (const m of source.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)) {
    const start = (m.index ?? 0) + m[0].indexOf('>') + 1;
    blocks.push({ code: m[1] ?? '', firstLine: source.slice(0, start).split('\n').length - 1 });
  }
  return blocks;
}

/** Every module specifier a file names: static and dynamic imports, re-exports, require(), import types. */
function importsOf(file: string, source: string): ImportRef[] {
  const blocks = file.endsWith('.vue') ? scriptBlocks(source) : [{ code: source, firstLine: 0 }];
  const refs: ImportRef[] = [];
  for (const { code, firstLine } of blocks) {
    const sf = ts.createSourceFile(file, code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TSX);
    const add = (lit: ts.Node, typeOnly: boolean) => {
      if (!ts.isStringLiteralLike(lit)) return;
      const line = firstLine + sf.getLineAndCharacterOfPosition(lit.getStart(sf)).line + 1;
      refs.push({ specifier: lit.text, line, typeOnly });
    };
    const visit = (node: ts.Node) => {
      if (ts.isImportDeclaration(node)) {
        const clause = node.importClause;
        const allTypes =
          !!clause &&
          (clause.isTypeOnly ||
            (!clause.name &&
              !!clause.namedBindings &&
              ts.isNamedImports(clause.namedBindings) &&
              clause.namedBindings.elements.length > 0 &&
              clause.namedBindings.elements.every((e) => e.isTypeOnly)));
        add(node.moduleSpecifier, allTypes);
      } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
        add(node.moduleSpecifier, node.isTypeOnly);
      } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
        add(node.moduleReference.expression, node.isTypeOnly);
      } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
        add(node.argument.literal, true);
      } else if (
        ts.isCallExpression(node) &&
        (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
          (ts.isIdentifier(node.expression) && node.expression.text === 'require')) &&
        node.arguments[0]
      ) {
        add(node.arguments[0], false);
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return refs;
}

/** The repo-relative path a relative specifier points at (no extension resolution). */
function target(file: string, specifier: string): string | null {
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return null;
  return path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
}

/** The existing source file a relative import loads, trying TypeScript's extensionless and .js spellings. */
function resolveSource(file: string, specifier: string, exists: (p: string) => boolean): string | null {
  const base = target(file, specifier);
  if (base === null) return null;
  const stem = base.replace(/\.(m|c)?js$/, '');
  const candidates = [base, ...SOURCE_EXTENSIONS.map((e) => stem + e), ...SOURCE_EXTENSIONS.map((e) => `${base}/index${e}`)];
  return candidates.find((c) => SOURCE_EXTENSIONS.some((e) => c.endsWith(e)) && exists(c)) ?? null;
}

/** runtime/<folder>/... → folder, else null. */
function runtimeFolder(p: string): string | null {
  const m = /^runtime\/([^/]+)\//.exec(p);
  return m ? m[1]! : null;
}

function rendererMayImport(p: string): boolean {
  if (!p.startsWith('runtime/control/')) return false;
  const name = path.posix.basename(p).replace(/\.(ts|js|mts|mjs)$/, '');
  return (
    p === 'runtime/control/api' ||
    p.startsWith('runtime/control/api/') ||
    name === 'api' ||
    name.endsWith('-types')
  );
}

/**
 * Checks the rules over a set of files (repo-relative path → source text).
 * Pure: the repository test feeds it the tree, the rule tests feed it fixtures.
 */
function checkArchitecture(files: ReadonlyMap<string, string>): Violation[] {
  const violations: Violation[] = [];
  const imports = new Map([...files].map(([file, source]) => [file, importsOf(file, source)] as const));
  const exists = (p: string) => files.has(p);

  for (const [file, refs] of imports) {
    const folder = runtimeFolder(file);
    for (const ref of refs) {
      const at = { file, line: ref.line };
      // (a) Electron only in main/ and the host adapter.
      if (isElectron(ref.specifier) && file.startsWith('runtime/') && file !== ELECTRON_HOST_ADAPTER) {
        violations.push({ ...at, message: `imports '${ref.specifier}': only ${ELECTRON_HOST_ADAPTER} may use Electron in runtime/` });
      }
      const to = target(file, ref.specifier);
      if (to === null) continue;
      // (b) The renderer reaches the runtime only through the console API declarations.
      if (file.startsWith('renderer/') && to.startsWith('runtime/') && !rendererMayImport(to)) {
        violations.push({
          ...at,
          message: `imports ${to}: the renderer may import only runtime/control/api and runtime/control/**/*-types.ts`,
        });
      }
      // (c) No upward imports between ranked runtime layers.
      const toFolder = runtimeFolder(to);
      if (folder && toFolder && folder in LAYERS && toFolder in LAYERS && LAYERS[toFolder]! > LAYERS[folder]!) {
        violations.push({
          ...at,
          message: `runtime/${folder} (layer ${LAYERS[folder]}) imports ${to} from the higher layer runtime/${toFolder} (layer ${LAYERS[toFolder]})`,
        });
      }
    }
  }

  // (a) continued: files that would load Electron when run, following value imports.
  const loadsElectron = new Map<string, string | null>(); // file → chain to electron, or null
  const chainToElectron = (file: string, seen: Set<string>): string | null => {
    if (loadsElectron.has(file)) return loadsElectron.get(file)!;
    if (seen.has(file)) return null;
    seen.add(file);
    let chain: string | null = null;
    for (const ref of imports.get(file) ?? []) {
      if (ref.typeOnly) continue;
      if (isElectron(ref.specifier)) {
        chain = `${file}:${ref.line} → '${ref.specifier}'`;
        break;
      }
      const next = resolveSource(file, ref.specifier, exists);
      const sub = next && chainToElectron(next, seen);
      if (sub) {
        chain = `${file}:${ref.line} → ${sub}`;
        break;
      }
    }
    loadsElectron.set(file, chain);
    return chain;
  };
  for (const file of imports.keys()) {
    if (!ELECTRON_FREE_TREES.some((t) => file.startsWith(t))) continue;
    const chain = chainToElectron(file, new Set());
    if (chain) {
      const line = Number(/^[^:]+:(\d+)/.exec(chain)?.[1] ?? 1);
      violations.push({ file, line, message: `loads Electron, which cannot run here: ${chain}` });
    }
  }
  return violations.sort((x, y) => x.file.localeCompare(y.file) || x.line - y.line);
}

const format = (v: Violation) => `${v.file}:${v.line}: ${v.message}`;

// ---------------------------------------------------------------------------

const root = path.resolve(import.meta.dirname, '..');

function collect(dir: string, out: Map<string, string>): void {
  const full = path.join(root, dir);
  if (!existsSync(full)) return;
  for (const entry of readdirSync(full)) {
    if (entry === 'node_modules' || entry === 'build' || entry.startsWith('.')) continue;
    const rel = `${dir}/${entry}`;
    if (statSync(path.join(root, rel)).isDirectory()) collect(rel, out);
    else if (SOURCE_EXTENSIONS.some((e) => entry.endsWith(e)) && !entry.endsWith('.d.ts')) {
      out.set(rel, readFileSync(path.join(root, rel), 'utf8'));
    }
  }
}

describe('architecture: import rules', () => {
  test('the repository follows the import rules (each violation printed as file:line)', () => {
    const files = new Map<string, string>();
    for (const dir of ['runtime', 'main', 'renderer', 'test', 'bench']) collect(dir, files);
    assert.ok([...files.keys()].some((f) => f.startsWith('main/')), 'found no files to check: wrong root?');
    const violations = checkArchitecture(files);
    for (const v of violations) console.log(format(v));
    assert.equal(violations.length, 0, `${violations.length} import rule violation(s):\n${violations.map(format).join('\n')}`);
  });

  describe('the checker itself', () => {
    const check = (files: Record<string, string>) => checkArchitecture(new Map(Object.entries(files))).map(format);

    test('finds every import form, with its line, and skips comments, strings and regexes', () => {
      const src = [
        "import a from 'a';", // 1
        "import type { B } from './b';", // 2
        "export * from './c';", // 3
        "const re = /[\"']/; import d from 'd';", // 4
        '// import e from "e";', // 5
        "const s = `import f from 'f'`;", // 6
        "const g = await import('g');", // 7
        "const h = require('h');", // 8
        "type I = import('i').I;", // 9
        "import { type J, type K } from 'jk';", // 10
      ].join('\n');
      assert.deepEqual(
        importsOf('x.ts', src).map((r) => `${r.specifier}@${r.line}${r.typeOnly ? ':type' : ''}`),
        ['a@1', './b@2:type', './c@3', 'd@4', 'g@7', 'h@8', 'i@9:type', 'jk@10:type'],
      );
      const vue = "<template><p/></template>\n<script setup lang=\"ts\">\nimport x from '../runtime/gsm/gsm';\n</script>\n";
      assert.deepEqual(importsOf('renderer/A.vue', vue), [{ specifier: '../runtime/gsm/gsm', line: 3, typeOnly: false }]);
    });

    test('(a) Electron in runtime/ only in the host adapter; never loaded by renderer, tests or benchmarks', () => {
      assert.deepEqual(
        check({
          'runtime/nodes/host-electron.ts': "import { utilityProcess } from 'electron';",
          'runtime/nodes/spawn.ts': "\nimport { app } from 'electron/main';",
          'main/index.ts': "import { app } from 'electron';",
          'main/types.ts': "import type { App } from 'electron';",
          'test/ok.test.ts': "import type { X } from '../main/types';\nimport { y } from '../main/types';",
          'test/bad.test.ts': "import '../main/index';",
        }),
        [
          "runtime/nodes/spawn.ts:2: imports 'electron/main': only runtime/nodes/host-electron.ts may use Electron in runtime/",
          "test/bad.test.ts:1: loads Electron, which cannot run here: test/bad.test.ts:1 → main/index.ts:1 → 'electron'",
        ],
      );
    });

    test('(b) the renderer imports from runtime/ only the console API declarations', () => {
      assert.deepEqual(
        check({
          'renderer/src/a.ts': [
            "import type { Api } from '../../runtime/control/api';",
            "import { schema } from '../../runtime/control/api/nodes';",
            "import type { T } from '../../runtime/control/status-types';",
            "import { feed } from '../../runtime/control/status-feed';",
            "import { Gsm } from '../../runtime/gsm/gsm';",
          ].join('\n'),
        }),
        [
          'renderer/src/a.ts:4: imports runtime/control/status-feed: the renderer may import only runtime/control/api and runtime/control/**/*-types.ts',
          'renderer/src/a.ts:5: imports runtime/gsm/gsm: the renderer may import only runtime/control/api and runtime/control/**/*-types.ts',
        ],
      );
    });

    test('(c) a lower runtime layer never imports a higher one; equal ranks and unranked folders pass', () => {
      assert.deepEqual(
        check({
          'runtime/gsm/gsm.ts': "import { Section } from '../objects/section';",
          'runtime/objects/section.ts': "import { Gsm } from '../gsm/gsm';\nimport type { Log } from '../log/ring';",
          'runtime/membership/view.ts': "import { spawn } from '../nodes/spawn';",
          'runtime/nodes/spawn.ts': "import { view } from '../membership/view';",
          'runtime/misc/util.ts': "import { cli } from '../cli/main';",
          'runtime/cli/main.ts': "import { x } from '../control/api';\nimport { y } from '../misc/util';",
        }),
        [
          'runtime/gsm/gsm.ts:1: runtime/gsm (layer 0) imports runtime/objects/section from the higher layer runtime/objects (layer 1)',
          'runtime/objects/section.ts:2: runtime/objects (layer 1) imports runtime/log/ring from the higher layer runtime/log (layer 2)',
        ],
      );
    });
  });
});
