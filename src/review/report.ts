/**
 * The review as text: resources grouped by developer, then by layer, each with what changes;
 * then the protected resources, each named with what it means for the developers; then any
 * appended sections.
 */
import { isReplacement } from "../terraform/plan-json";
import type { ResourceDiff } from "./diff";
import { README_SECTIONS } from "../naming";
import { ROLE_NAMES, type ProtectedRole } from "./protected";
import { RECREATED, settingChanges } from "./settings";
import { exitCodeOf, type Review, type ReviewSection } from "./review";

const MARK = { added: "+", removed: "-", changed: "~" } as const;
const SHARED = "Shared by the whole fleet";

/** What to do about a replacement prevent_destroy refuses, by protected resource. */
const REFUSED_WAY_FORWARD: Partial<Record<ProtectedRole, string>> = {
  host: `If the host must be replaced (another architecture, another vpc_cidr), the README says how under "${README_SECTIONS.hostReplacement}".`,
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

function resourceLines(diffs: readonly ResourceDiff[], protectedAddresses: ReadonlySet<string>): string[] {
  const lines: string[] = [];
  for (const [layer, inLayer] of [...groupBy(diffs, (d) => d.entry.layer)].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`  ${layer}`);
    for (const diff of inLayer) {
      const flag = protectedAddresses.has(diff.entry.address) ? "   [protected]" : "";
      lines.push(`    ${MARK[diff.kind]} ${diff.entry.address}${flag}`);
      for (const attribute of diff.attributes) lines.push(`        ${attribute.path}: ${attribute.description}`);
    }
  }
  return lines;
}

function developerTitle(name: string, review: Review): string {
  const was = review.base.fleet.developers.some((d) => d.name === name);
  const is = review.current.fleet.developers.some((d) => d.name === name);
  return `${name} (${was && is ? "changed" : is ? "added" : "removed"})`;
}

/** At most this many addresses are named in the summary; the rest are counted. */
const NAMED_IN_SUMMARY = 4;

/**
 * What Terraform's plan destroys that the configuration diff does not show as removed: the
 * replacements (a changed attribute that forces one, or a `--var`), named, protected resources
 * first. Undefined when the plan replaces and destroys nothing, or there is no plan.
 */
function plannedBeyondTheConfiguration(review: Review): string | undefined {
  const changes = (review.plan?.resource_changes ?? []).filter((c) => c.mode === "managed" && c.change.actions.includes("delete"));
  if (changes.length === 0) return undefined;
  const roleOf = new Map(review.protected.map((v) => [v.address, ROLE_NAMES[v.role]]));
  const replaced = changes.filter((c) => isReplacement(c.change.actions));
  const destroyed = changes.filter((c) => !isReplacement(c.change.actions));
  const named = (list: typeof changes) => {
    const sorted = [...list].sort(
      (a, b) => Number(roleOf.has(b.address)) - Number(roleOf.has(a.address)) || a.address.localeCompare(b.address),
    );
    const shown = sorted.slice(0, NAMED_IN_SUMMARY).map((c) => roleOf.get(c.address) ?? c.address);
    const more = sorted.length - shown.length;
    return `${list.length} (${shown.join(", ")}${more > 0 ? ` and ${more} more` : ""})`;
  };
  const parts = [
    ...(replaced.length > 0 ? [`replaces ${named(replaced)}`] : []),
    ...(destroyed.length > 0 ? [`destroys ${named(destroyed)}`] : []),
  ];
  return `Terraform's plan of the protected resources and what they depend on (limited with -target) ${parts.join(" and ")}`;
}

