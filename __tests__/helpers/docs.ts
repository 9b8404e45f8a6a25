/**
 * The project's Markdown documents as the tests read them: headings and their GitHub anchors, the
 * section under a heading, and the links outside code.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import GithubSlugger from "github-slugger";
import { PROJECT_ROOT } from "./fleet";

/** README.md and every document under docs/, as paths relative to the project root. */
export const DOCUMENTS: readonly string[] = [
  "README.md",
  ...readdirSync(join(PROJECT_ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`),
];

export function readDoc(path: string): string {
  return readFileSync(join(PROJECT_ROOT, path), "utf8");
}

/** The lines of `markdown` outside fenced code blocks, with their index. */
function proseLines(markdown: string): { line: string; index: number }[] {
  let fence: string | undefined;
  const lines: { line: string; index: number }[] = [];
  markdown.split("\n").forEach((line, index) => {
    const opening = /^\s*(```+|~~~+)/.exec(line);
    if (opening && (fence === undefined || opening[1].startsWith(fence))) {
      fence = fence === undefined ? opening[1] : undefined;
      return;
    }
    if (fence === undefined) lines.push({ line, index });
  });
  return lines;
}

export interface Heading {
  level: number;
  text: string;
  /** GitHub's anchor: its slug, with `-1`, `-2` ... for repeats within one document. */
  anchor: string;
  /** Line index in the document. */
  line: number;
}

export function headingsOf(markdown: string): Heading[] {
  const slugger = new GithubSlugger();
  return proseLines(markdown).flatMap(({ line, index }) => {
    const match = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    return match ? [{ level: match[1].length, text: match[2], anchor: slugger.slug(match[2]), line: index }] : [];
  });
}

/** The section under the heading `link` (`docs/x.md#anchor`) names, down to the next heading of its level or above. */
export function sectionAt(link: string): string {
  const [path, anchor] = link.split("#");
  const markdown = readDoc(path);
  const headings = headingsOf(markdown);
  const at = headings.findIndex((h) => h.anchor === anchor);
  if (at < 0) throw new Error(`${path} has no heading with the anchor #${anchor}`);
  const next = headings.slice(at + 1).find((h) => h.level <= headings[at].level);
  return markdown.split("\n").slice(headings[at].line, next?.line).join("\n");
}

/** Every `[text](target)` link outside code, with its line (1-based). */
export function linksOf(markdown: string): { target: string; line: number }[] {
  return proseLines(markdown).flatMap(({ line, index }) =>
    [...line.replace(/`[^`]*`/g, "").matchAll(/\]\(([^)\s]+)\)/g)].map((m) => ({ target: m[1], line: index + 1 })),
  );
}

/** The first cell of every table row of `markdown`, in order. */
export function firstCells(markdown: string): string[] {
  return proseLines(markdown)
    .map(({ line }) => /^\|([^|]*)\|/.exec(line)?.[1].trim())
    .filter((cell): cell is string => cell !== undefined && !/^-+$/.test(cell));
}
