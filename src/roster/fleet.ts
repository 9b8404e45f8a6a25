/**
 * The typed, validated, frozen description of the team that every layer and template reads.
 * `buildFleet` turns a schema-valid roster into a Fleet, applying defaults and the rules that
 * look across fields: uniqueness, ALB limits, AWS name lengths and host capacity.
 */
import { targetGroupName } from "../naming";
import { INSTANCE_FAMILIES, INSTANCE_TYPES, architectureOf, isBurstable, type Architecture } from "./instance-types";
import { resolveSchedule, type Schedule } from "./schedule";
import type { RawRoster } from "./schema";

export const CLAUDE_EXTENSION_ID = "anthropic.claude-code";
/** ALB quota: rules per listener (the default action is not a rule). */
export const MAX_DEVELOPERS = 100;
/** ALB listener-rule priorities run 1..50000. */
export const MAX_PRIORITY = 50000;
/** AWS limit on target group names, which are `<project>-<environment>-<developer>`. */
export const MAX_TARGET_GROUP_NAME = 32;

export interface Developer {
  /** DNS label: subdomain, container name, key of every per-developer resource. */
  readonly name: string;
  /** Host port of the developer's container: a stable slot, never renumbered. */
  readonly port: number;
  /** ALB listener-rule priority, the port unless the roster sets it. */
  readonly priority: number;
  /** `<name>.<domain>`. */
  readonly hostname: string;
  readonly cpus: number;
  readonly cpuLimit: number;
  readonly memoryMiB: number;
  readonly memoryLimitMiB: number;
  /** Every extension to install, the pinned Claude extension first. */
  readonly extensions: readonly string[];
}

export type StateBackend =
  { readonly backend: "local" } | { readonly backend: "s3"; readonly bucket: string; readonly key: string; readonly region: string };

export interface HostSpec {
  readonly instanceType: string;
  readonly vcpus: number;
  readonly memoryGiB: number;
  readonly architecture: Architecture;
  /** t3/t3a/t4g: run with unlimited CPU credits so reservations are real. */
  readonly burstable: boolean;
  readonly osHeadroomGiB: number;
}

export interface Fleet {
  readonly project: string;
  readonly environment: string;
  /** `<project>-<environment>`: the prefix of AWS resource names. */
  readonly namePrefix: string;
  readonly region: string;
  /** The host and its data volume live in the first zone; the ALB spans all. */
  readonly availabilityZones: readonly string[];
  readonly domain: string;
  readonly host: HostSpec;
  readonly codeServer: {
    readonly image: string;
    readonly tag: string;
    readonly claudeExtensionVersion: string;
    readonly extensions: readonly string[];
  };
  readonly developers: readonly Developer[];
  readonly state: StateBackend;
  /** When the host runs (`schedule.ts`); absent: always. */
  readonly schedule?: Schedule;
  /** The optional WAF web ACL on the ALB; off unless the roster switches it on. */
  readonly waf: { readonly enabled: boolean; readonly rateLimitPer5Minutes: number };
}

