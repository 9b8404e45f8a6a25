/**
 * Where the roster runs developers: the serving `platform`, and during a `migration` the other
 * one beside it. Its rules: the host section is there exactly when the host runs, a migration
 * names the platform that is not serving, ECS settings are written only where ECS runs, and each
 * developer fits the largest Fargate task when it does.
 */
import { describeFargateSize, LARGEST_FARGATE_SIZE, smallestFargateSize } from "./fargate";
import type { Migration, PlatformKind, Problem } from "./model";
import { INVALID, type Part } from "./parts";
import { ecsSchema, type DeveloperParts, type RosterParts } from "./schema";

/** Which platforms run: the serving one and a migration's other one. */
export interface RunningPlatforms {
  readonly host: boolean;
  readonly ecs: boolean;
}

/** The platforms a roster runs, from its `platform` and `migration` (both valid). */
export function runningPlatforms(platform: PlatformKind, migration: Migration | undefined): RunningPlatforms {
  const other = migration === undefined ? undefined : "prepare" in migration ? migration.prepare : migration.keep;
  return { host: platform === "host" || other === "host", ecs: platform === "ecs" || other === "ecs" };
}

/** The migration the roster's section describes, or undefined for none; the caller checks it names one platform. */
function migrationOf(section: { prepare?: "ecs"; keep?: "host" } | undefined): Migration | undefined {
  if (section?.prepare) return { prepare: section.prepare };
  if (section?.keep) return { keep: section.keep };
  return undefined;
}

/**
 * The platforms that run, with the problems of `platform`, `migration`, `host` and `ecs` taken
 * together; undefined platforms when `platform` or `migration` is invalid.
 */
export function platformProblems(parts: RosterParts): { running?: RunningPlatforms; problems: Problem[] } {
  const { platform, migration, host } = parts.top;
  if (platform === INVALID || migration === INVALID) return { problems: [] };
  const problems: Problem[] = [];
  if (migration?.prepare && migration.keep) {
    problems.push({
      path: ["migration"],
      message: "a migration either prepares ecs (platform: host) or keeps host (platform: ecs): give one of them",
    });
  }
  if (migration?.prepare && platform !== "host") {
    problems.push({
      path: ["migration", "prepare"],
      message: "migration.prepare: ecs builds ECS beside a serving host: it needs platform: host",
    });
  }
  if (migration?.keep && platform !== "ecs") {
    problems.push({
      path: ["migration", "keep"],
      message: "migration.keep: host keeps the host beside a serving ECS: it needs platform: ecs",
    });
  }
  const running = runningPlatforms(platform, migrationOf(migration));
  if (running.host && host === undefined) {
    problems.push({
      path: ["host"],
      message: `host is required while the host platform runs (platform: ${platform}${migration ? ", with the migration" : ""}): give at least instanceType (e.g. t3.2xlarge)`,
    });
  }
  if (!running.host && host !== undefined && host !== INVALID) {
    problems.push({
      path: ["host"],
      message:
        "host is set, but no host runs on platform: ecs: remove it, or keep the host during a migration with migration: { keep: host }",
    });
  }
  const ecs = parts.top.ecs;
  // Settings that differ from the defaults; defaults written out do no harm.
  if (!running.ecs && ecs !== INVALID && JSON.stringify(ecs) !== JSON.stringify(ecsSchema.parse({}))) {
    problems.push({
      path: ["ecs"],
      message: "ecs settings have no effect unless ECS runs: set platform: ecs, or prepare it with migration: { prepare: ecs }",
    });
  }
  return { running, problems };
}

/** A developer's limits, as the developer or the defaults give them (INVALID when the one that applies is). */
type Limit = (d: DeveloperParts, field: "cpuLimit" | "memoryLimitGiB") => Part<number>;

/** Each developer's limits against the largest Fargate task, once for a default every developer inherits. */
export function fargateProblems(
  parts: RosterParts,
  limit: Limit,
  reportDefault: (field: "cpuLimit" | "memoryLimitGiB", message: string) => void,
): Problem[] {
  const problems: Problem[] = [];
  const largest = `Fargate's largest task is ${describeFargateSize(LARGEST_FARGATE_SIZE)}`;
  parts.developers.forEach((d, i) => {
    const cpu = limit(d, "cpuLimit");
    const memory = limit(d, "memoryLimitGiB");
    if (cpu === INVALID || memory === INVALID || smallestFargateSize(cpu, Math.round(memory * 1024))) return;
    const field = cpu > LARGEST_FARGATE_SIZE.cpu / 1024 ? "cpuLimit" : "memoryLimitGiB";
    const message = `cpuLimit ${cpu} vCPU with memoryLimitGiB ${memory} fits no Fargate task: ${largest}; lower ${field}, or run this team on the host platform`;
    if (d[field] === undefined) reportDefault(field, message);
    else
      problems.push({
        path: ["developers", i, field],
        message: `${d.name === INVALID ? `developers[${i}]` : `developer "${d.name}"`}: ${message}`,
      });
  });
  return problems;
}
