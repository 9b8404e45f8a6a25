/**
 * The ECS platform as synthesized for an `ecs` roster: a Fargate service per developer that never
 * runs two tasks on one home, tasks that hold nothing a developer could use to weaken their own
 * environment or reach another's, homes on EFS behind a policy that gives each developer's task
 * their own home alone, target groups of task addresses sharded over load balancers, and no host.
 */
import { parse, stringify } from "yaml";
import { parseRoster, type Fleet } from "../src/roster";
import { ALB_SHARD_SIZE, shardOf } from "../src/routing";
import type { ProviderBlock, TerraformJson } from "../src/terraform/plan-json";
import { DEFAULT_ROSTER_TEXT, generatedRosterText } from "./helpers/fleet";
import { only, parseDocument, resources, synthStack } from "./helpers/synth";

type Roster = Record<string, unknown> & { developers: Record<string, unknown>[] };
function ecsFleet(edit: (roster: Roster) => void = () => undefined, from = DEFAULT_ROSTER_TEXT): Fleet {
  const roster = parse(from) as Roster;
  roster.platform = "ecs";
  delete roster.host;
  edit(roster);
  return parseRoster(stringify(roster));
}

const fleet = ecsFleet((r) => (r.developers[1] = { ...r.developers[1], cpuLimit: 3, memoryLimitGiB: 10 }));
const config = synthStack(fleet);
const byName = (type: string, key = "name") =>
  new Map<string, ProviderBlock>(resources(config, type).map(([id, r]) => [r[key] as string, { id, ...r }]));
const ref = (type: string, id: string, attribute: string) => `\${${type}.${id}.${attribute}}`;
const idOf = (type: string, predicate: (r: ProviderBlock) => boolean) => resources(config, type).find(([, r]) => predicate(r))![0];
/** A task definition's containers, by name, with Terraform's interpolations left as written. */
const containersOf = (taskDefinition: ProviderBlock): Map<string, ProviderBlock> =>
  new Map((JSON.parse(taskDefinition.container_definitions as string) as ProviderBlock[]).map((c) => [c.name as string, c]));
const taskOf = (developer: string) => byName("aws_ecs_task_definition", "family").get(`code-server-dev-${developer}`)!;
const secretId = (developer: string, kind: string) =>
  idOf("aws_secretsmanager_secret", (s) => s.name === `code-server/dev/${developer}/${kind}`);

describe("an ecs roster", () => {
  it("has no host: no instance, data volume, host files or host security group", () => {
    for (const type of [
      "aws_instance",
      "aws_ebs_volume",
      "aws_volume_attachment",
      "aws_ssm_association",
      "aws_s3_object",
      "aws_lb_target_group_attachment",
    ]) {
      expect([type, resources(config, type).length]).toEqual([type, 0]);
    }
    expect(resources(config, "aws_security_group").map(([, g]) => g.name)).not.toContain("code-server-dev-host");
  });

  it("forgets a retired host's data volume instead of destroying it: out of the configuration, prevent_destroy guards nothing", () => {
    expect(config.removed).toEqual([{ from: "aws_ebs_volume.data_volume", lifecycle: { destroy: false } }]);
    expect(synthStack(parseRoster(DEFAULT_ROSTER_TEXT)).removed).toBeUndefined();
  });

  it("runs one cluster on Fargate with Container Insights, ECS Exec's sessions logged and encrypted", () => {
    const cluster = only(config, "aws_ecs_cluster");
    expect(cluster.setting).toEqual([{ name: "containerInsights", value: "enabled" }]);
    const exec = cluster.configuration.execute_command_configuration;
    expect(exec).toMatchObject({ logging: "OVERRIDE", kms_key_id: ref("aws_kms_key", "secrets_key", "arn") });
    expect(exec.log_configuration).toEqual({
      cloud_watch_log_group_name: ref("aws_cloudwatch_log_group", "audit_session-log-group", "name"),
      cloud_watch_encryption_enabled: true,
    });
    expect(only(config, "aws_ecs_cluster_capacity_providers").capacity_providers).toEqual(["FARGATE"]);
  });
});

