/**
 * The pricers of the ECS platform's billable types: each developer's Fargate task while it runs
 * (its vCPU, memory and public address), the homes on EFS, the NAT gateway of a private network
 * and its address, and the Container Insights metrics of the cluster.
 */
import type { ProviderBlock, TerraformJson } from "../terraform/plan-json";
import { isHome, line, nameOf, plural, refersTo, type Priced, type Pricer, type PricingContext } from "./lines";
import type { PriceId } from "./prices";
import { HOURS_PER_MONTH, type UnknownResource, type Usage } from "./usage";

type Architecture = "x86_64" | "arm64";

/** The tasks one service keeps running, as its task definition sizes them. */
interface Tasks {
  readonly count: number;
  readonly vcpus: number;
  readonly memoryGb: number;
  readonly architecture: Architecture;
  readonly publicIp: boolean;
}

/** Fargate includes this much ephemeral storage in every task; more is billed on top. */
const INCLUDED_EPHEMERAL_GIB = 20;

/** The tasks `service` runs, or the resource type (and why) the model cannot price. */
function tasksOf(service: ProviderBlock, config: TerraformJson): Tasks | string {
  const launchType = service.launch_type ?? "EC2";
  if (launchType !== "FARGATE") return `aws_ecs_service (launch type ${launchType})`;
  const name = /^\$\{aws_ecs_task_definition\.([^.}]+)\.arn\}$/.exec(String(service.task_definition))?.[1];
  const definition = name === undefined ? undefined : config.resource.aws_ecs_task_definition?.[name];
  if (!definition) return "aws_ecs_service (its task definition is not in the stack)";
  if ((definition.runtime_platform?.operating_system_family ?? "LINUX") !== "LINUX") return "aws_ecs_task_definition (not Linux)";
  if (Number(definition.ephemeral_storage?.size_in_gib ?? 0) > INCLUDED_EPHEMERAL_GIB) {
    return `aws_ecs_task_definition (ephemeral storage above the ${INCLUDED_EPHEMERAL_GIB} GiB Fargate includes)`;
  }
  return {
    count: Number(service.desired_count ?? 0),
    vcpus: Number(definition.cpu) / 1024,
    memoryGb: Number(definition.memory) / 1024,
    architecture: definition.runtime_platform?.cpu_architecture === "ARM64" ? "arm64" : "x86_64",
    publicIp: service.network_configuration?.assign_public_ip === true,
  };
}

/** "8 tasks × 2 vCPU / 4 GB" for each size among `tasks`. */
function sizesOf(tasks: readonly Tasks[]): string {
  const counts = new Map<string, number>();
  for (const t of tasks) {
    const size = `${t.vcpus} vCPU / ${t.memoryGb} GB`;
    counts.set(size, (counts.get(size) ?? 0) + t.count);
  }
  return [...counts].map(([size, n]) => `${plural(n, "task")} × ${size}`).join(" + ");
}

/** vCPU-hours and GB-hours of the tasks, a pair of lines per architecture; both stop with the tasks. */
function fargateLines(tasks: readonly Tasks[]): Usage[] {
  const architectures = [...new Set(tasks.map((t) => t.architecture))].sort();
  return architectures.flatMap((architecture) => {
    const these = tasks.filter((t) => t.architecture === architecture);
    const suffix = architectures.length > 1 ? `.${architecture}` : "";
    const basis = `${sizesOf(these)} × ${HOURS_PER_MONTH} h; Fargate bills only while a task runs`;
    const hours = (per: (t: Tasks) => number) => these.reduce((s, t) => s + t.count * per(t) * HOURS_PER_MONTH, 0);
    return [
      line({
        id: `fargate.vcpu${suffix}`,
        label: `Fargate vCPU (${architecture})`,
        price: `fargate.${architecture}.vcpu-hour` as PriceId,
        quantity: hours((t) => t.vcpus),
        unit: "vCPU-h",
        scalesWithHost: true,
        basis,
      }),
      line({
        id: `fargate.memory${suffix}`,
        label: `Fargate memory (${architecture})`,
        price: `fargate.${architecture}.gb-hour` as PriceId,
        quantity: hours((t) => t.memoryGb),
        unit: "GB-h",
        scalesWithHost: true,
        basis,
      }),
    ];
  });
}

