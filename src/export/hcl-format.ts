/**
 * Indents and aligns the HCL that hcl.ts writes exactly as `terraform fmt` (hclwrite's Format)
 * would: two spaces per open bracket level, and the `=` of consecutive single-line attributes
 * lined up. It does this for the output of hcl.ts only (unindented lines, canonical spacing,
 * no comments outside heredocs), not for HCL in general; hcl-format.test.ts compares it with
 * Terraform's own formatter (through @cdktf/hcl-tools) on a whole stack, and the offline
 * terraform test runs `terraform fmt -check` on the export.
 *
 * Why not call the formatter: loading its WebAssembly and formatting took two thirds of the
 * export, which the cdktf app step now runs on every synth.
 */

/** One logical line as the formatter sees it: a heredoc, from `<<EOT` to `EOT`, is part of one. */
interface FormatLine {
  /** The physical lines, unindented (a heredoc's body verbatim). */
  readonly text: string[];
  /** Net count of brackets opened, up to a heredoc opener. */
  readonly netBrackets: number;
  /** Index in text[0] of the `=` that makes it an attribute line, when it is one. */
  readonly assignAt?: number;
}

const OPEN = "([{";
const CLOSE = ")]}";

interface Scan {
  /** Net brackets opened, counted outside strings and up to a heredoc opener. */
  net: number;
  /** Index of the first `=` that is an assignment (not part of ==, !=, <=, >=, =>), outside strings. */
  firstAssign?: number;
  /** Net brackets from `firstAssign` on. */
  netAfterAssign: number;
  /** The heredoc's closing marker, if the line opens one. */
  heredoc?: string;
}

/** Scans one physical line of HCL, skipping quoted strings (with their `${...}` interpolations). */
function scan(line: string): Scan {
  const result: Scan = { net: 0, netAfterAssign: 0 };
  let i = 0;
  const count = (delta: number) => {
    result.net += delta;
    if (result.firstAssign !== undefined) result.netAfterAssign += delta;
  };
  const skipString = () => {
    // At an opening quote: skip to just past its closing quote.
    i++;
    while (i < line.length && line[i] !== '"') {
      if (line[i] === "\\") i += 2;
      else if (line.startsWith("${", i) || line.startsWith("%{", i)) skipTemplate();
      else i++;
    }
    i++;
  };
  const skipTemplate = () => {
    // At `${`: skip to just past the matching `}`, strings inside included.
    i += 2;
    let depth = 1;
    while (i < line.length && depth > 0) {
      const c = line[i];
      if (c === '"') skipString();
      else {
        if (c === "{") depth++;
        else if (c === "}") depth--;
        i++;
      }
    }
  };
  while (i < line.length) {
    const c = line[i];
    if (c === '"') {
      skipString();
      continue;
    }
    const heredoc = /^<<-?([A-Za-z_][A-Za-z0-9_]*)$/.exec(line.slice(i));
    if (heredoc) {
      result.heredoc = heredoc[1];
      break;
    }
    if (OPEN.includes(c)) count(1);
    else if (CLOSE.includes(c)) count(-1);
    else if (c === "=" && result.firstAssign === undefined && i > 0) {
      const before = line[i - 1];
      const after = line[i + 1];
      if (after !== "=" && after !== ">" && !"=!<>".includes(before)) result.firstAssign = i;
    }
    i++;
  }
  return result;
}

type Token = { readonly kind: "string" | "space" | "{" | "}" | "open" | "close" | "," | "text"; readonly text: string };