describe("a developer's service", () => {
  const services = byName("aws_ecs_service");

  it("is one per developer, named after them, keeping one task and never two on one home", () => {
    expect([...services.keys()]).toEqual(fleet.developers.map((d) => d.name));
    for (const service of services.values()) {
      expect(service).toMatchObject({
        desired_count: 1,
        launch_type: "FARGATE",
        deployment_minimum_healthy_percent: 0,
        deployment_maximum_percent: 100,
        deployment_circuit_breaker: { enable: true, rollback: true },
        enable_execute_command: false,
        wait_for_steady_state: false,
      });
      // The schedule and sleep set the count at run time.
      expect(service.lifecycle.ignore_changes).toEqual(["desired_count"]);
    }
  });

  it("registers its task's code-server with the developer's own target group, once its rule exists", () => {
    const dev2 = services.get("dev2")!;
    const targetGroup = idOf("aws_lb_target_group", (tg) => tg.tags?.developer === "dev2");
    expect(dev2.load_balancer).toEqual([
      { target_group_arn: ref("aws_lb_target_group", targetGroup, "arn"), container_name: "code-server", container_port: 8080 },
    ]);
    const rule = idOf("aws_lb_listener_rule", (r) => r.tags?.developer === "dev2");
    expect(dev2.depends_on).toEqual(
      expect.arrayContaining([`aws_lb_listener_rule.${rule}`, "aws_cloudwatch_log_group.monitoring_log-container-dev2"]),
    );
  });

  it("waits for no other developer's resources: the configuration grows linearly with the roster", () => {
    for (const [name, service] of services) {
      const others = (service.depends_on as string[]).filter((d) =>
        fleet.developers.some((o) => o.name !== name && d.endsWith(`-${o.name}`)),
      );
      expect([name, others]).toEqual([name, []]);
    }
  });

  it("starts its first task only once every secret it is given has a value: passwords generated, API keys a placeholder", () => {
    expect(services.get("dev1")!.depends_on).toContain("aws_lambda_invocation.secret-initializer_run");
    const input = only(config, "aws_lambda_invocation").input as string;
    for (const developer of fleet.developers) {
      expect(input).toContain(`aws_secretsmanager_secret.${secretId(developer.name, "password")}.arn`);
      expect(input).toContain(`aws_secretsmanager_secret.${secretId(developer.name, "anthropic-api-key")}.arn`);
    }
    expect(input).toMatch(/"placeholderArns":\[[^\]]*anthropic-api-key/);
  });

  it("runs in the public subnets with a public address, in the developers' security group", () => {
    const { network_configuration: network } = services.get("dev1")!;
    expect(network.assign_public_ip).toBe(true);
    expect(network.subnets).toEqual(fleet.availabilityZones.map((zone) => ref("aws_subnet", `network_public-${zone}`, "id")));
    expect(network.security_groups).toEqual([ref("aws_security_group", "ecs_tasks", "id")]);
  });
});

