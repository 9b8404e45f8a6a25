/**
 * The roster's rules that look across fields: zones of the region, the host type and what fits
 * on it, limits against reservations, unique names, ports and priorities, names whose resources
 * would meet, the schedule. Each rule runs when the parts it reads are valid (`parts.ts`), so a
 * roster the schema refuses still gets every other problem reported with the schema's.
 */
import { authProblems } from "./auth";
import { targetGroupName } from "../naming";
import { collisionProblems } from "./collisions";
import type { HostSpec, Problem } from "./model";
import { INSTANCE_FAMILIES, INSTANCE_TYPES, architectureOf, isBurstable } from "./instance-types";
import { INVALID, partsOf, type Part } from "./parts";
import { fargateProblems, platformProblems, type RunningPlatforms } from "./platforms";
import { scheduleProblems } from "./schedule";
import {
  codeServerSchema,
  developerDefaultsSchema,
  developerSchema,
  rosterSchema,
  scheduleSchema,
  type DeveloperParts,
  type RawRoster,
  type RosterParts,
} from "./schema";

export const CLAUDE_EXTENSION_ID = "anthropic.claude-code";
/** ALB quota: rules per listener (the default action is not a rule); the host has one ALB. */
export const MAX_DEVELOPERS = 100;
/** The most developers one environment runs on ECS (its ALBs are sharded). */
export const MAX_ECS_DEVELOPERS = 1000;
/** ALB listener-rule priorities run 1..50000. */
export const MAX_PRIORITY = 50000;
/** AWS limit on target group names, which are `<project>-<environment>-<developer>`. */
export const MAX_TARGET_GROUP_NAME = 32;
/** The official image, whose tags carry no "v" (4.102.2, never v4.102.2). */
export const OFFICIAL_CODE_SERVER_IMAGE = "codercom/code-server";

const gib = (n: number) => `${+n.toFixed(2)} GiB`;

/** The zones of `region` a roster without `availabilityZones` gets. */
export function defaultZones(region: string): string[] {
  return [`${region}a`, `${region}b`];
}

/** The roster's parts, from its YAML as read (or from a parsed roster, whose parts are all valid). */
export function rosterParts(data: unknown): RosterParts {
  const top = partsOf(rosterSchema.shape, data);
  const raw = (key: string) =>
    data !== null && typeof data === "object" && Object.hasOwn(data, key) ? (data as Record<string, unknown>)[key] : undefined;
  // An absent section has its fields' defaults, as the schema's prefault gives it.
  const section = (key: string) => (raw(key) === undefined ? {} : raw(key));
  const developers = raw("developers");
  return {
    top,
    codeServer: partsOf(codeServerSchema.shape, section("codeServer")),
    developerDefaults: partsOf(developerDefaultsSchema.shape, section("developerDefaults")),
    developers: Array.isArray(developers) ? developers.map((d) => partsOf(developerSchema.shape, d)) : [],
    ...(raw("schedule") === undefined ? {} : { schedule: partsOf(scheduleSchema.shape, raw("schedule")) }),
  };
}

/** Every problem the cross-field rules find in the valid parts of a roster. */
export function crossFieldProblems(parts: RosterParts): Problem[] {
  const problems: Problem[] = [];
  checkZones(parts, problems);
  const { running, problems: platform } = platformProblems(parts);
  problems.push(...platform);
  const hostSection = parts.top.host;
  const host = running?.host && hostSection !== INVALID && hostSection !== undefined ? resolveHost(hostSection, problems) : undefined;
  checkImageTag(parts, problems);
  checkExtensionSpelling(parts, problems);
  checkTeamSize(parts, running, problems);
  const reportDefault = defaultReporter(problems);
  parts.developers.forEach((d, i) => checkDeveloper(parts, d, i, reportDefault, problems));
  checkUnique(parts, problems);
  problems.push(...collisionProblems(parts.developers.map((d) => (d.name === INVALID ? undefined : d.name))));
  if (host) checkCapacity(parts, host, reportDefault, problems);
  if (running?.ecs) problems.push(...fargateProblems(parts, (d, field) => effective(parts, d, field), reportDefault));
  if (parts.schedule) problems.push(...scheduleProblems(parts.schedule));
  checkSleep(parts, problems);
  problems.push(...authProblems(parts));
  return problems;
}