/** The tokens of one line, a quoted string (interpolations and all) being one. */
function tokens(line: string): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < line.length;) {
    const c = line[i];
    const start = i;
    if (c === '"') {
      i++;
      let depth = 0;
      while (i < line.length && !(line[i] === '"' && depth === 0)) {
        if (line[i] === "\\") i++;
        else if (line.startsWith("${", i) || line.startsWith("%{", i)) {
          depth++;
          i++;
        } else if (line[i] === "}" && depth > 0) depth--;
        else if (line[i] === '"') {
          // A string inside an interpolation: skip it whole.
          i++;
          while (i < line.length && line[i] !== '"') i += line[i] === "\\" ? 2 : 1;
        }
        i++;
      }
      out.push({ kind: "string", text: line.slice(start, ++i) });
    } else if (/\s/.test(c)) {
      while (i < line.length && /\s/.test(line[i])) i++;
      out.push({ kind: "space", text: line.slice(start, i) });
    } else if (c === "{" || c === "}" || c === ",") {
      out.push({ kind: c, text: c });
      i++;
    } else if (c === "[" || c === "(") {
      out.push({ kind: "open", text: c });
      i++;
    } else if (c === "]" || c === ")") {
      out.push({ kind: "close", text: c });
      i++;
    } else {
      while (i < line.length && !/[\s"{}[\](),]/.test(line[i])) i++;
      out.push({ kind: "text", text: line.slice(start, i) });
    }
  }
  return out;
}

/**
 * hclwrite's spacing between tokens, for the expressions cdktf writes inline (object
 * constructors in jsonencode, lists in conditions): one space inside non-empty braces and after a
 * comma; none inside brackets and parentheses or before a comma; elsewhere as written.
 */
function normalizeSpacing(line: string): string {
  const all = tokens(line);
  let out = "";
  let previous: Token | undefined;
  let spaced = false;
  for (const token of all) {
    if (token.kind === "space") {
      spaced = true;
      continue;
    }
    if (previous) {
      const space =
        token.kind === ","
          ? false
          : previous.kind === ","
            ? true
            : previous.kind === "{" && token.kind === "}"
              ? false
              : previous.kind === "{" || token.kind === "}"
                ? true
                : previous.kind === "open" || token.kind === "close"
                  ? false
                  : spaced;
      if (space) out += " ";
    }
    out += token.text;
    previous = token;
    spaced = false;
  }
  return out;
}

function formatLines(text: string): FormatLine[] {
  const physical = text.split("\n");
  const lines: FormatLine[] = [];
  for (let i = 0; i < physical.length; i++) {
    const line = normalizeSpacing(physical[i].trimStart());
    const scanned = scan(line);
    const group = [line];
    if (scanned.heredoc) {
      while (i + 1 < physical.length) {
        group.push(physical[++i]);
        if (physical[i].trim() === scanned.heredoc) break;
      }
    }
    const isAssign = scanned.firstAssign !== undefined && scanned.netAfterAssign === 0;
    lines.push({ text: group, netBrackets: scanned.net, assignAt: isAssign ? scanned.firstAssign : undefined });
  }
  return lines;
}

/** `text` (as hcl.ts writes it) formatted as `terraform fmt` would. */
export function formatHcl(text: string): string {
  const lines = formatLines(text);

  // Indentation: a line that opens brackets is indented at the current level and starts a new
  // one; a line that closes them ends as many levels as it closes (hclwrite's formatIndent).
  const indents: number[] = [];
  const indentOf: number[] = [];
  for (const line of lines) {
    if (line.netBrackets < 0) {
      let closed = -line.netBrackets;
      while (closed > 0 && indents.length > 0) {
        const top = indents[indents.length - 1];
        if (closed >= top) {
          closed -= top;
          indents.pop();
        } else {
          indents[indents.length - 1] = top - closed;
          closed = 0;
        }
      }
    }
    indentOf.push(line.text[0] === "" ? 0 : 2 * indents.length);
    if (line.netBrackets > 0) indents.push(line.netBrackets);
  }

  // Alignment: in each run of consecutive attribute lines, `=` one space after the longest name.
  const padded = lines.map((line, i) => ({ line, indent: indentOf[i], width: 0 }));
  for (let start = 0; start < padded.length;) {
    if (padded[start].line.assignAt === undefined) {
      start++;
      continue;
    }
    let end = start;
    while (end < padded.length && padded[end].line.assignAt !== undefined) end++;
    const leadWidth = (p: (typeof padded)[number]) => p.indent + p.line.text[0].slice(0, p.line.assignAt).trimEnd().length;
    const width = Math.max(...padded.slice(start, end).map(leadWidth));
    for (const p of padded.slice(start, end)) p.width = width;
    start = end;
  }

  return padded
    .map(({ line, indent, width }) => {
      const [first, ...rest] = line.text;
      let head = first;
      if (line.assignAt !== undefined) {
        const name = first.slice(0, line.assignAt).trimEnd();
        const value = first.slice(line.assignAt + 1).trimStart();
        head = `${name.padEnd(width - indent)} =${value === "" ? "" : ` ${value}`}`;
      }
      return [head === "" ? "" : `${" ".repeat(indent)}${head}`, ...rest].join("\n");
    })
    .join("\n");
}