describe("a developer's task", () => {
  it("is sized to the smallest Fargate pair that holds their limits, on the roster's architecture", () => {
    expect([taskOf("dev1").cpu, taskOf("dev1").memory]).toEqual(["2048", "4096"]);
    expect([taskOf("dev2").cpu, taskOf("dev2").memory]).toEqual(["4096", "10240"]);
    expect(taskOf("dev1")).toMatchObject({
      network_mode: "awsvpc",
      requires_compatibilities: ["FARGATE"],
      runtime_platform: { cpu_architecture: "X86_64", operating_system_family: "LINUX" },
    });
  });

  it("runs code-server as user 1000 with --auth password, no capabilities, a read-only root and an init process", () => {
    const codeServer = containersOf(taskOf("dev1")).get("code-server")!;
    expect(codeServer).toMatchObject({
      image: "codercom/code-server:4.102.2",
      user: "1000:1000",
      readonlyRootFilesystem: true,
      essential: true,
      entryPoint: ["/usr/bin/code-server"],
      command: ["--bind-addr", "0.0.0.0:8080", "--auth", "password", "/home/coder/workspace"],
      linuxParameters: { capabilities: { add: [], drop: ["ALL"] }, initProcessEnabled: true },
    });
    // No config file in the home is read: code-server reads /dev/null, which holds nothing.
    expect(codeServer.environment).toContainEqual({ name: "CODE_SERVER_CONFIG", value: "/dev/null" });
    expect(codeServer.healthCheck.command).toEqual(["CMD-SHELL", "curl -fsS -o /dev/null http://localhost:8080/healthz || exit 1"]);
  });

  it("gets the password and the API key from Secrets Manager by ARN: no value anywhere in the definition", () => {
    const codeServer = containersOf(taskOf("dev1")).get("code-server")!;
    expect(codeServer.secrets).toEqual([
      { name: "ANTHROPIC_API_KEY", valueFrom: ref("aws_secretsmanager_secret", secretId("dev1", "anthropic-api-key"), "arn") },
      { name: "CLAUDE_API_KEY", valueFrom: ref("aws_secretsmanager_secret", secretId("dev1", "anthropic-api-key"), "arn") },
      { name: "PASSWORD", valueFrom: ref("aws_secretsmanager_secret", secretId("dev1", "password"), "arn") },
    ]);
    expect(codeServer.environment.map((e: ProviderBlock) => e.name)).not.toContain("PASSWORD");
  });

  it("prepares the home first (skeleton, workspace, the pinned extensions) and lets code-server start when that is done, installed or not", () => {
    const containers = containersOf(taskOf("dev1"));
    const prepare = containers.get("prepare-home")!;
    expect(prepare).toMatchObject({ essential: false, user: "1000:1000", readonlyRootFilesystem: true, entryPoint: ["/bin/sh", "-c"] });
    const script = prepare.command[0] as string;
    for (const spec of fleet.developers[0].extensions) expect(script).toContain(`'${spec}'`);
    expect(script).toContain("cp -Rn /etc/skel/.");
    expect(containers.get("code-server")!.dependsOn).toEqual([{ containerName: "prepare-home", condition: "COMPLETE" }]);
  });

  it("mounts the developer's home from EFS through their access point, encrypted in transit and authorised by IAM", () => {
    const [home, tmp] = taskOf("dev1").volume;
    const accessPoint = idOf("aws_efs_access_point", (ap) => ap.tags?.developer === "dev1");
    expect(home).toEqual({
      name: "home",
      efs_volume_configuration: {
        file_system_id: ref("aws_efs_file_system", "ecs_homes_file-system", "id"),
        transit_encryption: "ENABLED",
        authorization_config: { access_point_id: ref("aws_efs_access_point", accessPoint, "id"), iam: "ENABLED" },
      },
    });
    expect(tmp).toEqual({ name: "tmp" });
    const mounts = containersOf(taskOf("dev1")).get("code-server")!.mountPoints;
    expect(mounts).toEqual([
      { sourceVolume: "home", containerPath: "/home/coder", readOnly: false },
      { sourceVolume: "tmp", containerPath: "/tmp", readOnly: false },
    ]);
  });

  it("logs to the developer's own log group", () => {
    const options = containersOf(taskOf("dev3")).get("code-server")!.logConfiguration.options;
    expect(options).toMatchObject({ "awslogs-group": "/aws/ec2/code-server/containers/dev3", "awslogs-region": "ap-southeast-7" });
  });
});