/**
 * A developer's own idle time overrides the team's, so it needs the team's `sleep` section; and
 * waking outside working hours needs working hours.
 */
function checkSleep(parts: RosterParts, problems: Problem[]): void {
  const { sleep, schedule } = parts.top;
  if (sleep === INVALID) return;
  if (sleep === undefined) {
    parts.developers.forEach((d, i) => {
      if (d.idleMinutes === undefined || d.idleMinutes === INVALID) return;
      problems.push({
        path: ["developers", i, "idleMinutes"],
        message: `${who(d, i)}: idleMinutes takes effect only when the team sleeps when idle: add a top-level sleep section (e.g. sleep: { idleMinutes: 120 }), or remove idleMinutes`,
      });
    });
  } else if (sleep.wakeOutsideHours && schedule === undefined) {
    problems.push({
      path: ["sleep", "wakeOutsideHours"],
      message:
        "sleep.wakeOutsideHours: true means nothing without a schedule (without one, every hour is a working hour): remove it, or add a schedule",
    });
  }
}

/**
 * The host serves at most one ALB's worth of developers; ECS shards them over several ALBs, up to
 * MAX_ECS_DEVELOPERS (beyond it a plan and an apply take too long to review and run as one).
 */
function checkTeamSize(parts: RosterParts, running: RunningPlatforms | undefined, problems: Problem[]): void {
  const count = parts.developers.length;
  if (running?.host && count > MAX_DEVELOPERS) {
    problems.push({
      path: ["developers"],
      message: `${count} developers is more than one ALB listener can route (${MAX_DEVELOPERS} rules) for the host: run them on platform: ecs, which spreads them over several load balancers, or split the team into two environments`,
    });
  } else if (running?.ecs && count > MAX_ECS_DEVELOPERS) {
    problems.push({
      path: ["developers"],
      message: `${count} developers is more than one environment holds (${MAX_ECS_DEVELOPERS} on ECS): split the team into two environments`,
    });
  }
}

function checkZones(parts: RosterParts, problems: Problem[]): void {
  const { region, availabilityZones } = parts.top;
  if (region === INVALID || availabilityZones === INVALID) return;
  const zones = availabilityZones ?? defaultZones(region);
  if (zones.length < 2) {
    problems.push({ path: ["availabilityZones"], message: "list at least two availability zones: the ALB needs subnets in two" });
  }
  zones.forEach((zone, i) => {
    if (!new RegExp(`^${region}[a-z]$`).test(zone)) {
      problems.push({ path: ["availabilityZones", i], message: `"${zone}" is not a zone of region ${region} (e.g. ${region}a)` });
    }
  });
  for (const [zone, idx] of findDuplicates(zones)) {
    problems.push({ path: ["availabilityZones", idx[1]], message: `zone "${zone}" is listed twice` });
  }
}

