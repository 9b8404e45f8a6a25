/**
 * No import circles in src: no module reaches itself through the modules it imports, counting
 * type-only imports and re-exports too (a type circle is still two modules that cannot be read,
 * moved or bundled one without the other). TypeScript's own pre-processor reads the import
 * statements, so every form (import type, export from, import()) counts.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

const SRC = join(__dirname, "..", "src");

/** Every TypeScript module under `dir`, by absolute path. */
function modulesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts"))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Each module's imports of other modules of the set (packages are left out). */
function importGraph(modules: readonly string[]): Map<string, string[]> {
  const known = new Set(modules);
  const resolveFrom = (from: string, spec: string) => {
    const base = resolve(dirname(from), spec);
    return [base, `${base}.ts`, join(base, "index.ts")].find((candidate) => known.has(candidate));
  };
  return new Map(
    modules.map((module) => {
      const { importedFiles } = ts.preProcessFile(readFileSync(module, "utf8"), true, true);
      const targets = importedFiles.filter((i) => i.fileName.startsWith(".")).map((i) => resolveFrom(module, i.fileName));
      return [module, [...new Set(targets.filter((t): t is string => t !== undefined))]];
    }),
  );
}

/** The import circles: the strongly connected components of more than one module, or of one that imports itself (Tarjan). */
function circles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (module: string) => {
    index.set(module, next);
    low.set(module, next++);
    stack.push(module);
    for (const target of graph.get(module) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(module, Math.min(low.get(module)!, low.get(target)!));
      } else if (stack.includes(target)) low.set(module, Math.min(low.get(module)!, index.get(target)!));
    }
    if (low.get(module) !== index.get(module)) return;
    const component = stack.splice(stack.indexOf(module));
    if (component.length > 1 || graph.get(module)?.includes(module)) found.push(component.sort());
  };
  for (const module of graph.keys()) if (!index.has(module)) visit(module);
  return found;
}

const circlesUnder = (dir: string) => circles(importGraph(modulesUnder(dir))).map((circle) => circle.map((m) => relative(dir, m)));

describe("import circles", () => {
  it("src has none, type-only imports counted", () => {
    expect(circlesUnder(SRC)).toEqual([]);
  });

  it("are found through type-only imports, re-exports and index modules", () => {
    const dir = mkdtempSync(join(tmpdir(), "import-circles-"));
    try {
      const files: Record<string, string> = {
        "a.ts": 'import type { B } from "./b";\nexport type A = B[];\n',
        "b.ts": 'export { C as B } from "./lib";\n',
        "lib/index.ts": 'import type { A } from "../a";\nexport type C = { a?: A };\n',
        "leaf.ts": 'import type { A } from "./a";\nexport const leaf: A = [];\n',
      };
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(join(dir, dirname(path)), { recursive: true });
        writeFileSync(join(dir, path), text);
      }
      expect(circlesUnder(dir)).toEqual([["a.ts", "b.ts", "lib/index.ts"]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