describe("the homes", () => {
  it("are one encrypted file system a deploy never destroys, backed up by the plan's tag", () => {
    expect(only(config, "aws_efs_file_system")).toMatchObject({
      encrypted: true,
      kms_key_id: ref("aws_kms_key", "secrets_key", "arn"),
      throughput_mode: "elastic",
      lifecycle: { prevent_destroy: true },
      tags: { "backup-plan": "code-server-dev-data-volume" },
    });
    expect(byName("aws_backup_selection").get("code-server-dev-homes")!.resources).toEqual([
      expect.stringMatching(/:elasticfilesystem:ap-southeast-7:.*:file-system\/\*$/),
    ]);
  });

  it("give each developer an access point rooted in /home/<name>, created theirs with mode 0750, everything as uid 1000", () => {
    const accessPoints = resources(config, "aws_efs_access_point").map(([, ap]) => ap);
    expect(accessPoints.map((ap) => ap.tags.developer)).toEqual(fleet.developers.map((d) => d.name));
    expect(accessPoints[0]).toMatchObject({
      posix_user: { uid: 1000, gid: 1000 },
      root_directory: { path: "/home/dev1", creation_info: { owner_uid: 1000, owner_gid: 1000, permissions: "750" } },
    });
  });

  it("admit NFS from the developers' tasks only", () => {
    const nfs = resources(config, "aws_vpc_security_group_ingress_rule").filter(([, r]) => r.from_port === 2049);
    expect(nfs.map(([, r]) => [r.security_group_id, r.referenced_security_group_id])).toEqual([
      [ref("aws_security_group", "ecs_homes_mount-targets", "id"), ref("aws_security_group", "ecs_tasks", "id")],
    ]);
  });

  it("have a policy: TLS and an access point for every mount, nobody as root, and no grant to anyone else", () => {
    type Statement = { Sid: string; Effect: string; Action: unknown; Condition?: Record<string, Record<string, string>> };
    const statements = (JSON.parse(only(config, "aws_efs_file_system_policy").policy as string) as { Statement: Statement[] }).Statement;
    const sid = (name: string) => statements.find((s) => s.Sid === name);
    expect(sid("TlsOnly")).toMatchObject({ Effect: "Deny", Action: "*", Condition: { Bool: { "aws:SecureTransport": "false" } } });
    expect(sid("AccessPointsOnly")).toMatchObject({ Effect: "Deny", Condition: { Null: { "elasticfilesystem:AccessPointArn": "true" } } });
    // Root is the maintenance task's alone, through its own access point (ecs-maintenance.test.ts).
    expect(statements.filter((s) => JSON.stringify(s.Action).includes("ClientRootAccess")).map((s) => s.Sid)).toEqual([
      "MaintenanceAccessPointAsRoot",
      "RootOnlyThroughMaintenanceAccessPoint",
    ]);
    // A developer's home is granted by their task role's policy alone (below): EFS admits what either allows.
    expect(statements.filter((s) => s.Effect === "Allow").map((s) => s.Sid)).toEqual(["MaintenanceAccessPointAsRoot"]);
  });
});

describe("a developer's task role", () => {
  it("is the one role that may mount each developer's home, through their own access point", () => {
    for (const developer of fleet.developers) {
      const mounts = resources(config, "aws_iam_role_policy")
        .map(([id, p]) => [id, parseDocument(p.policy as string).Statement as { Action?: unknown; Condition?: object }[]] as const)
        .filter(([, statements]) => statements.some((s) => JSON.stringify(s.Action ?? "").includes("elasticfilesystem:ClientMount")));
      const accessPoint = idOf("aws_efs_access_point", (ap) => ap.tags?.developer === developer.name);
      const own = mounts.filter(([, statements]) => JSON.stringify(statements).includes(ref("aws_efs_access_point", accessPoint, "arn")));
      expect(own.map(([id]) => id)).toEqual([`ecs_task-role-${developer.name}-policy`]);
    }
  });

  it("may mount their home through their access point and do nothing else (ECS Exec off)", () => {
    const policy = resources(config, "aws_iam_role_policy").find(([id]) => id === "ecs_task-role-dev1-policy")![1].policy as string;
    expect(JSON.parse(policy)).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "MountOwnHome",
          Effect: "Allow",
          Action: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
          Resource: ref("aws_efs_file_system", "ecs_homes_file-system", "arn"),
          Condition: { StringEquals: { "elasticfilesystem:AccessPointArn": ref("aws_efs_access_point", "ecs_homes_home-dev1", "arn") } },
        },
      ],
    });
  });

  it("gets ECS Exec's channels only when the roster switches it on", () => {
    const withExec = synthStack(ecsFleet((r) => (r.ecs = { exec: true })));
    const policy = resources(withExec, "aws_iam_role_policy").find(([id]) => id === "ecs_task-role-dev1-policy")![1].policy as string;
    expect(policy).toContain("ssmmessages:CreateControlChannel");
    expect(resources(withExec, "aws_ecs_service").every(([, s]) => s.enable_execute_command === true)).toBe(true);
  });
});

