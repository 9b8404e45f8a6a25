/**
 * Reads the HCL object expressions cdktf writes for `Fn.jsonencode(...)` (IAM and bucket
 * policies, dashboards) back into plain data, so tests can assert on their statements.
 * References stay as `${...}` strings.
 */
import type { ProviderBlock } from "../../src/terraform/plan-json";

/**
 * A document as the stack writes it, either way: a `jsonencode()` expression, or JSON text with
 * references in its strings (`jsonWithReferences`, for the documents every developer adds to).
 */
export function parseDocument(text: string): ProviderBlock {
  return text.startsWith("${jsonencode(") ? parseJsonencode(text) : (JSON.parse(quotedInterpolations(text)) as ProviderBlock);
}

/**
 * JSON text with references: an interpolation may hold quotes of its own (`${element(split(":",
 * ...), 4)}`), which Terraform reads as part of the expression. Escaped, the text parses as JSON
 * and each string keeps the interpolation as Terraform sees it.
 */
function quotedInterpolations(text: string): string {
  let out = "";
  let at = 0;
  for (let start = text.indexOf("${"); start >= 0; start = text.indexOf("${", at)) {
    let end = start + 1;
    for (let depth = 0, quoted = false; end < text.length; end++) {
      const c = text[end];
      if (quoted) quoted = c !== '"';
      else if (c === '"') quoted = true;
      else if (c === "{") depth++;
      else if (c === "}" && --depth === 0) break;
    }
    out += text.slice(at, start) + text.slice(start, end + 1).replace(/"/g, '\\"');
    at = end + 1;
  }
  return out + text.slice(at);
}

export function parseJsonencode(expression: string): ProviderBlock {
  const match = /^\$\{jsonencode\(([\s\S]*)\)\}$/.exec(expression);
  if (!match) throw new Error(`not a jsonencode expression: ${expression.slice(0, 80)}`);
  const parser = new Parser(match[1]);
  const value = parser.value();
  parser.end();
  return value;
}

class Parser {
  private i = 0;
  constructor(private readonly text: string) {}

  value(): ProviderBlock[string] {
    this.space();
    const c = this.text[this.i];
    if (c === "{") return this.object();
    if (c === "[") return this.array();
    if (c === '"') return this.string();
    const rest = this.text.slice(this.i);
    const literal = /^(-?\d+(\.\d+)?|true|false|null)(?=[\s,}\]])/.exec(rest);
    if (literal) {
      this.i += literal[0].length;
      return JSON.parse(literal[0]);
    }
    return `\${${this.bare()}}`;
  }

  end(): void {
    this.space();
    if (this.i !== this.text.length) throw new Error(`trailing text: ${this.text.slice(this.i, this.i + 40)}`);
  }

  private object(): ProviderBlock {
    const out: ProviderBlock = {};
    this.i++;
    for (;;) {
      this.space();
      if (this.text[this.i] === "}") {
        this.i++;
        return out;
      }
      const key = this.text[this.i] === '"' ? this.string() : this.bare();
      this.space();
      if (this.text[this.i] !== "=" && this.text[this.i] !== ":") throw new Error(`expected = at ${this.text.slice(this.i, this.i + 40)}`);
      this.i++;
      out[key] = this.value();
      this.space();
      if (this.text[this.i] === ",") this.i++;
    }
  }

  private array(): ProviderBlock[string][] {
    const out: ProviderBlock[string][] = [];
    this.i++;
    for (;;) {
      this.space();
      if (this.text[this.i] === "]") {
        this.i++;
        return out;
      }
      out.push(this.value());
      this.space();
      if (this.text[this.i] === ",") this.i++;
    }
  }

  /** A quoted string; `${...}` inside it is kept verbatim, quotes and all. */
  private string(): string {
    let out = "";
    this.i++;
    while (this.text[this.i] !== '"') {
      if (this.text.startsWith("${", this.i)) {
        const end = this.skipBalanced(this.i + 1, "{", "}");
        out += this.text.slice(this.i, end);
        this.i = end;
      } else if (this.text[this.i] === "\\") {
        out += JSON.parse(`"${this.text.slice(this.i, this.i + 2)}"`);
        this.i += 2;
      } else {
        out += this.text[this.i++];
      }
    }
    this.i++;
    return out;
  }

  /** A bare expression up to the next top-level separator. */
  private bare(): string {
    const start = this.i;
    let depth = 0;
    while (this.i < this.text.length) {
      const c = this.text[this.i];
      if (c === '"') {
        this.string();
        continue;
      }
      if ("([{".includes(c)) depth++;
      else if (")]}".includes(c)) {
        if (depth === 0) break;
        depth--;
      } else if (depth === 0 && (c === "," || c === "=" || c === ":")) break;
      this.i++;
    }
    return this.text.slice(start, this.i).trim();
  }

  private skipBalanced(start: number, open: string, close: string): number {
    let depth = 0;
    for (let j = start; j < this.text.length; j++) {
      if (this.text[j] === '"' && depth > 0) {
        const save = this.i;
        this.i = j;
        this.string();
        j = this.i - 1;
        this.i = save;
      } else if (this.text[j] === open) depth++;
      else if (this.text[j] === close && --depth === 0) return j + 1;
    }
    throw new Error("unbalanced");
  }

  private space(): void {
    while (/\s/.test(this.text[this.i] ?? "")) this.i++;
  }
}
