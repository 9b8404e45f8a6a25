/**
 * The maintenance task of the homes on ECS, as synthesized: a task definition operators run by
 * hand (no service, no port, no load balancer) with the AWS CLI's image pinned by version, the
 * whole file system at /fs as root through an access point that the file system's policy grants
 * to its role alone (root refused through any other), the archive's migration/ prefix through the
 * fleet key, and a log group of its own.
 */
import { parse, stringify } from "yaml";
import { maintenanceNames } from "../src/naming";
import { MAINTENANCE_IMAGE, maintenanceProgram } from "../src/platforms/ecs/maintenance";
import { renderMaintenanceProgram } from "../src/render";
import { parseRoster, type Fleet } from "../src/roster";
import type { ProviderBlock } from "../src/terraform/plan-json";
import { DEFAULT_ROSTER_TEXT, defaultFleet } from "./helpers/fleet";
import { only, parseDocument, resources, synthStack } from "./helpers/synth";

function ecsFleet(edit: (roster: ProviderBlock) => void = () => undefined): Fleet {
  const roster = parse(DEFAULT_ROSTER_TEXT) as ProviderBlock;
  roster.platform = "ecs";
  delete roster.host;
  edit(roster);
  return parseRoster(stringify(roster));
}

const fleet = ecsFleet();
const names = maintenanceNames(fleet);
const config = synthStack(fleet);
const ref = (type: string, id: string, attribute: string) => `\${${type}.${id}.${attribute}}`;
type Statement = { Sid: string; Effect: string; Principal?: unknown; Action: unknown; Resource: unknown; Condition?: unknown };
const statementsOf = (policy: ProviderBlock) => (parseDocument(policy.policy as string) as { Statement: Statement[] }).Statement;
const resource = (type: string, id: string) => config.resource?.[type]?.[id];
const task = resource("aws_ecs_task_definition", "ecs_maintenance_task");
const [container] = JSON.parse(task.container_definitions as string) as ProviderBlock[];
const MAINTENANCE_ACCESS_POINT = ref("aws_efs_access_point", "ecs_maintenance_access-point", "arn");
const MAINTENANCE_ROLE = ref("aws_iam_role", "ecs_maintenance_role", "arn");
const FILE_SYSTEM = ref("aws_efs_file_system", "ecs_homes_file-system", "arn");

