/**
 * What the ECS leg reads from a synthesized stack, as the ECS agent and EFS would get it: each task
 * definition's containers and volumes, each access point's root directory and creation owner, each
 * service's load balancer target, and which secrets the secret initializer fills. Terraform
 * references (`${aws_...}`) are resolved to the resources they name in the same stack; nothing here
 * knows what the project puts in a task definition.
 */
import type { TerraformJson } from "../../src/terraform/plan-json";

/** A container definition, in the fields the engine can honour (the rest are the concessions'). */
export interface ContainerDefinition {
  readonly name: string;
  readonly image: string;
  readonly essential?: boolean;
  readonly user?: string;
  readonly entryPoint?: readonly string[];
  readonly command?: readonly string[];
  readonly environment?: readonly { name: string; value: string }[];
  readonly secrets?: readonly { name: string; valueFrom: string }[];
  readonly mountPoints?: readonly { sourceVolume: string; containerPath: string; readOnly?: boolean }[];
  readonly readonlyRootFilesystem?: boolean;
  readonly linuxParameters?: { capabilities?: { add?: readonly string[]; drop?: readonly string[] }; initProcessEnabled?: boolean };
  readonly ulimits?: readonly { name: string; softLimit: number; hardLimit: number }[];
  readonly dependsOn?: readonly { containerName: string; condition: "START" | "COMPLETE" | "SUCCESS" | "HEALTHY" }[];
  readonly healthCheck?: { command: readonly string[]; interval?: number; timeout?: number; retries?: number; startPeriod?: number };
  readonly portMappings?: readonly { containerPort: number }[];
}

/** An EFS access point: the directory it roots its users in, and who owns it when EFS creates it. */
export interface AccessPoint {
  /** The resource's id in the stack (`aws_efs_access_point.<id>`). */
  readonly id: string;
  readonly path: string;
  /** Owner and mode EFS gives the directory when it creates it; absent: the directory must exist. */
  readonly creation?: { readonly uid: number; readonly gid: number; readonly mode: number };
  /** The identity every access through it takes, whoever asks. */
  readonly posixUser?: { readonly uid: number; readonly gid: number };
}

/** A task volume: an EFS access point's directory, or the task's own scratch storage. */
export type Volume =
  { readonly name: string; readonly accessPoint: AccessPoint } | { readonly name: string; readonly accessPoint?: undefined };

export interface TaskDefinition {
  readonly family: string;
  readonly networkMode: string;
  readonly containers: readonly ContainerDefinition[];
  readonly volumes: readonly Volume[];
}

/** A service's target: which container and port the load balancer forwards its host name to. */
export interface ServiceTarget {
  readonly service: string;
  readonly family: string;
  readonly host: string;
  readonly container: string;
  readonly port: number;
}

export interface EcsStack {
  /** By family. */
  readonly tasks: ReadonlyMap<string, TaskDefinition>;
  readonly services: readonly ServiceTarget[];
  /** Secret names by the reference a task definition's `valueFrom` holds. */
  readonly secretNames: ReadonlyMap<string, string>;
  /** The secrets the secret initializer gives a random password, and those it gives a placeholder. */
  readonly initializer: { readonly passwords: readonly string[]; readonly placeholders: readonly string[] };
}

type Resources = TerraformJson["resource"];

/** `${aws_type.id.attribute}` as [type, id], or undefined when the value is no single reference. */
export function referenceOf(value: unknown): [string, string] | undefined {
  const m = typeof value === "string" ? /^\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.[a-z_]+\}$/.exec(value) : null;
  return m ? [m[1], m[2]] : undefined;
}

function resolve(resources: Resources, value: unknown, type: string): [string, Record<string, unknown>] {
  const ref = referenceOf(value);
  const resource = ref && ref[0] === type ? resources[type]?.[ref[1]] : undefined;
  if (!ref || !resource) throw new Error(`${JSON.stringify(value)} is not a reference to an ${type} of the synthesized stack`);
  return [ref[1], resource];
}