/** One thing wrong with the roster: where (a path into the YAML) and what to do about it. */
export interface Problem {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

const gib = (n: number) => `${+n.toFixed(2)} GiB`;

function extensionId(spec: string): string {
  return spec.split("@")[0].toLowerCase();
}

/** Later entries win over earlier ones with the same id (a developer may re-pin a fleet extension). */
function mergeExtensions(...lists: readonly (readonly string[])[]): string[] {
  const byId = new Map<string, string>();
  for (const spec of lists.flat()) byId.set(extensionId(spec), spec);
  return [...byId.values()];
}

function resolveHost(raw: RawRoster, problems: Problem[]): HostSpec | undefined {
  const { instanceType, vcpus, memoryGiB, osHeadroomGiB } = raw.host;
  const known = INSTANCE_TYPES.get(instanceType);
  if (known && (vcpus !== undefined || memoryGiB !== undefined)) {
    problems.push({
      path: ["host"],
      message: `host.vcpus and host.memoryGiB are only for instance types missing from the built-in table; ${instanceType} is known (${known.vcpus} vCPU, ${gib(known.memoryGiB)}): remove them`,
    });
    return undefined;
  }
  if (!known && (vcpus === undefined || memoryGiB === undefined)) {
    problems.push({
      path: ["host", "instanceType"],
      message: `unknown instance type "${instanceType}": use one of the built-in table (${INSTANCE_FAMILIES.join(", ")} families, e.g. t3.2xlarge), or state host.vcpus and host.memoryGiB for it`,
    });
    return undefined;
  }
  return {
    instanceType,
    vcpus: known?.vcpus ?? vcpus!,
    memoryGiB: known?.memoryGiB ?? memoryGiB!,
    architecture: known?.architecture ?? architectureOf(instanceType),
    burstable: isBurstable(instanceType),
    osHeadroomGiB,
  };
}

/** Smallest known type of the same family (else of any x86 family) that holds the load. */
function suggestInstanceType(current: string, cpus: number, memoryGiB: number): string | undefined {
  const family = current.split(".")[0];
  const fits = [...INSTANCE_TYPES.entries()]
    .filter(([, t]) => t.vcpus >= cpus && t.memoryGiB >= memoryGiB)
    .sort(([, a], [, b]) => a.vcpus - b.vcpus || a.memoryGiB - b.memoryGiB);
  return (fits.find(([name]) => name.startsWith(`${family}.`)) ?? fits.find(([, t]) => t.architecture === "x86_64"))?.[0];
}

/** Key of the state object in an S3 backend when neither the roster nor STATE_KEY names one. */
export function defaultStateKey(roster: Pick<RawRoster, "project" | "environment">): string {
  return `${roster.project}/${roster.environment}/terraform.tfstate`;
}

/** The official image, whose tags carry no "v" (4.102.2, never v4.102.2). */
export const OFFICIAL_CODE_SERVER_IMAGE = "codercom/code-server";

function checkImageTag(raw: RawRoster, problems: Problem[]): void {
  const { image, tag } = raw.codeServer;
  if (image === OFFICIAL_CODE_SERVER_IMAGE && /^v\d/.test(tag)) {
    problems.push({
      path: ["codeServer", "tag"],
      message: `${image} publishes its releases without a "v" (e.g. 4.102.2): tag "${tag}" does not exist, write "${tag.slice(1)}"`,
    });
  }
}

/**
 * Extension ids ignore case (code-server installs GoLang.Go as golang.go), so two spellings of
 * one id are a mistake: the second would silently replace the first. A developer may re-pin a
 * fleet extension, written the same way.
 */
function checkExtensionSpelling(raw: RawRoster, problems: Problem[]): void {
  type Listed = { readonly written: string; readonly where: string };
  const check = (list: readonly string[], path: (string | number)[], inherited: ReadonlyMap<string, Listed>) => {
    const own = new Map<string, Listed>();
    list.forEach((spec, k) => {
      const written = spec.split("@")[0];
      const id = extensionId(spec);
      const previous = own.get(id) ?? inherited.get(id);
      if (previous && previous.written !== written) {
        problems.push({
          path: [...path, k],
          message: `"${written}" is the same extension as "${previous.written}" in ${previous.where} (extension ids ignore case): write it one way, "${previous.written}"`,
        });
      } else if (own.has(id)) {
        problems.push({ path: [...path, k], message: `"${written}" is listed twice in ${path.join(".")}: list it once` });
      }
      own.set(id, { written, where: `${path.join(".")}[${k}]` });
    });
    return new Map([...inherited, ...own]);
  };
  const claude = new Map([[CLAUDE_EXTENSION_ID, { written: CLAUDE_EXTENSION_ID, where: "the Claude extension installed for everyone" }]]);
  const fleetWide = check(raw.codeServer.extensions, ["codeServer", "extensions"], claude);
  raw.developers.forEach((d, i) => check(d.extensions ?? [], ["developers", i, "extensions"], fleetWide));
}

function findDuplicates<T>(values: readonly T[]): Map<T, number[]> {
  const seen = new Map<T, number[]>();
  values.forEach((v, i) => seen.set(v, [...(seen.get(v) ?? []), i]));
  return new Map([...seen].filter(([, idx]) => idx.length > 1));
}

/**
 * Builds the Fleet from a roster that passed the schema, or returns every problem found.
 * `stateOverride` is the S3 backend chosen by environment variables (see `load.ts`).
 */
export function buildFleet(raw: RawRoster, stateOverride?: StateBackend): { fleet?: Fleet; problems: Problem[] } {
  const problems: Problem[] = [];
  const namePrefix = `${raw.project}-${raw.environment}`;

  const zones = raw.availabilityZones ?? [`${raw.region}a`, `${raw.region}b`];
  if (zones.length < 2) {
    problems.push({ path: ["availabilityZones"], message: "list at least two availability zones: the ALB needs subnets in two" });
  }
  zones.forEach((zone, i) => {
    if (!new RegExp(`^${raw.region}[a-z]$`).test(zone)) {
      problems.push({ path: ["availabilityZones", i], message: `"${zone}" is not a zone of region ${raw.region} (e.g. ${raw.region}a)` });
    }
  });
  for (const [zone, idx] of findDuplicates(zones)) {
    problems.push({ path: ["availabilityZones", idx[1]], message: `zone "${zone}" is listed twice` });
  }

  const host = resolveHost(raw, problems);
  const defaults = raw.developerDefaults;
  // A bad default is one problem at its own line, not one per developer who inherits it.
  const reportedDefaults = new Set<string>();
  const reportDefault = (field: keyof RawRoster["developerDefaults"], message: string) => {
    if (reportedDefaults.has(message)) return;
    reportedDefaults.add(message);
    problems.push({ path: ["developerDefaults", field], message });
  };

  checkImageTag(raw, problems);
  checkExtensionSpelling(raw, problems);

  if (raw.developers.length > MAX_DEVELOPERS) {
    problems.push({
      path: ["developers"],
      message: `${raw.developers.length} developers is more than one ALB listener can route (${MAX_DEVELOPERS} rules): split the team into two environments`,
    });
  }

  const developers: Developer[] = raw.developers.map((d, i) => {
    const cpus = d.cpus ?? defaults.cpus;
    const cpuLimit = d.cpuLimit ?? defaults.cpuLimit;
    const memoryGiB = d.memoryGiB ?? defaults.memoryGiB;
    const memoryLimitGiB = d.memoryLimitGiB ?? defaults.memoryLimitGiB;
    const at = (...rest: (string | number)[]) => ["developers", i, ...rest];
    if (cpuLimit < cpus) {
      if (d.cpuLimit === undefined && d.cpus === undefined) {
        reportDefault(
          "cpuLimit",
          `cpuLimit ${cpuLimit} is below the cpu reservation (cpus: ${cpus}) that every developer inherits with it`,
        );
      } else {
        problems.push({
          path: at("cpuLimit"),
          message: `developer "${d.name}": cpuLimit ${cpuLimit} is below the cpu reservation ${cpus}`,
        });
      }
    }
    if (memoryLimitGiB < memoryGiB) {
      if (d.memoryLimitGiB === undefined && d.memoryGiB === undefined) {
        reportDefault(
          "memoryLimitGiB",
          `memoryLimitGiB ${memoryLimitGiB} is below the memory reservation (memoryGiB: ${memoryGiB}) that every developer inherits with it`,
        );
      } else {
        problems.push({
          path: at("memoryLimitGiB"),
          message: `developer "${d.name}": memoryLimitGiB ${memoryLimitGiB} is below the memory reservation ${memoryGiB}`,
        });
      }
    }
    if (d.priority === undefined && d.port > MAX_PRIORITY) {
      problems.push({
        path: at("port"),
        message: `developer "${d.name}": port ${d.port} cannot double as the ALB rule priority (1..${MAX_PRIORITY}); set priority explicitly, unique per developer`,
      });
    }
    const tgName = targetGroupName({ namePrefix }, d);
    if (tgName.length > MAX_TARGET_GROUP_NAME) {
      problems.push({
        path: at("name"),
        message: `developer name "${d.name}" is too long for AWS: its target group "${tgName}" would be ${tgName.length} characters, the limit is ${MAX_TARGET_GROUP_NAME}; use a name of at most ${MAX_TARGET_GROUP_NAME - namePrefix.length - 1} characters (or a shorter project/environment)`,
      });
    }
    return {
      name: d.name,
      port: d.port,
      priority: d.priority ?? d.port,
      hostname: `${d.name}.${raw.domain}`,
      cpus,
      cpuLimit,
      memoryMiB: Math.round(memoryGiB * 1024),
      memoryLimitMiB: Math.round(memoryLimitGiB * 1024),
      extensions: mergeExtensions(
        [`${CLAUDE_EXTENSION_ID}@${raw.codeServer.claudeExtensionVersion}`],
        raw.codeServer.extensions,
        d.extensions ?? [],
      ),
    };
  });

  const unique = (field: "name" | "port" | "priority", what: string) => {
    for (const [value, idx] of findDuplicates(developers.map((d) => d[field]))) {
      // A priority taken from a duplicated port is already reported as that port.
      if (field === "priority" && idx.every((i) => raw.developers[i].priority === undefined)) continue;
      const where = idx.map((i) => `developers[${i}]`).join(", ");
      problems.push({
        path: ["developers", idx[1], field],
        message: `${what} ${JSON.stringify(value)} is used by more than one developer (${where}); each developer needs its own`,
      });
    }
  };
  unique("name", "name");
  unique("port", "port");
  unique("priority", "listener-rule priority (explicit, or taken from the port)");

  if (host) {
    const cpuSum = developers.reduce((s, d) => s + d.cpus, 0);
    const memSumGiB = developers.reduce((s, d) => s + d.memoryMiB, 0) / 1024;
    const needGiB = memSumGiB + host.osHeadroomGiB;
    const hint = () => {
      const better = suggestInstanceType(host.instanceType, cpuSum, needGiB);
      return better ? ` (${better} fits)` : "";
    };
    if (cpuSum > host.vcpus) {
      problems.push({
        path: ["host", "instanceType"],
        message: `the roster does not fit ${host.instanceType}: ${developers.length} developers reserve ${+cpuSum.toFixed(2)} vCPU but it has ${host.vcpus}. Choose a larger host.instanceType${hint()}, lower cpus, or remove developers`,
      });
    }
    if (needGiB > host.memoryGiB) {
      problems.push({
        path: ["host", "instanceType"],
        message: `the roster does not fit ${host.instanceType}: ${developers.length} developers reserve ${gib(memSumGiB)} of memory plus ${gib(host.osHeadroomGiB)} OS headroom = ${gib(needGiB)}, but it has ${gib(host.memoryGiB)}. Choose a larger host.instanceType${hint()}, lower memoryGiB, or remove developers`,
      });
    }
    developers.forEach((d, i) => {
      const own = raw.developers[i];
      const tooMuch: [field: "cpuLimit" | "memoryLimitGiB", limit: string, host: string][] = [];
      if (d.cpuLimit > host.vcpus) tooMuch.push(["cpuLimit", `${d.cpuLimit} vCPU`, `${host.vcpus} vCPU`]);
      if (d.memoryLimitMiB > host.memoryGiB * 1024) tooMuch.push(["memoryLimitGiB", gib(d.memoryLimitMiB / 1024), gib(host.memoryGiB)]);
      for (const [field, limit, whole] of tooMuch) {
        const message = `${field} ${limit} exceeds the whole host ${host.instanceType} (${whole}): lower it or choose a larger host.instanceType`;
        if (own[field] === undefined) reportDefault(field, message);
        else problems.push({ path: ["developers", i, field], message: `developer "${d.name}": ${message}` });
      }
    });
  }

  const schedule = raw.schedule ? resolveSchedule(raw.schedule) : undefined;
  if (schedule) problems.push(...schedule.problems);

  if (problems.length > 0 || !host) return { problems };

  const state: StateBackend =
    stateOverride ??
    (raw.state.backend === "s3"
      ? {
          backend: "s3",
          bucket: raw.state.bucket,
          key: raw.state.key ?? defaultStateKey(raw),
          region: raw.state.region ?? raw.region,
        }
      : { backend: "local" });

  const fleet: Fleet = {
    project: raw.project,
    environment: raw.environment,
    namePrefix,
    region: raw.region,
    availabilityZones: zones,
    domain: raw.domain,
    host,
    codeServer: {
      image: raw.codeServer.image,
      tag: raw.codeServer.tag,
      claudeExtensionVersion: raw.codeServer.claudeExtensionVersion,
      extensions: raw.codeServer.extensions,
    },
    developers,
    state,
    // Absent rather than undefined, so a fleet without one is exactly what it was before schedules existed.
    ...(schedule?.schedule ? { schedule: schedule.schedule } : {}),
    waf: { enabled: raw.waf.enabled, rateLimitPer5Minutes: raw.waf.rateLimitPer5Minutes },
  };
  return { fleet: deepFreeze(fleet), problems };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}