/** The report, and the sections appended to it. */
export function renderReview(review: Review, sections: readonly ReviewSection[] = []): string {
  const { diffs } = review;
  const lines = [
    `Roster review: ${review.current.label} against ${review.base.label}`,
    "Both rosters are synthesized with the current code: this shows what the roster change does, not what code changes do.",
  ];
  const vars = Object.entries(review.vars);
  if (vars.length > 0) {
    lines.push(
      `Plan-time variables of the change: ${vars.map(([name, value]) => `${name} = ${JSON.stringify(value)}`).join(", ")} (the base is deployed with terraform.tfvars.example's values).`,
    );
  }
  lines.push("");
  if (diffs.length === 0) {
    lines.push(
      vars.length > 0
        ? "Both rosters synthesize to the same Terraform configuration; what the variables change, the plan below says."
        : "No changes: both rosters synthesize to the same Terraform configuration.",
      ...(vars.length > 0 ? [""] : []),
    );
  } else {
    const protectedAddresses = new Set(review.protected.map((v) => v.address));
    const byDeveloper = groupBy(diffs, (d) => d.entry.developer ?? "");
    const settings = settingChanges(review.base.fleet, review.current.fleet);
    const developers = [...new Set([...byDeveloper.keys(), ...settings.keys()])].filter((name) => name !== "").sort();
    for (const name of developers) {
      const changed = settings.get(name);
      lines.push(
        developerTitle(name, review),
        ...(changed ? ["  settings (" + RECREATED + ")", ...changed.map((line) => `    ~ ${line}`)] : []),
        ...resourceLines(byDeveloper.get(name) ?? [], protectedAddresses),
        "",
      );
    }
    if (byDeveloper.has("")) lines.push(SHARED, ...resourceLines(byDeveloper.get("")!, protectedAddresses), "");
  }

  lines.push(`Protected resources (${review.verdictSource}):`);
  for (const refusal of review.refusals) {
    lines.push(`  ! Terraform refuses this change: ${refusal.summary.toLowerCase()}${refusal.address ? ` on ${refusal.address}` : ""}:`);
    lines.push(...wrap(refusal.detail, 100).map((line) => `      ${line}`));
  }
  for (const verdict of review.protected) {
    const name = `${ROLE_NAMES[verdict.role]} (${verdict.address})`;
    if (verdict.action === "unchanged") {
      lines.push(`    ${name}: unchanged`);
      continue;
    }
    if (verdict.notPlanned) {
      lines.push(`  ! ${name}: not planned: ${verdict.consequence}.`);
      continue;
    }
    const action =
      verdict.action === "replace"
        ? "REPLACED"
        : verdict.action === "delete"
          ? "DESTROYED"
          : verdict.action === "update"
            ? "changed in place"
            : "created";
    const forced = verdict.forcedBy.length > 0 ? `, forced by ${verdict.forcedBy.join(", ")}` : "";
    const changed = verdict.action === "update" && verdict.changed.length > 0 ? ` (${verdict.changed.join(", ")})` : "";
    lines.push(`  ! ${name}: ${action}${forced}${changed}: ${verdict.consequence}.`);
    if (verdict.refused) {
      lines.push(
        `    Terraform would refuse to apply this plan: the ${ROLE_NAMES[verdict.role]} has prevent_destroy.${REFUSED_WAY_FORWARD[verdict.role] ? ` ${REFUSED_WAY_FORWARD[verdict.role]}` : ""}`,
      );
    }
  }
  lines.push("");

  for (const section of sections) lines.push(section.title, ...section.lines.map((l) => `  ${l}`), "");

  const count = (kind: ResourceDiff["kind"]) => diffs.filter((d) => d.kind === kind).length;
  const counts = `${count("added")} to add, ${count("changed")} to change, ${count("removed")} to remove`;
  const planned = plannedBeyondTheConfiguration(review);
  const code = exitCodeOf(review);
  lines.push(
    (planned ? `Summary: the configurations differ by ${counts}; ${planned}. ` : `Summary: ${counts}. `) +
      (review.refusals.length > 0
        ? "Exit 3: Terraform refuses this change; read the lines marked ! before you go on."
        : code === 3
          ? "Exit 3: a protected resource changes; read the lines marked ! before you approve."
          : "No protected resource changes."),
  );
  return `${lines.join("\n")}\n`;
}
