/**
 * The AWS account of the `aws` stand-in (rehearse/standins/aws), kept in a directory: what the
 * rehearsal and the tests seed before a script runs ("the host is stopped" is an instance whose
 * state is stopped) and read back after it (the outcome, not only the calls). Records are in the
 * API's own shapes, as the stand-in answers them.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

export interface Tag {
  readonly Key: string;
  readonly Value: string;
}

export interface InstanceSeed {
  readonly id: string;
  /** The Name tag. */
  readonly name: string;
  /** @default "running" */
  readonly state?: string;
  /** @default `${region}a` */
  readonly zone?: string;
  /** @default "/dev/sda1" */
  readonly rootDevice?: string;
  /** What SSM says of its agent while it runs. @default "Online" */
  readonly ssmPing?: string;
}

export interface VolumeSeed {
  readonly id: string;
  readonly size: number;
  /** Attached to this instance at `device`; available when absent. */
  readonly attachedTo?: { readonly instanceId: string; readonly device: string };
  /** @default [] */
  readonly tags?: readonly Tag[];
  /** @default 3000 */
  readonly iops?: number;
  /** @default 125 */
  readonly throughput?: number;
  /** Encrypted with this key; unencrypted when absent. */
  readonly kmsKeyId?: string;
}

export interface SecretSeed {
  /** The current value; a secret without one is as Terraform creates it. */
  readonly value?: string;
  /** @default arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf */
  readonly arn?: string;
  /** Scheduled for deletion since then. */
  readonly deletedDate?: string;
}

export interface ServiceSeed {
  readonly cluster: string;
  readonly name: string;
  /** @default 1 */
  readonly desiredCount?: number;
  /** @default "ACTIVE" */
  readonly status?: string;
  readonly subnets: readonly string[];
  readonly securityGroups: readonly string[];
  /** @default "ENABLED" */
  readonly assignPublicIp?: string;
}

type Collection =
  | "instances"
  | "volumes"
  | "snapshots"
  | "alarms"
  | "secrets"
  | "logGroups"
  | "commands"
  | "services"
  | "tasks"
  | "taskDefinitions"
  | "fileSystems"
  | "recoveryPoints"
  | "restoreJobs"
  | "priceList";
type Json = Record<string, unknown>;

export class AwsAccount {
  private readonly file: string;

  constructor(
    readonly dir: string,
    readonly region: string,
    readonly accountId = "111122223333",
  ) {
    this.file = join(dir, "account.json");
    mkdirSync(dir, { recursive: true });
    if (!existsSync(this.file)) writeFileSync(this.file, `${JSON.stringify({ region, accountId }, null, 2)}\n`);
  }

  /** The environment a script needs to reach this account through the stand-in. */
  get env(): Record<string, string> {
    return { AWS_STANDIN_STATE: this.dir };
  }

  arn(service: string, resource: string): string {
    return `arn:aws:${service}:${this.region}:${this.accountId}:${resource}`;
  }

  /** The records of a collection, as the stand-in keeps them now. */
  list<T = Json>(collection: Collection): T[] {
    return ((this.data()[collection] as T[] | undefined) ?? []).slice();
  }

  /** Adds a record in the API's shape to a collection. */
  add(collection: Collection, record: Json): void {
    const data = this.data();
    data[collection] = [...((data[collection] as Json[] | undefined) ?? []), record];
    writeFileSync(this.file, `${JSON.stringify(data, null, 2)}\n`);
  }

  /** Changes the records of a collection that `match` selects. */
  update(collection: Collection, match: (record: Json) => boolean, change: (record: Json) => void): void {
    const data = this.data();
    for (const record of (data[collection] as Json[] | undefined) ?? []) if (match(record)) change(record);
    writeFileSync(this.file, `${JSON.stringify(data, null, 2)}\n`);
  }

  /** Removes the records of a collection that `match` selects (a resource deleted since). */
  remove(collection: Collection, match: (record: Json) => boolean): void {
    const data = this.data();
    data[collection] = ((data[collection] as Json[] | undefined) ?? []).filter((record) => !match(record));
    writeFileSync(this.file, `${JSON.stringify(data, null, 2)}\n`);
  }

