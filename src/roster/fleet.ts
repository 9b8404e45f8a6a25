/**
 * The typed, validated, frozen description of the team that every layer and template reads.
 * `buildFleet` turns a schema-valid roster into a Fleet, applying defaults, once the rules that
 * look across fields (`rules.ts`: uniqueness, ALB limits, AWS name lengths, host capacity) pass.
 */
import { authOf, identityOf } from "./auth";
import type { Developer, Fleet, HostSpec, Problem, StateBackend } from "./model";
import { CLAUDE_EXTENSION_ID, crossFieldProblems, defaultZones, extensionId, mib, resolveHost, rosterParts } from "./rules";
import { smallestFargateSize } from "./fargate";
import { runningPlatforms } from "./platforms";
import { resolveSchedule } from "./schedule";
import type { RawRoster } from "./schema";

export type {
  Auth,
  Developer,
  EcsSpec,
  Fleet,
  Identity,
  HostSpec,
  LocatedProblem,
  Migration,
  PlatformKind,
  Problem,
  StateBackend,
} from "./model";
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
  if (problems.length > 0) return { problems };
  const migration = raw.migration?.prepare
    ? { prepare: raw.migration.prepare }
    : raw.migration?.keep
      ? { keep: raw.migration.keep }
      : undefined;
  const running = runningPlatforms(raw.platform, migration);
  // The rules above have found the host section there and its type known whenever the host runs.
  const host = running.host && raw.host ? resolveHost(raw.host, []) : undefined;
  const developers: Developer[] = raw.developers.map((d) => developerOf(raw, d, running.ecs));
  const fleet: Fleet = {
    project: raw.project,
    environment: raw.environment,
    namePrefix: `${raw.project}-${raw.environment}`,
    region: raw.region,
    availabilityZones: raw.availabilityZones ?? defaultZones(raw.region),
    domain: raw.domain,
    platform: raw.platform,
    ...(host ? { host } : {}),
    ...(running.ecs ? { ecs: { architecture: raw.ecs.architecture, network: raw.ecs.network, exec: raw.ecs.exec } } : {}),
    ...(migration ? { migration } : {}),
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
    auth: authOf(raw.auth),
  };
  return { fleet: deepFreeze(fleet), problems };
}

/** One developer of the roster, defaults applied; on ECS with the Fargate size that holds their limits. */
function developerOf(raw: RawRoster, d: RawRoster["developers"][number], onEcs: boolean): Developer {
  const cpuLimit = d.cpuLimit ?? raw.developerDefaults.cpuLimit;
  const memoryLimitMiB = mib(d.memoryLimitGiB ?? raw.developerDefaults.memoryLimitGiB);
  // The rules above have refused a developer no Fargate size holds.
  const fargate = onEcs ? smallestFargateSize(cpuLimit, memoryLimitMiB) : undefined;
  // The gate needs it only with OpenID Connect; a password roster keeps it for a switch back and forth.
  const identity = raw.auth.type === "oidc" ? identityOf(d) : undefined;
  return {
    name: d.name,
    port: d.port,
    priority: d.priority ?? d.port,
    hostname: `${d.name}.${raw.domain}`,
    cpus: d.cpus ?? raw.developerDefaults.cpus,
    cpuLimit,
    memoryMiB: mib(d.memoryGiB ?? raw.developerDefaults.memoryGiB),
    memoryLimitMiB,
    extensions: mergeExtensions(
      [`${CLAUDE_EXTENSION_ID}@${raw.codeServer.claudeExtensionVersion}`],
      raw.codeServer.extensions,
      d.extensions ?? [],
    ),
    ...(fargate ? { fargate } : {}),
    ...(identity ? { identity } : {}),
  };
}

/**
 * The host of a fleet on which the host platform runs: what the host's layers and files are made
 * for. Asking for it on a fleet without one is a programming error, not a roster problem.
 */
export function runningHost(fleet: Fleet): HostSpec {
  if (!fleet.host)
    throw new Error(`${fleet.namePrefix}: no host runs on platform ${fleet.platform}; only the host platform's layers and files need one`);
  return fleet.host;
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
