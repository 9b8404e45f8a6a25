/**
 * The review as text: Terraform's plan grouped by developer, then by layer, each resource with
 * Terraform's symbol and what changes; the protected resources; what developers will notice; any
 * appended sections; and Terraform's own counts. Lines that need the reader's attention start with
 * `!`, and the exit code (3) follows from them.
 */
import { signInChangeNotice } from "./sign-in";
import { sleepChangeNotice } from "./sleep";
import { GUIDE_LINKS } from "../naming";
import type { Impact } from "./impacts";
import { planCounts, symbolOf, type ReviewedChange } from "./planned";
import { ROLE_NAMES, type ProtectedRole, type ProtectedVerdict } from "./protected";
import { appliedBy, settingChanges } from "./settings";
import { exitCodeOf, type Review, type ReviewSection } from "./review";

const SHARED = "Shared by the whole fleet";

/** What to do about a replacement prevent_destroy refuses, by protected resource. */
const REFUSED_WAY_FORWARD: Partial<Record<ProtectedRole, string>> = {
  host: `If the host must be replaced (another architecture, another vpc_cidr), ${GUIDE_LINKS.hostReplacement} says how.`,
};

/** `text` in lines of at most `width` characters, broken at spaces. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}

/** How a change is said after its address: a replacement's order and cause, a move, an artefact. */
function changeNote(change: ReviewedChange, protectedAddresses: ReadonlySet<string>): string {
  const notes = [
    ...(change.action === "replace"
      ? [
          `replaced${change.createFirst ? ", the new one first" : ""}${change.forcedBy.length > 0 ? `, forced by ${change.forcedBy.join(", ")}` : ""}`,
        ]
      : []),
    ...(change.movedFrom ? [`moved from ${change.movedFrom}`] : []),
    ...(protectedAddresses.has(change.resource) ? ["protected"] : []),
    ...(change.alsoWithoutTheChange ? ["planned with no roster change too"] : []),
  ];
  return notes.length > 0 ? `   [${notes.join("; ")}]` : "";
}

function resourceLines(changes: readonly ReviewedChange[], protectedAddresses: ReadonlySet<string>): string[] {
  const lines: string[] = [];
  for (const [layer, inLayer] of [...groupBy(changes, (c) => c.layer)].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`  ${layer}`);
    for (const change of inLayer) {
      lines.push(`    ${symbolOf(change).padEnd(3)} ${change.address}${changeNote(change, protectedAddresses)}`);
      if (change.action === "update" && change.attributes.length === 0) lines.push("          (Terraform shows no attribute that changes)");
      for (const attribute of change.attributes) lines.push(`          ${attribute.path}: ${attribute.description}`);
    }
  }
  return lines;
}

function developerTitle(name: string, review: Review): string {
  const was = review.base.fleet.developers.some((d) => d.name === name);
  const is = review.current.fleet.developers.some((d) => d.name === name);
  return `${name} (${was && is ? "changed" : is ? "added" : "removed"})`;
}

/** The plan's changes by developer, then the fleet's; developers whose settings alone change included. */
function changeLines(review: Review): string[] {
  const protectedAddresses = new Set(review.protected.map((v) => v.address));
  const byDeveloper = groupBy(review.changes, (c) => c.developer ?? "");
  const settings = settingChanges(review.base.fleet, review.current.fleet);
  const developers = [...new Set([...byDeveloper.keys(), ...settings.keys()])].filter((name) => name !== "").sort();
  const lines: string[] = [];
  for (const name of developers) {
    const changed = settings.get(name);
    lines.push(
      developerTitle(name, review),
      ...(changed ? [`  settings (${appliedBy(review.current.fleet.platform)})`, ...changed.map((line) => `    ~ ${line}`)] : []),
      ...resourceLines(byDeveloper.get(name) ?? [], protectedAddresses),
      "",
    );
  }
  if (byDeveloper.has("")) lines.push(SHARED, ...resourceLines(byDeveloper.get("")!, protectedAddresses), "");
  return lines;
}