  addInstance(seed: InstanceSeed): void {
    this.add("instances", {
      InstanceId: seed.id,
      State: { Name: seed.state ?? "running" },
      Tags: [{ Key: "Name", Value: seed.name }],
      Placement: { AvailabilityZone: seed.zone ?? `${this.region}a` },
      RootDeviceName: seed.rootDevice ?? "/dev/sda1",
      ...(seed.ssmPing ? { SsmPingStatus: seed.ssmPing } : {}),
    });
  }

  addVolume(seed: VolumeSeed): void {
    const attached = seed.attachedTo;
    this.add("volumes", {
      VolumeId: seed.id,
      Size: seed.size,
      VolumeType: "gp3",
      Iops: seed.iops ?? 3000,
      Throughput: seed.throughput ?? 125,
      Encrypted: seed.kmsKeyId !== undefined,
      ...(seed.kmsKeyId ? { KmsKeyId: seed.kmsKeyId } : {}),
      AvailabilityZone: `${this.region}a`,
      State: attached ? "in-use" : "available",
      Attachments: attached ? [{ VolumeId: seed.id, InstanceId: attached.instanceId, Device: attached.device, State: "attached" }] : [],
      Tags: seed.tags ?? [],
    });
  }

  addSnapshot(seed: { id: string; volumeSize: number; startTime: string; state?: string; volumeId?: string }): void {
    this.add("snapshots", {
      SnapshotId: seed.id,
      VolumeId: seed.volumeId ?? "vol-ffffffff",
      VolumeSize: seed.volumeSize,
      StartTime: seed.startTime,
      State: seed.state ?? "completed",
      Progress: "100%",
      Tags: [],
    });
  }

  /** A CloudWatch alarm; `insufficientDataReads`: it reads INSUFFICIENT_DATA that many times, then OK. */
  addAlarm(name: string, options: { state?: string; actionsEnabled?: boolean; insufficientDataReads?: number } = {}): void {
    const waiting = options.insufficientDataReads;
    this.add("alarms", {
      AlarmName: name,
      AlarmArn: this.arn("cloudwatch", `alarm:${name}`),
      StateValue: waiting ? "INSUFFICIENT_DATA" : (options.state ?? "OK"),
      ActionsEnabled: options.actionsEnabled ?? true,
      ...(waiting ? { InsufficientDataReads: waiting } : {}),
    });
  }

  addSecret(name: string, seed: SecretSeed = {}): void {
    this.add("secrets", {
      Name: name,
      ARN: seed.arn ?? this.arn("secretsmanager", `secret:${name}-AbCdEf`),
      CreatedDate: "2026-01-01T00:00:00+00:00",
      ...(seed.deletedDate ? { DeletedDate: seed.deletedDate } : {}),
    });
    if (seed.value !== undefined) this.setSecretValue(name, seed.value);
  }

  /** A new current version of the secret, as a put-secret-value stores it. */
  setSecretValue(name: string, value: string): void {
    const versions = this.secretVersions(name);
    this.write(join("secrets", secretKey(name), `v${versions.length + 1}`), value);
  }

  /** The current value of a secret, or undefined while it has none. */
  secretValue(name: string): string | undefined {
    const version = this.secretVersions(name).pop();
    return version === undefined ? undefined : readFileSync(join(this.dir, "secrets", secretKey(name), version), "utf8");
  }

