/**
 * The typed, validated, frozen description of the team that every layer and template reads.
 * `buildFleet` turns a schema-valid roster into a Fleet, applying defaults, once the rules that
 * look across fields (`rules.ts`: uniqueness, ALB limits, AWS name lengths, host capacity) pass.
 */
import type { Developer, Fleet, Problem, StateBackend } from "./model";
import { CLAUDE_EXTENSION_ID, crossFieldProblems, defaultZones, extensionId, mib, resolveHost, rosterParts } from "./rules";
import { resolveSchedule } from "./schedule";
import type { RawRoster } from "./schema";

export type { Developer, Fleet, HostSpec, LocatedProblem, Problem, StateBackend } from "./model";
export { CLAUDE_EXTENSION_ID, MAX_DEVELOPERS, MAX_PRIORITY, MAX_TARGET_GROUP_NAME, OFFICIAL_CODE_SERVER_IMAGE } from "./rules";

/** Later entries win over earlier ones with the same id (a developer may re-pin a fleet extension). */
function mergeExtensions(...lists: readonly (readonly string[])[]): string[] {
  const byId = new Map<string, string>();
  for (const spec of lists.flat()) byId.set(extensionId(spec), spec);
  return [...byId.values()];
}

/** Key of the state object in an S3 backend when neither the roster nor STATE_KEY names one. */
export function defaultStateKey(roster: Pick<RawRoster, "project" | "environment">): string {
  return `${roster.project}/${roster.environment}/terraform.tfstate`;
}

/**
 * Builds the Fleet from a roster that passed the schema, or returns every problem the rules
 * that look across fields find (`rules.ts`). `stateOverride` is the S3 backend chosen by
 * environment variables (see `load.ts`).
 */
export function buildFleet(raw: RawRoster, stateOverride?: StateBackend): { fleet?: Fleet; problems: Problem[] } {
  const problems = crossFieldProblems(rosterParts(raw));
  const host = resolveHost(raw.host, []);
  if (problems.length > 0 || !host) return { problems };
  const developers: Developer[] = raw.developers.map((d) => ({
    name: d.name,
    port: d.port,
    priority: d.priority ?? d.port,
    hostname: `${d.name}.${raw.domain}`,
    cpus: d.cpus ?? raw.developerDefaults.cpus,
    cpuLimit: d.cpuLimit ?? raw.developerDefaults.cpuLimit,
    memoryMiB: mib(d.memoryGiB ?? raw.developerDefaults.memoryGiB),
    memoryLimitMiB: mib(d.memoryLimitGiB ?? raw.developerDefaults.memoryLimitGiB),
    extensions: mergeExtensions(
      [`${CLAUDE_EXTENSION_ID}@${raw.codeServer.claudeExtensionVersion}`],
      raw.codeServer.extensions,
      d.extensions ?? [],
    ),
  }));
  const fleet: Fleet = {
    project: raw.project,
    environment: raw.environment,
    namePrefix: `${raw.project}-${raw.environment}`,
    region: raw.region,
    availabilityZones: raw.availabilityZones ?? defaultZones(raw.region),
    domain: raw.domain,
    host,
    codeServer: {
      image: raw.codeServer.image,
      tag: raw.codeServer.tag,
      claudeExtensionVersion: raw.codeServer.claudeExtensionVersion,
      extensions: raw.codeServer.extensions,
    },
    developers,
    state: stateOverride ?? stateOf(raw),
    // Absent rather than undefined, so a fleet without one is exactly what it was before schedules existed.
    ...(raw.schedule ? { schedule: resolveSchedule(raw.schedule) } : {}),
    waf: { enabled: raw.waf.enabled, rateLimitPer5Minutes: raw.waf.rateLimitPer5Minutes },
  };
  return { fleet: deepFreeze(fleet), problems };
}

function stateOf(raw: RawRoster): StateBackend {
  if (raw.state.backend === "local") return { backend: "local" };
  return { backend: "s3", bucket: raw.state.bucket, key: raw.state.key ?? defaultStateKey(raw), region: raw.state.region ?? raw.region };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}
