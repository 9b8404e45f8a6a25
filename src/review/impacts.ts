/**
 * What developers will notice of a plan: every replacement or destruction of a resource a
 * developer depends on (the load balancer and its listeners, a target group and its attachment, a
 * listener rule, a DNS record, the certificate, a secret, on ECS their task definition), said in
 * the developer's terms, and a listener rule that starts or stops forwarding through sleep when
 * idle's wake page. A
 * removed developer gets one sentence for all their resources. Each impact makes the review exit 3.
 * Load-balancing resources that serve no URL (serving.ts) are no impact.
 */
import type { PlanJson, ResourceChange } from "../terraform/plan-json";
import type { ReviewedChange } from "./planned";
import { GUIDE_LINKS } from "../naming";
import { servedBefore, text } from "./serving";

export interface Impact {
  /** Who notices: a developer, or undefined for every developer. */
  readonly developer?: string;
  /** The resources it comes from. */
  readonly addresses: readonly string[];
  /** What they will notice. */
  readonly notice: string;
}

type Before = Readonly<Record<string, unknown>> | null | undefined;
/** The platform that serves the developers after the change: what a task definition's replacement means depends on it. */
export type ServingPlatform = "host" | "ecs";
interface Context {
  readonly change: ReviewedChange;
  readonly before: Before;
  readonly after: Before;
  readonly platform: ServingPlatform;
}

/**
 * A developer's replaced task definition on ECS: their service rolls to the new revision, stopping
 * the running task first (never two tasks on one home). A task definition of nobody's (the
 * maintenance task's), or one ECS does not serve from yet (a migration preparing ECS), is no one's notice.
 */
function taskNotice({ change, platform }: Context): string | undefined {
  if (platform !== "ecs" || !change.developer || change.action !== "replace") return undefined;
  const forced = change.forcedBy.length > 0 ? ` (its ${change.forcedBy.join(", ")} changes)` : "";
  return `their task is replaced${forced}: their editor is unreachable for a minute or two while the new task starts; open terminals and running processes end, their home stays`;
}

/** A replaced or destroyed DNS record: the URL it serves moves, or stops resolving. */
function recordNotice({ change, before, after }: Context): string | undefined {
  // Only the alias records serve URLs; the certificate's validation record goes with the certificate.
  if (!Array.isArray(before?.alias) || before.alias.length === 0) return undefined;
  const was = text(before?.name).replace(/\.$/, "");
  const now = text(after?.name).replace(/\.$/, "");
  if (change.action === "delete") return `https://${was} stops resolving`;
  if (now && was && now !== was) return `the URL moves from https://${was} to https://${now}; the old one stops resolving`;
  return `https://${was} stops resolving for a moment while its record is created again`;
}

/** A replaced or destroyed secret: which one, and what it takes to use it again. */
function secretNotice({ change, before }: Context): string {
  const name = text(before?.name);
  const window = typeof before?.recovery_window_in_days === "number" ? before.recovery_window_in_days : undefined;
  const kept = window ? `scheduled for deletion (recoverable for ${window} days)` : "deleted";
  const what = name.endsWith("/password") ? "password" : name.endsWith("/anthropic-api-key") ? "Anthropic API key" : `secret ${name}`;
  if (change.action === "delete") return `their ${what} is ${kept}`;
  const again =
    what === "password"
      ? "the host generates a new password at its next apply, which they must be given again (show-password.sh)"
      : what === "Anthropic API key"
        ? "the key must be set again (set-api-key.sh)"
        : "its value must be set again";
  return `their ${what} is ${kept} and a new, empty secret takes its place: ${again}`;
}

/** What a developer notices of a replaced or destroyed resource of each type they depend on. */
const NOTICES: Readonly<Record<string, (context: Context) => string | undefined>> = {
  aws_lb: ({ change }) =>
    change.action === "delete"
      ? "no URL answers: the load balancer is destroyed"
      : "no URL answers until the new load balancer is up and the DNS records point at it",
  aws_lb_listener: ({ change }) =>
    change.action === "delete" ? "a listener of the load balancer is destroyed" : "URLs stop answering while the listener is created again",
  aws_lb_target_group: ({ change }) =>
    change.action === "delete"
      ? "their URL no longer reaches an editor"
      : "their editor is unreachable until the new target group has the host registered and its health checks pass (about a minute)",
  aws_lb_target_group_attachment: ({ change }) =>
    change.action === "delete"
      ? "the load balancer no longer sends their requests to the host"
      : change.forcedBy.includes("port")
        ? "their editor is unreachable from the apply until the host has recreated their container on the new port and it passes the load balancer's health checks (a minute or two)"
        : change.forcedBy.includes("target_id")
          ? "their editor is unreachable until the new host is up, registered and passing the health checks"
          : "their editor is unreachable until the host is registered again and passes the health checks (about a minute)",
  aws_lb_listener_rule: ({ change }) =>
    change.action === "delete"
      ? "their URL answers 404"
      : "their URL answers 404 between the old rule's removal and the new one's creation",
  aws_route53_record: recordNotice,
  aws_acm_certificate: ({ change }) =>
    change.action === "delete"
      ? "HTTPS loses its certificate"
      : `HTTPS switches to a new certificate${change.createFirst ? ", requested and validated through DNS before the old one is removed" : ""}`,
  aws_secretsmanager_secret: secretNotice,
  aws_ecs_task_definition: taskNotice,
};