function accessPointOf(resources: Resources, reference: unknown): AccessPoint {
  const [id, ap] = resolve(resources, reference, "aws_efs_access_point");
  const root = ap.root_directory as { path: string; creation_info?: { owner_uid: number; owner_gid: number; permissions: string } };
  const user = ap.posix_user as { uid: number; gid: number } | undefined;
  const info = root.creation_info;
  return {
    id,
    path: root.path,
    creation: info && { uid: info.owner_uid, gid: info.owner_gid, mode: parseInt(info.permissions, 8) },
    posixUser: user && { uid: user.uid, gid: user.gid },
  };
}

function taskDefinitionOf(resources: Resources, td: Record<string, unknown>): TaskDefinition {
  const volumes = (
    (td.volume ?? []) as { name: string; efs_volume_configuration?: { authorization_config?: { access_point_id?: string } } }[]
  ).map((v): Volume => {
    const efs = v.efs_volume_configuration;
    if (!efs) return { name: v.name };
    return { name: v.name, accessPoint: accessPointOf(resources, efs.authorization_config?.access_point_id) };
  });
  return {
    family: td.family as string,
    networkMode: td.network_mode as string,
    containers: JSON.parse(td.container_definitions as string) as ContainerDefinition[],
    volumes,
  };
}

function serviceTargetOf(resources: Resources, service: Record<string, unknown>): ServiceTarget | undefined {
  const [balancer] = (service.load_balancer ?? []) as { container_name: string; container_port: number; target_group_arn: string }[];
  if (!balancer) return undefined;
  const family = resolve(resources, service.task_definition, "aws_ecs_task_definition")[1].family as string;
  const [groupId] = resolve(resources, balancer.target_group_arn, "aws_lb_target_group");
  const rule = Object.values(resources.aws_lb_listener_rule ?? {}).find((r) =>
    (r.action as { target_group_arn?: string }[]).some((a) => referenceOf(a.target_group_arn)?.[1] === groupId),
  );
  const host = (rule?.condition as { host_header?: { values: string[] } }[] | undefined)?.find((c) => c.host_header)?.host_header
    ?.values[0];
  if (!host) throw new Error(`no listener rule forwards a host name to the target group of the service ${String(service.name)}`);
  return { service: service.name as string, family, host, container: balancer.container_name, port: balancer.container_port };
}

/** The ARNs the initializer's input (JSON text with references) lists under `key`, as resource ids of aws_secretsmanager_secret. */
function initializerList(input: string, key: string): string[] {
  const list = (JSON.parse(input) as Record<string, string[] | undefined>)[key] ?? [];
  return list.map((arn) => {
    const id = /^\$\{aws_secretsmanager_secret\.([A-Za-z0-9_-]+)\.arn\}$/.exec(arn)?.[1];
    if (!id) throw new Error(`the secret initializer's input lists ${arn} under ${key}, not a secret's ARN`);
    return id;
  });
}

/** The ECS side of a synthesized stack. */
export function ecsStackOf(config: TerraformJson): EcsStack {
  const resources = config.resource ?? {};
  const tasks = new Map(
    Object.values(resources.aws_ecs_task_definition ?? {}).map((td) => [td.family as string, taskDefinitionOf(resources, td)]),
  );
  if (tasks.size === 0) throw new Error("the synthesized stack has no aws_ecs_task_definition: is the roster's platform ecs?");
  const services = Object.values(resources.aws_ecs_service ?? {})
    .map((s) => serviceTargetOf(resources, s))
    .filter((s): s is ServiceTarget => s !== undefined);
  const secrets = resources.aws_secretsmanager_secret ?? {};
  const secretNames = new Map(Object.entries(secrets).map(([id, s]) => [`\${aws_secretsmanager_secret.${id}.arn}`, s.name as string]));
  const invocations = Object.values(resources.aws_lambda_invocation ?? {}).map((i) => String(i.input));
  const names = (key: string) => invocations.flatMap((input) => initializerList(input, key)).map((id) => secrets[id].name as string);
  return { tasks, services, secretNames, initializer: { passwords: names("secretArns"), placeholders: names("placeholderArns") } };
}