  secretVersions(name: string): string[] {
    const dir = join(this.dir, "secrets", secretKey(name));
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => /^v\d+$/.test(f))
      .sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
  }

  addLogGroup(name: string): void {
    this.add("logGroups", { logGroupName: name, arn: this.arn("logs", `log-group:${name}:*`) });
  }

  addService(seed: ServiceSeed): void {
    const desired = seed.desiredCount ?? 1;
    this.add("services", {
      serviceName: seed.name,
      serviceArn: this.arn("ecs", `service/${seed.cluster}/${seed.name}`),
      clusterArn: this.arn("ecs", `cluster/${seed.cluster}`),
      status: seed.status ?? "ACTIVE",
      desiredCount: desired,
      runningCount: desired,
      launchType: "FARGATE",
      deployments: [{ id: "ecs-svc/0000000000000000", status: "PRIMARY", desiredCount: desired }],
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: seed.subnets,
          securityGroups: seed.securityGroups,
          assignPublicIp: seed.assignPublicIp ?? "ENABLED",
        },
      },
    });
  }

  /** A running task of a developer's service. */
  addTask(cluster: string, service: string, id: string): void {
    this.add("tasks", {
      taskArn: this.arn("ecs", `task/${cluster}/${id}`),
      clusterArn: this.arn("ecs", `cluster/${cluster}`),
      group: `service:${service}`,
      lastStatus: "RUNNING",
      desiredStatus: "RUNNING",
      containers: [{ name: "code-server", lastStatus: "RUNNING" }],
    });
  }

  addTaskDefinition(family: string, container: string, environment: Record<string, string>): void {
    this.add("taskDefinitions", {
      family,
      revision: 1,
      taskDefinitionArn: this.arn("ecs", `task-definition/${family}:1`),
      containerDefinitions: [{ name: container, environment: Object.entries(environment).map(([name, value]) => ({ name, value })) }],
    });
  }

  addFileSystem(id: string, name: string, kmsKeyId: string): void {
    this.add("fileSystems", {
      FileSystemId: id,
      FileSystemArn: this.arn("elasticfilesystem", `file-system/${id}`),
      Name: name,
      Encrypted: true,
      KmsKeyId: kmsKeyId,
      LifeCycleState: "available",
    });
  }

  /** A recovery point; the files it holds go under recoveryPointDir(arn). */
  addRecoveryPoint(seed: { arn: string; vault: string; resourceArn: string; status?: string; creationDate: string }): void {
    this.add("recoveryPoints", {
      RecoveryPointArn: seed.arn,
      BackupVaultName: seed.vault,
      ResourceArn: seed.resourceArn,
      ResourceType: "EFS",
      Status: seed.status ?? "COMPLETED",
      CreationDate: seed.creationDate,
    });
  }

  recoveryPointDir(arn: string): string {
    return join(this.dir, "backup", arn.split(":").pop()!);
  }

  /** The homes' file system's root, as the maintenance task and AWS Backup's restores see it. */
  get fileSystemRoot(): string {
    return join(this.dir, "fs");
  }

  /** The host's root (ROOT_PREFIX) of the commands SSM runs there. */
  get hostRoot(): string {
    return join(this.dir, "host");
  }

  /** A product of the Price List Query API (format aws_v1), which get-products sends as a JSON string. */
  addPriceListProduct(product: Json): void {
    this.add("priceList", product);
  }

  addBucket(bucket: string): void {
    mkdirSync(join(this.dir, "s3", bucket), { recursive: true });
  }

  /** Where the object s3://bucket/key lives. */
  objectPath(bucket: string, key: string): string {
    return join(this.dir, "s3", bucket, key);
  }

  putObject(bucket: string, key: string, content: string | Buffer): void {
    this.write(join("s3", bucket, key), content);
  }

  /** Every call made, as given ("aws <argv>"), oldest first. */
  calls(): string[] {
    const log = join(this.dir, "calls.log");
    return existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean) : [];
  }

  /** The content of a file:// argument of a call, by its file name. */
  captured(name: string): string {
    return readFileSync(join(this.dir, "captured", name), "utf8");
  }

  /** Every put-metric-data, oldest first. */
  metricData<T = unknown>(): { Namespace: string; MetricData: T[] }[] {
    const file = join(this.dir, "cloudwatch", "metric-data.jsonl");
    if (!existsSync(file)) return [];
    return readFileSync(file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { Namespace: string; MetricData: T[] });
  }

  private data(): Json {
    return JSON.parse(readFileSync(this.file, "utf8")) as Json;
  }

  private write(path: string, content: string | Buffer): void {
    mkdirSync(dirname(join(this.dir, path)), { recursive: true });
    writeFileSync(join(this.dir, path), content);
  }
}

/** A secret's name as the stand-in's directory name for it. */
const secretKey = (name: string) => name.replace(/[^A-Za-z0-9._-]/g, "_");