/** The resource types a developer depends on: their replacement or destruction is an impact. */
export const DEVELOPER_FACING_TYPES: readonly string[] = Object.keys(NOTICES);

const beforeAfter = (plan: PlanJson | undefined) =>
  new Map<string, ResourceChange["change"]>((plan?.resource_changes ?? []).map((c) => [c.address, c.change]));

/** One sentence for a removed developer: their resources go, their data stays (where depends on the platform). */
function removal(developer: string, changes: readonly ReviewedChange[], platform: ServingPlatform): Impact {
  const types = new Set(changes.map((c) => c.type));
  const gone = [
    types.has("aws_route53_record") ? "DNS record" : "",
    types.has("aws_lb_listener_rule") ? "listener rule" : "",
    types.has("aws_lb_target_group") ? "target group" : "",
  ].filter(Boolean);
  const secrets = types.has("aws_secretsmanager_secret")
    ? `, their password and API key secrets are scheduled for deletion (recoverable for their recovery window: ${GUIDE_LINKS.readdDeveloper})`
    : "";
  return {
    developer,
    addresses: changes.map((c) => c.address),
    notice:
      `removed: their URL stops answering${gone.length > 0 ? ` (${gone.join(", ")} destroyed)` : ""}${secrets}, ` +
      (platform === "ecs"
        ? `their service stops and their access point is deleted, and their home stays on the homes' file system at /home/${developer} (nothing is deleted; archive it before the apply with archive-home.sh, synthesized while the roster still names them: ${GUIDE_LINKS.removeDeveloper})`
        : "and the next apply on the host archives their home to the archive bucket before it moves it aside (nothing is deleted)"),
  };
}

/** How many target groups a listener rule's forward action shares its requests between (1 for a plain forward). */
function forwardGroups(values: Before): number {
  const [action] = Array.isArray(values?.action) ? (values.action as Record<string, unknown>[]) : [];
  const [forward] = Array.isArray(action?.forward) ? (action.forward as Record<string, unknown>[]) : [];
  const groups = Array.isArray(forward?.target_group) ? forward.target_group.length : 0;
  return groups > 0 ? groups : action?.target_group_arn ? 1 : 0;
}

/**
 * A developer's rule updated in place between a plain forward and sleep when idle's weighted
 * forward beside the wake group: their URL starts or stops going through the wake page.
 */
function sleepNotice({ change, before, after }: Context): string | undefined {
  if (change.type !== "aws_lb_listener_rule" || change.action !== "update") return undefined;
  const [was, now] = [forwardGroups(before), forwardGroups(after)];
  if (was === 1 && now === 2) {
    return "their environment now sleeps (after their idle minutes, or at the end of the working hours), and opening their URL while it sleeps shows a page that starts it again (a moment's wait)";
  }
  if (was === 2 && now === 1) {
    return "their environment no longer sleeps: their URL goes straight to their editor, so if it sleeps at the apply, the URL answers 503 until it is started again (wake.sh, or the service's desired count)";
  }
  return undefined;
}

/**
 * The impacts of `changes` (from `plan`, whose before/after values the notices read).
 * `removedDevelopers` are the developers the roster change removes; `platform` serves them after it.
 */
export function impactsOf(
  changes: readonly ReviewedChange[],
  plan: PlanJson | undefined,
  removedDevelopers: readonly string[],
  platform: ServingPlatform = "host",
): Impact[] {
  const values = beforeAfter(plan);
  // A load balancer no DNS record points at (and its listeners, rules and target groups) serves nobody.
  const serving = servedBefore(plan);
  const dangerous = changes.filter((c) => (c.action === "replace" || c.action === "delete") && c.type in NOTICES && serving(c.address));
  const impacts: Impact[] = [];
  for (const developer of removedDevelopers) {
    const theirs = dangerous.filter((c) => c.developer === developer);
    if (theirs.length > 0) impacts.push(removal(developer, theirs, platform));
  }
  for (const change of dangerous) {
    if (change.developer && removedDevelopers.includes(change.developer)) continue;
    const { before, after } = values.get(change.address) ?? { before: null, after: null };
    const notice = NOTICES[change.type]({ change, before, after, platform });
    if (notice) impacts.push({ developer: change.developer, addresses: [change.address], notice });
  }
  for (const change of changes.filter((c) => c.type === "aws_lb_listener_rule" && c.action === "update" && serving(c.address))) {
    const { before, after } = values.get(change.address) ?? { before: null, after: null };
    const notice = sleepNotice({ change, before, after, platform });
    if (notice) impacts.push({ developer: change.developer, addresses: [change.address], notice });
  }
  return impacts;
}