/** The developers' services: their tasks' hours, their public addresses, and what the tasks send to the internet. */
function servicePricer(services: readonly ProviderBlock[], { config, assumptions }: PricingContext): Priced {
  const found = services.map((s) => tasksOf(s, config));
  const unknown: UnknownResource[] = found.filter((t) => typeof t === "string").map((type) => ({ type, count: 1 }));
  const tasks = found.filter((t): t is Tasks => typeof t !== "string");
  const usage = fargateLines(tasks);
  const addresses = tasks.filter((t) => t.publicIp).reduce((s, t) => s + t.count, 0);
  usage.push(
    line({
      id: "vpc.task-ipv4",
      label: "Public IPv4 addresses of the developers' tasks",
      price: "vpc.public-ipv4-hour",
      quantity: addresses * HOURS_PER_MONTH,
      unit: "address-h",
      scalesWithHost: true,
      basis: `assign_public_ip = true: one address per running task, ${plural(addresses, "task")} × ${HOURS_PER_MONTH} h; released while a task is stopped`,
    }),
  );
  if (tasks.length > 0) {
    usage.push(
      line({
        id: "transfer.tasks",
        label: "Data transfer out: tasks to the Anthropic API and other internet hosts",
        price: "data-transfer.internet-out.gb",
        quantity: assumptions.apiEgressGb,
        unit: "GB",
        basis: `assumed ${assumptions.apiEgressGb} GB a month from the whole team (--api-egress-gb), as from the host`,
      }),
    );
  }
  return { usage, unknown };
}

/** The homes on EFS: what they store, and what the developers read and write through elastic throughput. */
function fileSystemPricer(fileSystems: readonly ProviderBlock[], { config, assumptions }: PricingContext): Priced {
  const unknown: UnknownResource[] = [];
  let homes = 0;
  let elasticHomes = 0;
  for (const fs of fileSystems) {
    const name = nameOf(config, "aws_efs_file_system", fs);
    // A home is a developer's access point, rooted at /home/<name>; the maintenance task's, at /, holds none.
    const mine = Object.values(config.resource.aws_efs_access_point ?? {}).filter(
      (ap) => refersTo(ap.file_system_id, "aws_efs_file_system", name) && isHome(ap.root_directory),
    ).length;
    const mode = fs.throughput_mode ?? "bursting";
    if (fs.availability_zone_name !== undefined) unknown.push({ type: "aws_efs_file_system (One Zone)", count: 1 });
    else if (mode === "provisioned") unknown.push({ type: "aws_efs_file_system (provisioned throughput)", count: 1 });
    homes += mine;
    if (mode === "elastic") elasticHomes += mine;
  }
  const a = assumptions;
  const each = (n: number) => `${plural(n, "home")} (one access point each)`;
  const usage = [
    line({
      id: "efs.storage",
      label: "EFS storage of the developers' homes (Standard)",
      price: "efs.standard.gb-month",
      quantity: homes * a.homeGbPerDeveloper,
      unit: "GB-month",
      basis: `${each(homes)} × ${a.homeGbPerDeveloper} GB (--home-gb-per-developer); stored while the tasks sleep too`,
    }),
    line({
      id: "efs.reads",
      label: "EFS elastic throughput: reads",
      price: "efs.elastic-read.gb",
      quantity: elasticHomes * a.efsReadGbPerDeveloper,
      unit: "GB",
      basis: `throughput_mode = elastic: ${each(elasticHomes)} × ${a.efsReadGbPerDeveloper} GB read a month (--efs-read-gb-per-developer)`,
    }),
    line({
      id: "efs.writes",
      label: "EFS elastic throughput: writes",
      price: "efs.elastic-write.gb",
      quantity: elasticHomes * a.efsWriteGbPerDeveloper,
      unit: "GB",
      basis: `throughput_mode = elastic: ${each(elasticHomes)} × ${a.efsWriteGbPerDeveloper} GB written a month (--efs-write-gb-per-developer)`,
    }),
  ];
  return { usage, unknown };
}

/** A private network's NAT gateways: their hours, and what the developers' tasks send and receive through them. */
function natGatewayPricer(gateways: readonly ProviderBlock[], { fleet, assumptions }: PricingContext): Priced {
  const n = gateways.length;
  const developers = fleet.developers.length;
  return {
    usage: [
      line({
        id: "vpc.nat-hours",
        label: "NAT gateway hours",
        price: "vpc.nat-gateway-hour",
        quantity: n * HOURS_PER_MONTH,
        unit: "h",
        basis: `${plural(n, "NAT gateway")} × ${HOURS_PER_MONTH} h, whatever the team's size; it runs while the tasks sleep`,
      }),
      line({
        id: "vpc.nat-data",
        label: "NAT gateway data processed",
        price: "vpc.nat-gateway.gb",
        quantity: developers * assumptions.natGbPerDeveloper,
        unit: "GB",
        basis: `${plural(developers, "developer")} × ${assumptions.natGbPerDeveloper} GB a month in and out (--nat-gb-per-developer): the image pulled at every task start, extensions, packages, API calls; the transfer out is the tasks' line`,
      }),
    ],
  };
}