describe("the maintenance task definition", () => {
  it("is a Fargate task of its own family on the developers' architecture, run by its own role", () => {
    expect(task).toMatchObject({
      family: "code-server-dev-maintenance",
      requires_compatibilities: ["FARGATE"],
      network_mode: "awsvpc",
      cpu: "1024",
      memory: "2048",
      runtime_platform: { cpu_architecture: "X86_64", operating_system_family: "LINUX" },
      task_role_arn: MAINTENANCE_ROLE,
      execution_role_arn: MAINTENANCE_ROLE,
    });
    const arm = synthStack(ecsFleet((r) => (r.ecs = { architecture: "arm64" })));
    expect(arm.resource.aws_ecs_task_definition.ecs_maintenance_task.runtime_platform.cpu_architecture).toBe("ARM64");
  });

  it("runs the AWS CLI's image pinned to a version tag, as root with fewer capabilities, and no port", () => {
    expect(container.image).toBe(MAINTENANCE_IMAGE);
    expect(MAINTENANCE_IMAGE).toMatch(/^public\.ecr\.aws\/aws-cli\/aws-cli:\d+\.\d+\.\d+$/);
    expect(container).toMatchObject({ name: "maintenance", user: "0:0", essential: true });
    expect(container.portMappings).toBeUndefined();
    expect(container.secrets).toBeUndefined();
    expect(container.linuxParameters.capabilities.drop).toEqual(expect.arrayContaining(["NET_RAW", "MKNOD", "SYS_CHROOT"]));
    expect(container.linuxParameters.capabilities.add).toEqual([]);
  });

  it("carries the rendered program as bash -c's script, which takes the operator's command as its arguments", () => {
    expect(container.entryPoint).toEqual(["/bin/bash", "-c", maintenanceProgram(fleet), "maintenance"]);
    expect(container.entryPoint[2]).toBe(renderMaintenanceProgram(fleet, { mount: "/fs", homeMode: "750" }));
    // Terraform reads ${ and %{ in the definition as its own: the program has neither.
    expect(container.entryPoint[2]).not.toMatch(/\$\{|%\{/);
    expect(container.command).toEqual(["help"]);
  });

  it("knows the archive bucket and the region from its environment", () => {
    expect(container.environment).toEqual([
      { name: "ARCHIVE_BUCKET", value: ref("aws_s3_bucket", "backup_archive_bucket", "id") },
      { name: "AWS_REGION", value: fleet.region },
      { name: "AWS_DEFAULT_REGION", value: fleet.region },
    ]);
  });

  it("mounts the whole file system at /fs through the maintenance access point, encrypted in transit and authorised by IAM", () => {
    expect(container.mountPoints).toEqual([{ sourceVolume: "homes", containerPath: "/fs", readOnly: false }]);
    expect(task.volume).toEqual([
      {
        name: "homes",
        efs_volume_configuration: {
          file_system_id: ref("aws_efs_file_system", "ecs_homes_file-system", "id"),
          transit_encryption: "ENABLED",
          authorization_config: { access_point_id: ref("aws_efs_access_point", "ecs_maintenance_access-point", "id"), iam: "ENABLED" },
        },
      },
    ]);
    expect(resource("aws_efs_access_point", "ecs_maintenance_access-point")).toMatchObject({
      root_directory: { path: "/" },
      tags: { Name: names.family },
    });
    expect(resource("aws_efs_access_point", "ecs_maintenance_access-point").posix_user).toBeUndefined();
  });

  it("logs to a log group of its own, encrypted with the fleet key, created after the key policy and kept on destroy", () => {
    expect(container.logConfiguration).toEqual({
      logDriver: "awslogs",
      options: {
        "awslogs-group": ref("aws_cloudwatch_log_group", "ecs_maintenance_log-group", "name"),
        "awslogs-region": fleet.region,
        "awslogs-stream-prefix": "maintenance",
      },
    });
    expect(resource("aws_cloudwatch_log_group", "ecs_maintenance_log-group")).toMatchObject({
      name: "/aws/ec2/code-server/maintenance",
      kms_key_id: ref("aws_kms_key", "secrets_key", "arn"),
      retention_in_days: "${var.log_retention_days}",
      skip_destroy: true,
      depends_on: ["aws_kms_key_policy.key-policy_fleet-key"],
    });
  });

  it("is run by hand: no service, target group or listener rule is the maintenance task's", () => {
    expect(resources(config, "aws_ecs_service").map(([, s]) => s.name)).toEqual(fleet.developers.map((d) => d.name));
    const maintenanceIds = (type: string) => resources(config, type).filter(([id]) => id.includes("maintenance"));
    for (const type of ["aws_lb_target_group", "aws_lb_listener_rule", "aws_security_group", "aws_vpc_security_group_ingress_rule"]) {
      expect([type, maintenanceIds(type)]).toEqual([type, []]);
    }
  });
});

describe("the maintenance role", () => {
  const policies = new Map(resources(config, "aws_iam_role_policy").filter(([id]) => id.startsWith("ecs_maintenance_")));

  it("is assumed by this account's ECS tasks only", () => {
    const role = resource("aws_iam_role", "ecs_maintenance_role");
    expect(role.name).toBe(names.role);
    // The account is an expression reading it from the fleet key's ARN, which JSON.parse cannot read.
    const trust = role.assume_role_policy as string;
    expect(trust).toContain('"Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"');
    expect(trust).toMatch(
      /"Condition":\{"StringEquals":\{"aws:SourceAccount":"\$\{element\(split\(":", aws_kms_key\.secrets_key\.arn\), 4\)\}"\}\}/,
    );
    expect(trust.match(/"Effect"/g)).toHaveLength(1);
  });

  it("may mount the file system, write and be root there through the maintenance access point alone", () => {
    expect(statementsOf(policies.get("ecs_maintenance_mount-policy")!)).toEqual([
      {
        Sid: "HomesAsRootThroughMaintenanceAccessPoint",
        Effect: "Allow",
        Action: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"],
        Resource: FILE_SYSTEM,
        Condition: { StringEquals: { "elasticfilesystem:AccessPointArn": MAINTENANCE_ACCESS_POINT } },
      },
    ]);
  });

  it("reads and writes the archive's migration/ and removed/ prefixes with the fleet key through S3, and writes its own log group", () => {
    const statements = statementsOf(policies.get("ecs_maintenance_work-policy")!);
    expect(statements.map((s) => [s.Sid, s.Action, s.Resource])).toEqual([
      [
        "ReadAndWriteMigrationPrefix",
        ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
        `${ref("aws_s3_bucket", "backup_archive_bucket", "arn")}/migration/*`,
      ],
      [
        "WriteAndVerifyRemovedHomes",
        ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
        `${ref("aws_s3_bucket", "backup_archive_bucket", "arn")}/removed/*`,
      ],
      ["ArchiveKeyThroughS3", ["kms:GenerateDataKey", "kms:Decrypt"], ref("aws_kms_key", "secrets_key", "arn")],
      [
        "WriteOwnLogs",
        ["logs:CreateLogStream", "logs:PutLogEvents"],
        `${ref("aws_cloudwatch_log_group", "ecs_maintenance_log-group", "arn")}:log-stream:*`,
      ],
    ]);
    expect(statements[2].Condition).toEqual({ StringEquals: { "kms:ViaService": "s3.ap-southeast-7.amazonaws.com" } });
    // Nothing of a developer's: no secrets, no ECS Exec channels, no delete.
    expect(JSON.stringify(statements)).not.toMatch(/secretsmanager|ssmmessages|Delete/);
  });

  it("has no other policy", () => {
    expect([...policies.keys()].sort()).toEqual(["ecs_maintenance_mount-policy", "ecs_maintenance_work-policy"]);
    expect(
      resources(config, "aws_iam_role_policy_attachment").filter(([, a]) => a.role === ref("aws_iam_role", "ecs_maintenance_role", "name")),
    ).toEqual([]);
  });
});

describe("the homes' file-system policy", () => {
  const statements = statementsOf(only(config, "aws_efs_file_system_policy"));
  const bySid = new Map(statements.map((s) => [s.Sid, s]));

  it("holds TLS only, access points only and the maintenance task's root, and nothing per developer (their roles grant their homes)", () => {
    expect(statements.map((s) => s.Sid)).toEqual([
      "TlsOnly",
      "AccessPointsOnly",
      "MaintenanceAccessPointAsRoot",
      "RootOnlyThroughMaintenanceAccessPoint",
    ]);
  });

  it("MaintenanceAccessPointAsRoot: grants the maintenance role, and no one else, the maintenance access point, as root", () => {
    expect(bySid.get("MaintenanceAccessPointAsRoot")).toEqual({
      Sid: "MaintenanceAccessPointAsRoot",
      Effect: "Allow",
      Principal: { AWS: MAINTENANCE_ROLE },
      Action: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"],
      Resource: FILE_SYSTEM,
      Condition: { StringEquals: { "elasticfilesystem:AccessPointArn": MAINTENANCE_ACCESS_POINT } },
    });
    // No other statement names the maintenance access point, or grants root.
    const others = statements.filter((s) => s.Sid !== "MaintenanceAccessPointAsRoot" && s.Effect === "Allow");
    expect(JSON.stringify(others)).not.toMatch(/maintenance|ClientRootAccess/);
  });

  it("RootOnlyThroughMaintenanceAccessPoint: refuses root to everyone through any other access point", () => {
    expect(bySid.get("RootOnlyThroughMaintenanceAccessPoint")).toEqual({
      Sid: "RootOnlyThroughMaintenanceAccessPoint",
      Effect: "Deny",
      Principal: { AWS: "*" },
      Action: "elasticfilesystem:ClientRootAccess",
      Resource: FILE_SYSTEM,
      Condition: { StringNotEquals: { "elasticfilesystem:AccessPointArn": MAINTENANCE_ACCESS_POINT } },
    });
  });
});

describe("rosters", () => {
  it("refuse a developer named maintenance, whose task family and role would be the maintenance task's", () => {
    const clash = ecsFleet((r) => r.developers.push({ name: "maintenance", port: 8460 }));
    expect(() => synthStack(clash)).toThrow(
      /a developer named "maintenance" would share the maintenance task's family and role \(code-server-dev-maintenance\): rename them/,
    );
  });

  it("that run no ECS have no maintenance task", () => {
    const host = synthStack(defaultFleet());
    expect(resources(host, "aws_ecs_task_definition")).toEqual([]);
    expect(resources(host, "aws_efs_access_point")).toEqual([]);
  });

  it("preparing ECS beside the host have it too: the migration fills the homes with it", () => {
    const prepare = parseRoster(stringify({ ...(parse(DEFAULT_ROSTER_TEXT) as object), migration: { prepare: "ecs" } }));
    expect(resources(synthStack(prepare), "aws_ecs_task_definition").map(([id]) => id)).toContain("ecs_maintenance_task");
  });
});