describe("the developers' security group", () => {
  const rulesOf = (type: string) =>
    resources(config, type)
      .map(([, r]) => r)
      .filter((r) => r.security_group_id === ref("aws_security_group", "ecs_tasks", "id"));

  it("admits code-server's port from the load balancers alone: no rule admits another task", () => {
    expect(rulesOf("aws_vpc_security_group_ingress_rule").map((r) => [r.from_port, r.referenced_security_group_id ?? r.cidr_ipv4])).toEqual(
      [[8080, ref("aws_security_group", "network_alb-sg", "id")]],
    );
  });

  it("goes out to the internet on 443 and 80, to the homes on NFS and to the VPC's resolver, nowhere else", () => {
    expect(rulesOf("aws_vpc_security_group_egress_rule").map((r) => [r.ip_protocol, r.from_port])).toEqual([
      ["tcp", 443],
      ["tcp", 80],
      ["tcp", 2049],
      ["udp", 53],
      ["tcp", 53],
    ]);
  });
});

describe("the load balancers", () => {
  it("hold task addresses on code-server's port, with no attachment, named by Terraform", () => {
    for (const [, tg] of resources(config, "aws_lb_target_group")) {
      expect(tg).toMatchObject({ target_type: "ip", port: 8080 });
      expect(tg.name).toBeUndefined();
      expect(tg.tags.Name).toBe(`code-server-dev-${tg.tags.developer}`);
    }
  });

  describe("for 250 developers", () => {
    const big = synthStack(ecsFleet(() => undefined, generatedRosterText(250)));
    const lbs = resources(big, "aws_lb").map(([, lb]) => lb);

    it(`are one per shard of ${ALB_SHARD_SIZE} priorities, each named after its shard`, () => {
      const shards = [...new Set(Array.from({ length: 250 }, (_, i) => shardOf(8443 + i)))];
      expect(lbs.map((lb) => lb.name)).toEqual(shards.map((shard) => `code-server-dev-${shard}`));
    });

    it(`give no load balancer more than ${ALB_SHARD_SIZE} rules and point each developer's DNS record at the balancer with their rule`, () => {
      const listenerOf = new Map(
        resources(big, "aws_lb_listener").map(([id, l]) => [`\${aws_lb_listener.${id}.arn}`, l.load_balancer_arn as string]),
      );
      const rules = resources(big, "aws_lb_listener_rule").map(([, r]) => r);
      const perLb = new Map<string, number>();
      for (const rule of rules) perLb.set(listenerOf.get(rule.listener_arn)!, (perLb.get(listenerOf.get(rule.listener_arn)!) ?? 0) + 1);
      expect(Math.max(...perLb.values())).toBeLessThanOrEqual(ALB_SHARD_SIZE);
      for (const rule of rules) {
        const host = rule.condition[0].host_header.values[0] as string;
        const record = resources(big, "aws_route53_record").find(([, r]) => r.name === host)![1];
        const lbArn = listenerOf.get(rule.listener_arn)!;
        expect(record.alias.name).toBe(lbArn.replace(/\.arn\}$/, ".dns_name}"));
      }
    });
  });
});

describe("the WAF", () => {
  const associated = (config: TerraformJson) =>
    resources(config, "aws_wafv2_web_acl_association")
      .map(([, a]) => a.resource_arn as string)
      .sort();
  const balancers = (config: TerraformJson) =>
    resources(config, "aws_lb")
      .map(([id]) => ref("aws_lb", id, "arn"))
      .sort();

  it("stands in front of every shard's load balancer", () => {
    const sharded = synthStack(ecsFleet((r) => (r.waf = { enabled: true }), generatedRosterText(120)));
    expect(balancers(sharded).length).toBeGreaterThan(1);
    expect(associated(sharded)).toEqual(balancers(sharded));
  });

  it("stands in front of the host's and ECS's load balancers while a migration keeps the host serving", () => {
    const migrating = synthStack(
      ecsFleet((r) => {
        r.waf = { enabled: true };
        r.host = { instanceType: "t3.2xlarge" };
        r.migration = { keep: "host" };
      }),
    );
    expect(balancers(migrating).length).toBe(2);
    expect(associated(migrating)).toEqual(balancers(migrating));
  });
});

