/**
 * Loads `templates/` once and compiles it with one isolated handlebars environment.
 * `noEscape`: HTML escaping would corrupt shell and YAML. `strict`: a field missing from the
 * view-model throws instead of rendering as an empty string.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { basename, join, relative, sep } from "node:path";
import Handlebars from "handlebars";
import { keepReplacingEarlier } from "../write-atomically";

export const TEMPLATES_DIR = join(__dirname, "..", "..", "templates");
const PARTIALS_DIR = "partials";
const SUFFIX = ".hbs";

const COMPILE_OPTIONS: CompileOptions = { noEscape: true, strict: true };

/** A value as one shell word in single quotes (safe for any content). */
export function shellQuote(value: unknown): string {
  return `'${String(value).replace(/'/g, `'\\''`)}'`;
}

type Template = (context: unknown) => string;

let cache: ReadonlyMap<string, Template> | undefined;

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? listFiles(path) : [path];
  });
}

/**
 * Compiling the templates was a sixth of every synth, so their compiled form is kept in
 * `.build/`, under a hash of handlebars' version, the options and every template's path and
 * text: any edit finds no match and compiles afresh. Handlebars' own precompile/template pair.
 */
const COMPILED_CACHE_DIR = join(__dirname, "..", "..", ".build", "templates");

function compiledSpecs(hb: typeof Handlebars, sources: ReadonlyMap<string, string>): Map<string, TemplateSpecification> {
  const hash = createHash("sha256").update(`${hb.VERSION}\0${JSON.stringify(COMPILE_OPTIONS)}`);
  for (const [name, text] of sources) hash.update(`\0${name}\0${text}`);
  const file = join(COMPILED_CACHE_DIR, `${hash.digest("hex").slice(0, 20)}.js`);
  let source: string | undefined;
  try {
    source = readFileSync(file, "utf8");
  } catch {
    const specs = [...sources].map(([name, text]) => `${JSON.stringify(name)}: ${hb.precompile(text, COMPILE_OPTIONS) as string}`);
    source = `({\n${specs.join(",\n")}\n})`;
    try {
      // Compiled forms of earlier template texts can never match again.
      keepReplacingEarlier(COMPILED_CACHE_DIR, basename(file), source, /^[0-9a-f]{20}\.js$/);
    } catch {
      // A read-only checkout compiles every time; nothing else changes.
    }
  }
  // Handlebars' precompiled form is JavaScript source by design: evaluated, it is the template spec.
  return new Map(Object.entries(new Function(`return ${source};`)() as Record<string, TemplateSpecification>));
}

function load(): ReadonlyMap<string, Template> {
  const hb = Handlebars.create();
  // `{{sh x}}`: a shell word; `{{json x}}`: a JSON value, also a valid YAML double-quoted scalar.
  hb.registerHelper("sh", (value: unknown) => shellQuote(value));
  hb.registerHelper("json", (value: unknown) => JSON.stringify(value));
  // `{{bashvar "NAME" ":-"}}` prints `${NAME:-}`: a literal `${{{` would open a triple-stache.
  hb.registerHelper("bashvar", (name: unknown, suffix: unknown) => `\${${String(name)}${typeof suffix === "string" ? suffix : ""}}`);
  // `(concat a b c)`: the last argument is handlebars' options object.
  hb.registerHelper("concat", (...args: unknown[]) => args.slice(0, -1).join(""));
  const sources = new Map<string, string>();
  for (const file of listFiles(TEMPLATES_DIR).sort()) {
    if (!file.endsWith(SUFFIX)) continue;
    sources.set(relative(TEMPLATES_DIR, file).split(sep).join("/").slice(0, -SUFFIX.length), readFileSync(file, "utf8"));
  }
  const templates = new Map<string, Template>();
  for (const [name, spec] of compiledSpecs(hb, sources)) {
    const compiled = hb.template(spec);
    if (name.startsWith(`${PARTIALS_DIR}/`)) {
      // Registered compiled, so partials get the same strict, unescaped options.
      hb.registerPartial(name.slice(PARTIALS_DIR.length + 1), compiled);
    } else {
      templates.set(name, compiled);
    }
  }
  return templates;
}

/** Renders `templates/<name>.hbs` with the given view. */
export function render(name: string, view: unknown): string {
  cache ??= load();
  const template = cache.get(name);
  if (!template) throw new Error(`no template "${name}${SUFFIX}" in ${TEMPLATES_DIR}`);
  return template(view);
}

/** Names of the (non-partial) templates under a folder, e.g. "scripts". */
export function templateNames(folder: string): string[] {
  cache ??= load();
  return [...cache.keys()].filter((name) => name.startsWith(`${folder}/`));
}
