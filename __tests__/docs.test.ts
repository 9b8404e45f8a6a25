/**
 * The documents hold together: every link and anchor in README.md and docs/ resolves, every
 * anchor a message, template or script sends the operator to exists, and the roster reference
 * documents every field the schema accepts and every Terraform variable.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { z } from "zod";
import { VARIABLES } from "../src/constructs/inputs";
import { GUIDE_LINKS } from "../src/naming";
import { rosterSchema } from "../src/roster/schema";
import { DOCUMENTS, firstCells, headingsOf, readDoc, sectionAt } from "./helpers/docs";
import { linksOf } from "./helpers/docs";
import { PROJECT_ROOT } from "./helpers/fleet";

const anchorsOf = (path: string) => new Set(headingsOf(readDoc(path)).map((h) => h.anchor));

describe("links in README.md and docs/", () => {
  it.each(DOCUMENTS)("%s: every relative link names a file that exists, and every #anchor a heading of it", (doc) => {
    const broken = linksOf(readDoc(doc))
      .filter(({ target }) => !/^[a-z]+:/.test(target))
      .filter(({ target }) => {
        const [path, anchor] = target.split("#");
        const file = path === "" ? doc : normalize(join(dirname(doc), path));
        if (!existsSync(join(PROJECT_ROOT, file))) return true;
        return anchor !== undefined && !(file.endsWith(".md") && anchorsOf(file).has(anchor));
      });
    expect(broken).toEqual([]);
  });

  it("finds links and anchors where they are (the check above can fail)", () => {
    expect(linksOf("see [x](docs/a.md#b) and `[not](code)`\n```\n[nor](this)\n```")).toEqual([{ target: "docs/a.md#b", line: 1 }]);
    expect(headingsOf("## Change the host's architecture\n## Rehearsal (`npm run rehearse`)\n## A\n## A").map((h) => h.anchor)).toEqual([
      "change-the-hosts-architecture",
      "rehearsal-npm-run-rehearse",
      "a",
      "a-1",
    ]);
  });
});

/** Files under `dir` (recursively) that may name a document for an operator to read. */
function sourcesUnder(dir: string): string[] {
  return readdirSync(join(PROJECT_ROOT, dir), { recursive: true, encoding: "utf8" })
    .map((name) => join(dir, name))
    .filter((path) => statSync(join(PROJECT_ROOT, path)).isFile());
}

describe("anchors that messages, templates and scripts name", () => {
  const sources = ["src", "templates", "rehearse", "tools", "bench", ".ci"].flatMap(sourcesUnder).concat(["main.ts"]);
  const named = sources.flatMap((file) =>
    [...readFileSync(join(PROJECT_ROOT, file), "utf8").matchAll(/\bdocs\/[\w.-]+\.md(?:#[\w-]+)?/g)].map((m) => ({ file, link: m[0] })),
  );

  it("include every procedure the operator guide's links name", () => {
    for (const link of Object.values(GUIDE_LINKS)) expect(named.map((n) => n.link)).toContain(link);
  });

  it("each exists: the document, and the heading of the anchor", () => {
    const missing = named.filter(({ link }) => {
      const [path, anchor] = link.split("#");
      return !existsSync(join(PROJECT_ROOT, path)) || (anchor !== undefined && !anchorsOf(path).has(anchor));
    });
    expect(missing).toEqual([]);
  });

  it("and no source or root file names the README: what they point to lives in a document of docs/, which they name", () => {
    const rootFiles = readdirSync(PROJECT_ROOT, { withFileTypes: true })
      .filter((entry) => entry.isFile() && !["README.md", "package-lock.json"].includes(entry.name))
      .map((entry) => entry.name);
    expect(rootFiles).toEqual(expect.arrayContaining(["roster.yaml", "jest.config.js", "jest.plans.config.js", "main.ts"]));
    const readme = [...sources, ...rootFiles].filter((file) => readFileSync(join(PROJECT_ROOT, file), "utf8").includes("README"));
    expect(readme.map((file) => relative(PROJECT_ROOT, join(PROJECT_ROOT, file)))).toEqual([]);
  });
});

/** Every field path of a zod schema: `host.instanceType`, `developers[].name`, a union's fields of each option. */
function fieldPaths(schema: z.ZodType, prefix = ""): string[] {
  let node = schema;
  while (node instanceof z.ZodOptional || node instanceof z.ZodDefault || node instanceof z.ZodPrefault) node = node.unwrap() as z.ZodType;
  if (node instanceof z.ZodObject) {
    return Object.entries(node.shape as Record<string, z.ZodType>).flatMap(([key, value]) =>
      fieldPaths(value, prefix ? `${prefix}.${key}` : key),
    );
  }
  if (node instanceof z.ZodUnion) return [...new Set((node.options as z.ZodType[]).flatMap((option) => fieldPaths(option, prefix)))];
  if (node instanceof z.ZodArray) {
    const element = fieldPaths(node.element as z.ZodType, `${prefix}[]`);
    return element.length === 1 && element[0] === `${prefix}[]` ? [prefix] : element;
  }
  return [prefix];
}

/** The backquoted names in the first column of the tables under `link`'s heading. */
function documentedIn(link: string): Set<string> {
  return new Set(firstCells(sectionAt(link)).flatMap((cell) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1])));
}

describe("the roster and variables reference", () => {
  const fields = fieldPaths(rosterSchema);

  it("reads every field of the schema, nested and in unions (the walk itself)", () => {
    expect(fields).toEqual(
      expect.arrayContaining([
        "project",
        "availabilityZones",
        "host.instanceType",
        "developers[].name",
        "auth.type",
        "auth.issuer",
        "state.bucket",
      ]),
    );
    expect(fields).not.toContain("developers");
    expect(fields).not.toContain("auth");
  });

  it("documents every roster field the schema declares, by its full path", () => {
    const documented = documentedIn("docs/roster-reference.md#roster-reference");
    expect(fields.filter((field) => !documented.has(field))).toEqual([]);
  });

  it("documents every Terraform variable", () => {
    const documented = documentedIn("docs/roster-reference.md#terraform-variables-plan-time");
    expect(Object.keys(VARIABLES).filter((name) => !documented.has(name))).toEqual([]);
  });
});

describe("README.md", () => {
  const readme = readDoc("README.md");

  it("is read in five minutes: under 250 lines, its first commands the install and the tests", () => {
    expect(readme.split("\n").length).toBeLessThan(250);
    const [commands] = /```sh\n([\s\S]*?)\n```/.exec(readme)!.slice(1);
    expect(commands.split("\n").map((line) => line.split("#")[0].trim())).toEqual(["npm ci && npm run synth", "npm test"]);
  });

  it.each(DOCUMENTS)("%s names no file outside the repository", (doc) => {
    const text = readDoc(doc);
    const mentioned = new Set([...text.matchAll(/\b([\w./-]+\.md)\b/g)].map((m) => m[1]));
    for (const file of mentioned) {
      const found = existsSync(join(PROJECT_ROOT, file)) || existsSync(join(PROJECT_ROOT, dirname(doc), file));
      expect([file, found]).toEqual([file, true]);
    }
    expect(text).not.toMatch(/SPEC\.md|DESIGN\.md|\bSPEC \d|\bthe spec\b|\bthe specification/i);
  });
});
