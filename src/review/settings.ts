/**
 * A developer's own settings as the roster states them, compared between two fleets. Limits and
 * extensions reach the host through the rendered files alone, so the Terraform diff shows them
 * only as a changed compose file of the whole fleet; the review names them under the developer.
 * Every field of a roster developer is classified here, compared or left out with the reason, so
 * that a field added to the schema does not compile until the review knows what to say of it.
 */
import type { Developer, Fleet } from "../roster";
import type { RawRoster } from "../roster/schema";

/** How a field is compared: the line for its change from `was` to `now`, or undefined when it did not change. */
interface Compared {
  readonly change: (was: Developer, now: Developer, fleets: { readonly bothOidc: boolean }) => string | undefined;
}

/** A field the review does not list, and why. */
interface LeftOut {
  readonly leftOut: string;
}

type DeveloperField = keyof RawRoster["developers"][number];

/** `label: was → now` when `read` differs, followed by `effect` when the header's container recreation is not what happens. */
const value =
  (label: string, read: (d: Developer) => number, effect?: (now: number) => string): Compared["change"] =>
  (was, now) =>
    read(was) === read(now) ? undefined : `${label}: ${read(was)} → ${read(now)}${effect ? ` (${effect(read(now))})` : ""}`;

/** Whom the sign-in gate admits at `d`'s URL. */
const admitted = (d: Developer) => (!d.identity ? "nobody" : "sub" in d.identity ? `sub ${d.identity.sub}` : d.identity.email);

/**
 * The gate admits one identity, the sub when the roster gives it, else the email (lower case), so
 * the two fields are compared as that one identity. Only between two OpenID Connect fleets: a
 * change of how developers sign in is said once for the fleet.
 */
const identityChange: Compared["change"] = (was, now, { bothOidc }) =>
  !bothOidc || admitted(was) === admitted(now)
    ? undefined
    : `email/sub: ${admitted(was)} → ${admitted(now)} (who may sign in changes: from the apply on, the sign-in gate at ${now.hostname} admits ${admitted(now)} and no longer ${admitted(was)}; make sure that is ${now.name})`;

const extensionChange: Compared["change"] = (was, now) => {
  const added = now.extensions.filter((e) => !was.extensions.includes(e));
  const removed = was.extensions.filter((e) => !now.extensions.includes(e));
  return added.length === 0 && removed.length === 0
    ? undefined
    : `extensions: ${[...added.map((e) => `+${e}`), ...removed.map((e) => `-${e}`)].join(", ")}`;
};

/** Every field of a roster developer, in the schema's order, which is the order of the review's lines. */
export const DEVELOPER_SETTINGS: Readonly<Record<DeveloperField, Compared | LeftOut>> = {
  name: { leftOut: "it is who the developer is: a renamed developer is one removed and another added" },
  port: { change: value("port", (d) => d.port) },
  priority: {
    change: value(
      "priority",
      (d) => d.priority,
      () => "the order of the load balancer's rules; nothing restarts",
    ),
  },
  cpus: { change: value("cpus", (d) => d.cpus) },
  cpuLimit: { change: value("cpuLimit", (d) => d.cpuLimit) },
  memoryGiB: { change: value("memoryGiB", (d) => d.memoryMiB / 1024) },
  memoryLimitGiB: { change: value("memoryLimitGiB", (d) => d.memoryLimitMiB / 1024) },
  extensions: { change: extensionChange },
  idleMinutes: {
    change: value(
      "idleMinutes",
      (d) => d.idleMinutes,
      (now) =>
        `${now === 0 ? "their environment no longer sleeps" : `their environment sleeps after ${now} minutes without activity`}; nothing restarts`,
    ),
  },
  email: { change: identityChange },
  sub: { leftOut: "compared with email as the one identity the sign-in gate admits, on email's line" },
};

/** How a developer's changed settings take effect on the platform that serves them, said once after their settings. */
export function appliedBy(platform: "host" | "ecs"): string {
  return platform === "ecs"
    ? "the apply replaces their task definition, and ECS their task, when CPU, memory or extensions change"
    : "the next apply on the host recreates the container with a changed port, CPU, memory or extensions";
}

/** Each developer in both fleets whose settings differ, with one line per changed setting. */
export function settingChanges(base: Fleet, current: Fleet): Map<string, string[]> {
  const before = new Map(base.developers.map((d) => [d.name, d]));
  const fleets = { bothOidc: base.auth.type === "oidc" && current.auth.type === "oidc" };
  const compared = Object.values(DEVELOPER_SETTINGS).filter((setting): setting is Compared => "change" in setting);
  const changes = new Map<string, string[]>();
  for (const now of current.developers) {
    const was = before.get(now.name);
    if (!was) continue;
    const lines = compared.map(({ change }) => change(was, now, fleets)).filter((line): line is string => line !== undefined);
    if (lines.length > 0) changes.set(now.name, lines);
  }
  return changes;
}