/** Elastic IP addresses: billed by the hour like every public IPv4 address, in use or idle. */
function elasticIpPricer(addresses: readonly ProviderBlock[], { config }: PricingContext): Priced {
  const allocations = Object.values(config.resource.aws_nat_gateway ?? {}).map((g) => String(g.allocation_id));
  const natOnly = addresses.every((eip) => allocations.some((a) => refersTo(a, "aws_eip", nameOf(config, "aws_eip", eip))));
  const n = addresses.length;
  return {
    usage: [
      line({
        id: "vpc.eip-ipv4",
        label: natOnly ? `Public IPv4 address${n === 1 ? "" : "es"} of the NAT gateway${n === 1 ? "" : "s"}` : "Elastic IP addresses",
        price: "vpc.public-ipv4-hour",
        quantity: n * HOURS_PER_MONTH,
        unit: "address-h",
        basis: `${plural(n, "aws_eip")}${natOnly ? " (the NAT gateway's)" : ""} × ${HOURS_PER_MONTH} h; billed in use or idle`,
      }),
    ],
  };
}

/**
 * The ECS/ContainerInsights metrics and the dimension sets AWS publishes each at: the utilization
 * metrics per cluster, service and task definition family, the counts per service or per cluster.
 */
const INSIGHTS = {
  utilization: [
    "CpuUtilized",
    "CpuReserved",
    "MemoryUtilized",
    "MemoryReserved",
    "NetworkRxBytes",
    "NetworkTxBytes",
    "StorageReadBytes",
    "StorageWriteBytes",
    "EphemeralStorageUtilized",
    "EphemeralStorageReserved",
  ],
  perService: ["DeploymentCount", "DesiredTaskCount", "PendingTaskCount", "RunningTaskCount", "TaskSetCount"],
  perCluster: ["ContainerInstanceCount", "ServiceCount", "TaskCount"],
} as const;

/** The cluster: no charge of its own; with Container Insights, the metrics it publishes, billed as custom metrics. */
function clusterPricer(clusters: readonly ProviderBlock[], { config }: PricingContext): Priced {
  const unknown: UnknownResource[] = [];
  let [withInsights, services, families] = [0, 0, 0];
  for (const cluster of clusters) {
    const insights = (cluster.setting ?? []).find((s: ProviderBlock) => s.name === "containerInsights")?.value ?? "disabled";
    if (insights === "disabled") continue;
    if (insights !== "enabled") {
      unknown.push({ type: `aws_ecs_cluster (containerInsights ${insights})`, count: 1 });
      continue;
    }
    const name = nameOf(config, "aws_ecs_cluster", cluster);
    const mine = Object.values(config.resource.aws_ecs_service ?? {}).filter((s) => refersTo(s.cluster, "aws_ecs_cluster", name));
    withInsights++;
    services += mine.length;
    families += new Set(mine.map((s) => s.task_definition)).size;
  }
  const { utilization, perService, perCluster } = INSIGHTS;
  const quantity =
    withInsights * (utilization.length + perCluster.length) +
    services * (utilization.length + perService.length) +
    families * utilization.length;
  const usage = [
    line({
      id: "cloudwatch.container-insights",
      label: "CloudWatch Container Insights metrics",
      price: "cloudwatch.metric-month",
      quantity,
      unit: "metric-month",
      scalesWithHost: true,
      basis: `containerInsights enabled: ${utilization.length + perCluster.length} per cluster + ${utilization.length + perService.length} per service × ${services} + ${utilization.length} per task family × ${families} (ECS/ContainerInsights, as AWS lists its metrics and dimensions); published while tasks run; its performance log events are not counted`,
    }),
  ];
  return { usage, unknown };
}

/** The pricers of the ECS platform's billable types. */
export const ECS_PRICERS: Readonly<Record<string, Pricer>> = {
  aws_ecs_service: servicePricer,
  aws_ecs_cluster: clusterPricer,
  aws_efs_file_system: fileSystemPricer,
  aws_nat_gateway: natGatewayPricer,
  aws_eip: elasticIpPricer,
};
