/**
 * The settings the sleeper and the wake Lambdas share, from their environment. Plain settings
 * only (no secret, no per-developer list: Lambda holds at most 4 KB of environment, and who
 * exists is read from the load balancers' rules). Every problem is reported at once, each naming
 * its variable and what it must hold.
 */
import { scheduleProblems, TIME_OF_DAY, WEEKDAYS, type Schedule, type Weekday } from "../../roster/schedule";

export type Platform = "host" | "ecs";

/** One load balancer's HTTPS listener and the wake target group its developers' rules forward to. */
export interface Listener {
  readonly listenerArn: string;
  readonly wakeTargetGroupArn: string;
}

/** The one EC2 host every developer runs on, with the platform `host`. */
export interface HostSettings {
  readonly instanceId: string;
  /** Name of the fleet's SSM document that runs start-containers.sh or stop-containers.sh. */
  readonly scriptDocument: string;
  /** Full names of the host's alarms that sleep with it. */
  readonly alarmNames: readonly string[];
}

export interface SleepConfig {
  readonly platform: Platform;
  /** `<project>-<environment>`: prefixes alarm names; the ECS cluster's name. */
  readonly namePrefix: string;
  /** Developers are `<name>.<domain>`. */
  readonly domain: string;
  readonly listeners: readonly Listener[];
  /** With the platform `host` only. */
  readonly host?: HostSettings;
  /** The working hours, when the fleet has them. */
  readonly schedule?: Schedule;
  /** Whether a visit outside the working hours wakes a sleeping developer. */
  readonly wakeOutsideHours: boolean;
}

const NAME_PREFIX = /^[a-z][a-z0-9-]*[a-z0-9]$/;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
const ELB_ARN = (kind: string) => new RegExp(`^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\\d{12}:${kind}/[A-Za-z0-9/_-]+$`);
const LISTENER_ARN = ELB_ARN("listener");
const TARGET_GROUP_ARN = ELB_ARN("targetgroup");
const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;
const SSM_DOCUMENT = /^[A-Za-z0-9_.-]{3,128}$/;
const ALARM_NAME = /^[^\s,]{1,255}$/;

type Env = Readonly<Record<string, string | undefined>>;

/** Reads the environment's variables, collecting what is wrong with each. */
class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  text(name: string, pattern: RegExp, what: string, optional = false): string {
    const value = this.env[name];
    if (value === undefined || value === "") {
      if (!optional) this.problems.push(`${name} is not set: it must be ${what}`);
    } else if (!pattern.test(value)) this.problems.push(`${name} is ${JSON.stringify(value)}: it must be ${what}`);
    return value ?? "";
  }

  json(name: string, what: string, optional = false): unknown {
    const value = this.env[name];
    if (value === undefined || value === "") {
      if (!optional) this.problems.push(`${name} is not set: it must be ${what}`);
      return undefined;
    }
    try {
      return JSON.parse(value);
    } catch {
      this.problems.push(`${name} is not JSON: it must be ${what}`);
      return undefined;
    }
  }

  list(name: string, pattern: RegExp, what: string, minimum = 1): string[] {
    const value = this.json(name, `a JSON array of ${what}`);
    if (value === undefined) return [];
    const bad = Array.isArray(value) ? value.filter((v) => typeof v !== "string" || !pattern.test(v)) : [];
    if (!Array.isArray(value) || value.length < minimum) {
      this.problems.push(`${name} must be a JSON array of ${minimum > 0 ? "at least one of " : ""}${what}`);
    } else if (bad.length > 0) {
      this.problems.push(`${name} holds ${bad.map((v) => JSON.stringify(v)).join(", ")}: each entry must be ${what}`);
    }
    return Array.isArray(value) ? (value as string[]) : [];
  }
}

/** The working hours of SCHEDULE, as the roster's `schedule` holds them, or what is wrong with them. */
function scheduleOf(reader: Reader): Schedule | undefined {
  const what = 'the roster\'s schedule as JSON, {"timezone": "Asia/Bangkok", "days": ["mon"], "start": "08:00", "stop": "20:00"}';
  const value = reader.json("SCHEDULE", what, true) as Record<string, unknown> | undefined;
  if (value === undefined) return undefined;
  const { timezone, days, start, stop } = value ?? {};
  const texts = typeof timezone === "string" && [start, stop].every((v) => typeof v === "string" && TIME_OF_DAY.test(v));
  if (!texts || !Array.isArray(days) || days.length === 0 || !days.every((d) => typeof d === "string")) {
    reader.problems.push(`SCHEDULE must be ${what}`);
    return undefined;
  }
  const schedule = { timezone, days, start, stop } as { timezone: string; days: string[]; start: string; stop: string };
  const problems = scheduleProblems(schedule);
  if (problems.length > 0) {
    reader.problems.push(...problems.map((p) => `SCHEDULE: ${p.message}`));
    return undefined;
  }
  return { ...schedule, days: WEEKDAYS.filter((d: Weekday) => schedule.days.includes(d)) };
}

function hostOf(reader: Reader): HostSettings {
  return {
    instanceId: reader.text("HOST_INSTANCE_ID", INSTANCE_ID, "the host's EC2 instance id, i-0123456789abcdef0"),
    scriptDocument: reader.text(
      "HOST_SCRIPT_DOCUMENT",
      SSM_DOCUMENT,
      "the name of the fleet's SSM document that runs the host scripts, e.g. code-server-dev-host-script",
    ),
    alarmNames: reader.list("HOST_ALARMS", ALARM_NAME, "alarm names (the host's alarms that sleep with it)", 0),
  };
}

/** The settings of `env`, or an error that names each variable that is missing or wrong. */
export function loadConfig(env: Env): SleepConfig {
  const reader = new Reader(env);
  const platform = reader.text("PLATFORM", /^(host|ecs)$/, "host or ecs") as Platform;
  const namePrefix = reader.text("NAME_PREFIX", NAME_PREFIX, "the fleet's <project>-<environment>, e.g. code-server-dev");
  const domain = reader.text("DOMAIN", DOMAIN, "the roster's domain in lower case, e.g. dev.example.com");
  const listenerArns = reader.list("LISTENERS", LISTENER_ARN, "HTTPS listener ARNs, one per load balancer");
  const wakeArns = reader.list("WAKE_TARGET_GROUPS", TARGET_GROUP_ARN, "target group ARNs, the wake group of each load balancer");
  if (listenerArns.length > 0 && wakeArns.length > 0 && listenerArns.length !== wakeArns.length) {
    reader.problems.push(
      `LISTENERS has ${listenerArns.length} listeners but WAKE_TARGET_GROUPS ${wakeArns.length} groups: give one wake group per listener, in the same order`,
    );
  }
  const host = platform === "host" ? hostOf(reader) : undefined;
  const schedule = scheduleOf(reader);
  const wakeOutsideHours = reader.text("WAKE_OUTSIDE_HOURS", /^(true|false)$/, "true or false, or unset", true) === "true";
  if (reader.problems.length > 0) throw new Error(`the function's environment is wrong:\n  ${reader.problems.join("\n  ")}`);
  return {
    platform,
    namePrefix,
    domain,
    listeners: listenerArns.map((listenerArn, i) => ({ listenerArn, wakeTargetGroupArn: wakeArns[i] })),
    ...(host ? { host } : {}),
    ...(schedule ? { schedule } : {}),
    wakeOutsideHours,
  };
}