function verdictLines(verdict: ProtectedVerdict): string[] {
  const name = `${ROLE_NAMES[verdict.role]} (${verdict.address})`;
  if (verdict.notPlanned) return [`  ! ${name}: not planned: Terraform refuses to plan the change (above).`];
  if (verdict.action === "unchanged") return [`    ${name}: unchanged`];
  const action = {
    replace: "REPLACED",
    delete: "DESTROYED",
    update: "changed in place",
    create: "created",
    forget: "no longer managed by Terraform",
  }[verdict.action];
  const forced = verdict.forcedBy.length > 0 ? `, forced by ${verdict.forcedBy.join(", ")}` : "";
  const changed = verdict.action === "update" && verdict.changed.length > 0 ? ` (${verdict.changed.join(", ")})` : "";
  const lines = [`  ! ${name}: ${action}${forced}${changed}: ${verdict.consequence}.`];
  if (verdict.impossible) lines.push("    Terraform would plan it, and the apply would fail: the review refuses it.");
  if (verdict.refused) {
    const way = REFUSED_WAY_FORWARD[verdict.role];
    lines.push(
      `    Terraform would refuse to apply this plan: the ${ROLE_NAMES[verdict.role]} has prevent_destroy.${way ? ` ${way}` : ""}`,
    );
  }
  return lines;
}

function protectedLines(review: Review): string[] {
  const lines = ["Protected resources:"];
  for (const refusal of review.refusals) {
    lines.push(`  ! Terraform refuses this change: ${refusal.summary.toLowerCase()}${refusal.address ? ` on ${refusal.address}` : ""}:`);
    lines.push(...wrap(refusal.detail, 100).map((line) => `      ${line}`));
  }
  for (const verdict of review.protected) lines.push(...verdictLines(verdict));
  return [...lines, ""];
}

function impactLines(impacts: readonly Impact[]): string[] {
  if (impacts.length === 0) return [];
  const lines = ["What developers will notice:"];
  for (const impact of impacts) {
    const who = impact.developer ?? "everyone";
    const from = impact.addresses.length === 1 ? ` (${impact.addresses[0]})` : "";
    lines.push(...wrap(`${who}: ${impact.notice}${from}.`, 110).map((line, i) => (i === 0 ? `  ! ${line}` : `      ${line}`)));
  }
  return [...lines, ""];
}

function headerLines(review: Review): string[] {
  const lines = [
    `Roster review: ${review.current.label} against ${review.base.label}`,
    "Both rosters are synthesized with the current code: this shows what the roster change does, not what code changes do.",
    "Every action is Terraform's, from its plan of the new configuration against a deployment of the base fabricated offline with terraform.tfvars.example's values.",
  ];
  const vars = Object.entries(review.vars);
  if (vars.length > 0) {
    lines.push(`Plan-time variables of the change: ${vars.map(([name, value]) => `${name} = ${JSON.stringify(value)}`).join(", ")}.`);
  }
  if (review.regionChange) {
    const { from, to } = review.regionChange;
    lines.push(
      ...wrap(
        `! Region change: the roster moves the environment from ${from} to ${to}. Terraform manages one region and would leave the environment in ${from}, with the data volume and every home, running but unmanaged; ${GUIDE_LINKS.regionMove} says how to move.`,
        110,
      ),
    );
  }
  if (review.signInChange) lines.push(...wrap(signInChangeNotice(review.signInChange), 110));
  if (review.sleepChange) lines.push(...wrap(sleepChangeNotice(review.sleepChange), 110));
  return [...lines, ""];
}

function summaryLine(review: Review): string {
  const { replace } = planCounts(review.changes);
  const artefacts = review.changes.filter((c) => c.alsoWithoutTheChange).length;
  const summary = review.summary;
  const plan = !summary
    ? "Terraform refuses to plan the change."
    : `Terraform's plan: ${summary.add} to add, ${summary.change} to change, ${summary.remove} to destroy` +
      `${replace > 0 ? ` (${replace} replaced)` : ""}` +
      `${artefacts > 0 ? `, of which ${artefacts} planned with no roster change too` : ""}.`;
  const code = exitCodeOf(review);
  const verdict =
    review.refusals.length > 0
      ? "Exit 3: Terraform refuses this change; read the lines marked ! before you go on."
      : code === 3
        ? "Exit 3: read the lines marked ! before you approve."
        : "Nothing protected changes and no developer loses anything they depend on.";
  return `Summary: ${plan} ${verdict}`;
}

/** The report, and the sections appended to it. */
export function renderReview(review: Review, sections: readonly ReviewSection[] = []): string {
  const lines = headerLines(review);
  const changes = changeLines(review);
  if (changes.length > 0) lines.push(...changes);
  else if (review.refusals.length === 0) lines.push("No changes: Terraform's plan of the new roster changes nothing.", "");
  lines.push(...protectedLines(review), ...impactLines(review.impacts));
  for (const section of sections) lines.push(section.title, ...section.lines.map((l) => `  ${l}`), "");
  lines.push(summaryLine(review));
  return `${lines.join("\n")}\n`;
}
