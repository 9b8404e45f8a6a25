/**
 * Loads `templates/` once and compiles it with one isolated handlebars environment.
 * `noEscape`: HTML escaping would corrupt shell and YAML. `strict`: a field missing from the
 * view-model throws instead of rendering as an empty string.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import Handlebars from "handlebars";

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

function load(): ReadonlyMap<string, Template> {
  const hb = Handlebars.create();
  // `{{sh x}}`: a shell word; `{{json x}}`: a JSON value, also a valid YAML double-quoted scalar.
  hb.registerHelper("sh", (value: unknown) => shellQuote(value));
  hb.registerHelper("json", (value: unknown) => JSON.stringify(value));
  // `{{bashvar "NAME" ":-"}}` prints `${NAME:-}`: a literal `${{{` would open a triple-stache.
  hb.registerHelper("bashvar", (name: unknown, suffix: unknown) => `\${${String(name)}${typeof suffix === "string" ? suffix : ""}}`);
  // `(concat a b c)`: the last argument is handlebars' options object.
  hb.registerHelper("concat", (...args: unknown[]) => args.slice(0, -1).join(""));
  const templates = new Map<string, Template>();
  for (const file of listFiles(TEMPLATES_DIR).sort()) {
    if (!file.endsWith(SUFFIX)) continue;
    const name = relative(TEMPLATES_DIR, file).split(sep).join("/").slice(0, -SUFFIX.length);
    const compiled = hb.compile(readFileSync(file, "utf8"), COMPILE_OPTIONS);
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