/** The host of a schema-valid `host` section, or undefined with the problem that keeps it from being one. */
export function resolveHost(host: NonNullable<RawRoster["host"]>, problems: Problem[]): HostSpec | undefined {
  const { instanceType, vcpus, memoryGiB, osHeadroomGiB } = host;
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

function checkImageTag(parts: RosterParts, problems: Problem[]): void {
  const { image, tag } = parts.codeServer;
  if (image === OFFICIAL_CODE_SERVER_IMAGE && tag !== INVALID && /^v\d/.test(tag)) {
    problems.push({
      path: ["codeServer", "tag"],
      message: `${image} publishes its releases without a "v" (e.g. 4.102.2): tag "${tag}" does not exist, write "${tag.slice(1)}"`,
    });
  }
}

/** An extension's id without its version, in the lower case code-server installs it by. */
export function extensionId(spec: string): string {
  return spec.split("@")[0].toLowerCase();
}

/**
 * Extension ids ignore case (code-server installs GoLang.Go as golang.go), so two spellings of
 * one id are a mistake: the second would silently replace the first. A developer may re-pin a
 * fleet extension, written the same way.
 */
function checkExtensionSpelling(parts: RosterParts, problems: Problem[]): void {
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
  const fleetList = parts.codeServer.extensions;
  const fleetWide = fleetList === INVALID ? claude : check(fleetList, ["codeServer", "extensions"], claude);
  parts.developers.forEach((d, i) => {
    if (d.extensions !== INVALID) check(d.extensions ?? [], ["developers", i, "extensions"], fleetWide);
  });
}

type ResourceField = "cpus" | "cpuLimit" | "memoryGiB" | "memoryLimitGiB";
type ReportDefault = (field: ResourceField, message: string) => void;

/** A bad default is one problem at its own line, not one per developer who inherits it. */
function defaultReporter(problems: Problem[]): ReportDefault {
  const reported = new Set<string>();
  return (field, message) => {
    if (reported.has(message)) return;
    reported.add(message);
    problems.push({ path: ["developerDefaults", field], message });
  };
}

/** A developer's value of a resource: their own, else the default (INVALID when the one that applies is). */
function effective(parts: RosterParts, d: DeveloperParts, field: ResourceField): Part<number> {
  const own = d[field];
  return own === undefined ? parts.developerDefaults[field] : own;
}

/** `developer "alice"`, or `developers[1]` when the name is not valid. */
function who(d: DeveloperParts, i: number): string {
  return d.name === INVALID ? `developers[${i}]` : `developer "${d.name}"`;
}

function checkDeveloper(parts: RosterParts, d: DeveloperParts, i: number, reportDefault: ReportDefault, problems: Problem[]): void {
  const at = (...rest: (string | number)[]) => ["developers", i, ...rest];
  const limitBelow = (limit: "cpuLimit" | "memoryLimitGiB", reservation: "cpus" | "memoryGiB", what: string) => {
    const limitValue = effective(parts, d, limit);
    const reserved = effective(parts, d, reservation);
    if (limitValue === INVALID || reserved === INVALID || limitValue >= reserved) return;
    if (d[limit] === undefined && d[reservation] === undefined) {
      reportDefault(
        limit,
        `${limit} ${limitValue} is below the ${what} reservation (${reservation}: ${reserved}) that every developer inherits with it`,
      );
    } else {
      problems.push({ path: at(limit), message: `${who(d, i)}: ${limit} ${limitValue} is below the ${what} reservation ${reserved}` });
    }
  };
  limitBelow("cpuLimit", "cpus", "cpu");
  limitBelow("memoryLimitGiB", "memoryGiB", "memory");
  if (d.priority === undefined && d.port !== INVALID && d.port > MAX_PRIORITY) {
    problems.push({
      path: at("port"),
      message: `${who(d, i)}: port ${d.port} cannot double as the ALB rule priority (1..${MAX_PRIORITY}); set priority explicitly, unique per developer`,
    });
  }
  const { project, environment } = parts.top;
  if (project === INVALID || environment === INVALID || d.name === INVALID) return;
  const namePrefix = `${project}-${environment}`;
  const tgName = targetGroupName({ namePrefix }, { name: d.name });
  if (tgName.length > MAX_TARGET_GROUP_NAME) {
    problems.push({
      path: at("name"),
      message: `developer name "${d.name}" is too long for AWS: its target group "${tgName}" would be ${tgName.length} characters, the limit is ${MAX_TARGET_GROUP_NAME}; use a name of at most ${MAX_TARGET_GROUP_NAME - namePrefix.length - 1} characters (or a shorter project/environment)`,
    });
  }
}

/** Indices of each value listed more than once; INVALID values are no value. */
function findDuplicates<T>(values: readonly Part<T>[]): Map<T, number[]> {
  const seen = new Map<T, number[]>();
  values.forEach((v, i) => {
    if (v !== INVALID) seen.set(v, [...(seen.get(v) ?? []), i]);
  });
  return new Map([...seen].filter(([, idx]) => idx.length > 1));
}

function checkUnique(parts: RosterParts, problems: Problem[]): void {
  const developers = parts.developers;
  const unique = (field: "name" | "port" | "priority", what: string, values: readonly Part<string | number>[]) => {
    for (const [value, idx] of findDuplicates(values)) {
      // A priority taken from a duplicated port is already reported as that port.
      if (field === "priority" && idx.every((i) => developers[i].priority === undefined)) continue;
      const where = idx.map((i) => `developers[${i}]`).join(", ");
      problems.push({
        path: ["developers", idx[1], field],
        message: `${what} ${JSON.stringify(value)} is used by more than one developer (${where}); each developer needs its own`,
      });
    }
  };
  unique(
    "name",
    "name",
    developers.map((d) => d.name),
  );
  unique(
    "port",
    "port",
    developers.map((d) => d.port),
  );
  const priorities = developers.map((d) => (d.port === INVALID || d.priority === INVALID ? INVALID : (d.priority ?? d.port)));
  unique("priority", "listener-rule priority (explicit, or taken from the port)", priorities);
}

/** Memory in MiB as the Fleet holds it (compose takes whole MiB). */
export const mib = (memoryGiB: number) => Math.round(memoryGiB * 1024);

/** The sum of every developer's value, or undefined when one is not known: a partial sum would understate the load. */
function total(values: readonly Part<number>[]): number | undefined {
  return values.includes(INVALID) ? undefined : (values as number[]).reduce((s, v) => s + v, 0);
}

function checkCapacity(parts: RosterParts, host: HostSpec, reportDefault: ReportDefault, problems: Problem[]): void {
  const developers = parts.developers;
  const cpuSum = total(developers.map((d) => effective(parts, d, "cpus")));
  const memoryMiB = total(developers.map((d) => effective(parts, d, "memoryGiB")).map((m) => (m === INVALID ? m : mib(m))));
  const needGiB = memoryMiB === undefined ? undefined : memoryMiB / 1024 + host.osHeadroomGiB;
  // A type that fits is named only when both loads are known.
  const better = cpuSum !== undefined && needGiB !== undefined ? suggestInstanceType(host.instanceType, cpuSum, needGiB) : undefined;
  const hint = better ? ` (${better} fits)` : "";
  const fits = `the roster does not fit ${host.instanceType}: ${developers.length} developers reserve`;
  if (cpuSum !== undefined && cpuSum > host.vcpus) {
    problems.push({
      path: ["host", "instanceType"],
      message: `${fits} ${+cpuSum.toFixed(2)} vCPU but it has ${host.vcpus}. Choose a larger host.instanceType${hint}, lower cpus, or remove developers`,
    });
  }
  if (memoryMiB !== undefined && needGiB !== undefined && needGiB > host.memoryGiB) {
    problems.push({
      path: ["host", "instanceType"],
      message: `${fits} ${gib(memoryMiB / 1024)} of memory plus ${gib(host.osHeadroomGiB)} OS headroom = ${gib(needGiB)}, but it has ${gib(host.memoryGiB)}. Choose a larger host.instanceType${hint}, lower memoryGiB, or remove developers`,
    });
  }
  developers.forEach((d, i) => {
    const cpuLimit = effective(parts, d, "cpuLimit");
    const memoryLimit = effective(parts, d, "memoryLimitGiB");
    const tooMuch: [field: ResourceField, limit: string, whole: string][] = [];
    if (cpuLimit !== INVALID && cpuLimit > host.vcpus) tooMuch.push(["cpuLimit", `${cpuLimit} vCPU`, `${host.vcpus} vCPU`]);
    if (memoryLimit !== INVALID && mib(memoryLimit) > host.memoryGiB * 1024) {
      tooMuch.push(["memoryLimitGiB", gib(mib(memoryLimit) / 1024), gib(host.memoryGiB)]);
    }
    for (const [field, limit, whole] of tooMuch) {
      const message = `${field} ${limit} exceeds the whole host ${host.instanceType} (${whole}): lower it or choose a larger host.instanceType`;
      if (d[field] === undefined) reportDefault(field, message);
      else problems.push({ path: ["developers", i, field], message: `${who(d, i)}: ${message}` });
    }
  });
}