describe("the private network", () => {
  const privateConfig: TerraformJson = synthStack(ecsFleet((r) => (r.ecs = { network: "private" })));

  it("puts the tasks in private subnets without public addresses, out through one NAT gateway", () => {
    const gateways = resources(privateConfig, "aws_nat_gateway");
    expect(gateways).toHaveLength(1);
    const privateSubnets = resources(privateConfig, "aws_subnet").filter(([id]) => id.startsWith("ecs_private_"));
    expect(privateSubnets.map(([, s]) => s.cidr_block)).toEqual(["${cidrsubnet(var.vpc_cidr, 4, 8)}", "${cidrsubnet(var.vpc_cidr, 4, 9)}"]);
    for (const [, service] of resources(privateConfig, "aws_ecs_service")) {
      expect(service.network_configuration.assign_public_ip).toBe(false);
      expect(service.network_configuration.subnets).toEqual(privateSubnets.map(([id]) => ref("aws_subnet", id, "id")));
    }
    const route = resources(privateConfig, "aws_route").find(([id]) => id.startsWith("ecs_private"))![1];
    expect(route).toMatchObject({ destination_cidr_block: "0.0.0.0/0", nat_gateway_id: ref("aws_nat_gateway", gateways[0][0], "id") });
  });
});

describe("working hours on ECS", () => {
  const schedule = { timezone: "Europe/Berlin", days: ["mon", "tue", "wed", "thu", "fri"], start: "08:00", stop: "19:00" };
  const scheduled: TerraformJson = synthStack(ecsFleet((r) => (r.schedule = schedule)));
  const schedules = new Map(resources(scheduled, "aws_scheduler_schedule").map(([, s]) => [s.name as string, s]));
  const input = (name: string) => JSON.parse(schedules.get(name)!.target.input as string) as Record<string, unknown>;

  it("start each developer's service with one task at the start and stop it to none at the stop, in the roster's time zone", () => {
    for (const developer of fleet.developers.map((d) => d.name)) {
      const start = schedules.get(`code-server-dev-${developer}-start`)!;
      const stop = schedules.get(`code-server-dev-${developer}-stop`)!;
      expect(start.target.arn).toMatch(/:scheduler:::aws-sdk:ecs:updateService$/);
      expect(input(start.name as string)).toEqual({ Cluster: "code-server-dev", Service: developer, DesiredCount: 1 });
      expect(input(stop.name as string)).toEqual({ Cluster: "code-server-dev", Service: developer, DesiredCount: 0 });
      expect([start.schedule_expression, stop.schedule_expression]).toEqual([
        "cron(0 8 ? * MON,TUE,WED,THU,FRI *)",
        "cron(0 19 ? * MON,TUE,WED,THU,FRI *)",
      ]);
      expect(start.schedule_expression_timezone).toBe("Europe/Berlin");
    }
    expect([...schedules.keys()].filter((n) => n.endsWith("-host"))).toEqual([]);
  });

  it("may update the cluster's services and nothing of a host", () => {
    const policy = resources(scheduled, "aws_iam_role_policy").find(([, p]) => p.name === "start-stop-host")![1];
    const statements = (parseDocument(policy.policy as string) as { Statement: { Sid: string; Action: unknown; Resource: unknown }[] })
      .Statement;
    expect(statements.map((s) => s.Sid)).toEqual(["StartAndStopTheDevelopersServices", "SilenceTheAlarmsThatSleepWithTheHost"]);
    expect(statements[0]).toMatchObject({ Action: "ecs:UpdateService" });
    expect(String(statements[0].Resource)).toMatch(/:service\/code-server-dev\/\*$/);
  });

  it("leaves the services' task counts to the schedule: the next apply does not undo a stop", () => {
    for (const [, service] of resources(scheduled, "aws_ecs_service")) expect(service.lifecycle.ignore_changes).toEqual(["desired_count"]);
  });
});
