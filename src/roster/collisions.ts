/**
 * Two developers whose resources would meet. Every per-developer resource has a construct id
 * made from the developer's name (`developerConstructIds`), and making one is lossy: a run of
 * '-' becomes one '-' (`ab-1` and `ab--1` give one S3 object), and one id is another's with a
 * suffix (`tg-ab-host` is the attachment of `ab` and the target group of `ab-host`). Synthesis
 * would stop with a stack trace; the roster refuses the pair in its own words instead.
 */
import { developerConstructIds } from "../naming";
import type { Problem } from "./model";

type Ids = ReturnType<typeof developerConstructIds>;
type Resource = { [Layer in keyof Ids]: `${Layer}.${keyof Ids[Layer] & string}` }[keyof Ids];

/** What each resource is, as a reviewer says it; typed, so a new resource needs its words here. */
const WHAT: Readonly<Record<Resource, string>> = {
  "alb.targetGroup": "ALB target group",
  "alb.targetGroupAttachment": "ALB target-group attachment",
  "alb.listenerRule": "ALB listener rule",
  "alb.dnsRecord": "DNS record",
  "artifacts.configTemplate": "S3 object of the code-server config",
  "monitoring.logGroup": "log group",
  "monitoring.unhealthyAlarm": "unhealthy-target alarm",
  "monitoring.restartsAlarm": "restarts alarm",
  "monitoring.diskShareAlarm": "disk-share alarm",
  "monitoring.notRunningAlarm": "not-running alarm",
  "monitoring.taskCpuAlarm": "task CPU alarm",
  "monitoring.taskMemoryAlarm": "task memory alarm",
  "secrets.password": "password secret",
  "secrets.anthropic-api-key": "API key secret",
  "secrets.gate-cookie-key": "sign-in gate's cookie key secret",
  "ecsHomes.accessPoint": "EFS access point of the home",
  "ecs.taskRole": "ECS task role",
  "ecs.taskRolePolicy": "ECS task role policy",
  "ecs.taskDefinition": "ECS task definition",
  "ecs.service": "ECS service",
  "schedule.start": "schedule that starts the ECS service",
  "schedule.stop": "schedule that stops the ECS service",
};

/** Each resource of a developer: what it is and its id, unique within its layer. */
function resourcesOf(name: string): { resource: Resource; id: string }[] {
  return Object.entries(developerConstructIds({ name })).flatMap(([layer, ids]) =>
    Object.entries(ids as Record<string, string>).map(([key, id]) => ({ resource: `${layer}.${key}` as Resource, id: `${layer}/${id}` })),
  );
}

/**
 * One problem per pair of developers whose resources would meet, at the later one's name.
 * `names` holds each developer's valid name (undefined for one the schema refused); two equal
 * names are the duplicate-name rule's to report.
 */
export function collisionProblems(names: readonly (string | undefined)[]): Problem[] {
  const owners = new Map<string, { index: number; name: string; resource: Resource }>();
  const problems: Problem[] = [];
  names.forEach((name, j) => {
    if (name === undefined) return;
    const reported = new Set<number>();
    for (const { resource, id } of resourcesOf(name)) {
      const owner = owners.get(id);
      if (owner && owner.name !== name && !reported.has(owner.index)) {
        reported.add(owner.index);
        problems.push({ path: ["developers", j, "name"], message: collisionMessage(owner, { name, resource }, id) });
      } else if (!owner) {
        owners.set(id, { index: j, name, resource });
      }
    }
  });
  return problems;
}

function collisionMessage(
  earlier: { index: number; name: string; resource: Resource },
  later: { name: string; resource: Resource },
  scopedId: string,
): string {
  const id = scopedId.slice(scopedId.indexOf("/") + 1);
  const reason =
    earlier.resource === later.resource
      ? `the ${WHAT[later.resource]} of each would be ${id}, since a resource id writes a run of '-' as one '-'`
      : `the ${WHAT[later.resource]} of "${later.name}" and the ${WHAT[earlier.resource]} of "${earlier.name}" would both be ${id}`;
  return `developer "${later.name}" clashes with "${earlier.name}" (developers[${earlier.index}]): ${reason}. Rename one of the two`;
}
