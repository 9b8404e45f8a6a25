/**
 * A developer's own settings as the roster states them, compared between two fleets. Limits and
 * extensions reach the host through the rendered files alone, so the Terraform diff shows them
 * only as a changed compose file of the whole fleet; the review names them under the developer.
 */
import type { Developer, Fleet } from "../roster";

/** Roster field, and how to read it from a Developer. */
const SETTINGS: readonly (readonly [string, (d: Developer) => number])[] = [
  ["port", (d) => d.port],
  ["priority", (d) => d.priority],
  ["cpus", (d) => d.cpus],
  ["cpuLimit", (d) => d.cpuLimit],
  ["memoryGiB", (d) => d.memoryMiB / 1024],
  ["memoryLimitGiB", (d) => d.memoryLimitMiB / 1024],
];

/** How the developer's new settings take effect on the platform that serves them, said once after their settings. */
export function appliedBy(platform: "host" | "ecs"): string {
  return platform === "ecs"
    ? "the apply replaces their task definition, and ECS their task, with them"
    : "the next apply on the host recreates the container with them";
}

/** Each developer in both fleets whose settings differ, with one line per changed setting. */
export function settingChanges(base: Fleet, current: Fleet): Map<string, string[]> {
  const before = new Map(base.developers.map((d) => [d.name, d]));
  const changes = new Map<string, string[]>();
  for (const now of current.developers) {
    const was = before.get(now.name);
    if (!was) continue;
    const lines = SETTINGS.filter(([, read]) => read(was) !== read(now)).map(([field, read]) => `${field}: ${read(was)} → ${read(now)}`);
    const added = now.extensions.filter((e) => !was.extensions.includes(e));
    const removed = was.extensions.filter((e) => !now.extensions.includes(e));
    if (added.length > 0 || removed.length > 0) {
      lines.push(`extensions: ${[...added.map((e) => `+${e}`), ...removed.map((e) => `-${e}`)].join(", ")}`);
    }
    if (lines.length > 0) changes.set(now.name, lines);
  }
  return changes;
}
