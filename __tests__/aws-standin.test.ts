/**
 * The AWS stand-in (rehearse/standins/aws) itself: --query through JMESPath and --output text as
 * the AWS CLI prints them, on the scripts' own queries; a call it does not know exits 252 naming
 * it; a secret value on argv is refused (exit 99); what a call changes is there for the next one;
 * and the calls the rehearsal makes, with the environment it gives, and its fault knobs.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AwsAccount } from "../rehearse/lib/aws-account";
import { ARCHIVE_BUCKET, ARTIFACT_BUCKET, DATA_VOLUME_ID, INSTANCE_ID, RehearsalHost, rehearsalAccount } from "../rehearse/host";
import { HOST_FILES_PREFIX, hostInstanceName, secretName } from "../src/naming";
import { fleetOf } from "./fixtures/rosters";

const STANDIN = join(__dirname, "..", "rehearse", "standins", "aws");
const root = mkdtempSync(join(tmpdir(), "aws-standin-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const fleet = fleetOf();

let accounts = 0;
function newAccount(): AwsAccount {
  return new AwsAccount(join(root, `account-${accounts++}`), "ap-southeast-7");
}

function aws(account: AwsAccount, args: readonly string[], options: { env?: Record<string, string>; input?: string } = {}) {
  return spawnSync(STANDIN, args, {
    encoding: "utf8",
    input: options.input ?? "",
    env: { PATH: process.env.PATH, ...account.env, ...options.env },
  });
}
/** The call's standard output, after checking it exited 0. */
function ok(account: AwsAccount, args: readonly string[], options: { env?: Record<string, string>; input?: string } = {}): string {
  const result = aws(account, args, options);
  if (result.status !== 0) throw new Error(`aws ${args.join(" ")} exited ${result.status}: ${result.stderr}`);
  return result.stdout;
}

describe("--query and --output as the AWS CLI applies them", () => {
  const account = newAccount();
  account.addInstance({ id: "i-0123456789abcdef0", name: "code-server-dev-host" });
  account.addVolume({ id: "vol-0aaaaaaaaaaaaaaa1", size: 8, attachedTo: { instanceId: "i-0123456789abcdef0", device: "/dev/sda1" } });
  account.addVolume({
    id: "vol-0bbbbbbbbbbbbbbb2",
    size: 500,
    attachedTo: { instanceId: "i-0123456789abcdef0", device: "/dev/sdf" },
    kmsKeyId: "k",
  });
  account.addService({ cluster: "c", name: "dev1", subnets: ["subnet-0aaa", "subnet-0bbb"], securityGroups: ["sg-0ccc"] });
  account.addTaskDefinition("c-maintenance", "maintenance", { FS_ROOT: "/mnt", ARCHIVE_BUCKET: "archive" });
  account.addSecret("x/dev1/password", { deletedDate: "2026-11-20T10:00:00+00:00" });

  it.each([
    [
      "a multi-select of one instance: one row, a filter's first match",
      [
        "ec2",
        "describe-instances",
        "--instance-ids",
        "i-0123456789abcdef0",
        "--query",
        "Reservations[0].Instances[0].[State.Name, Tags[?Key=='Name'] | [0].Value]",
      ],
      "running\tcode-server-dev-host\n",
    ],
    [
      "a list of lists: a row each, null as None",
      [
        "ec2",
        "describe-volumes",
        "--filters",
        "Name=attachment.instance-id,Values=i-0123456789abcdef0",
        "--query",
        "Volumes[].[VolumeId, Attachments[0].Device, Size, Iops, Throughput, KmsKeyId]",
      ],
      "vol-0aaaaaaaaaaaaaaa1\t/dev/sda1\t8\t3000\t125\tNone\nvol-0bbbbbbbbbbbbbbb2\t/dev/sdf\t500\t3000\t125\tk\n",
    ],
    [
      "a flat list: one row",
      [
        "ec2",
        "describe-instances",
        "--filters",
        "Name=tag:Name,Values=code-server-dev-host",
        "Name=instance-state-name,Values=running",
        "--query",
        "Reservations[].Instances[].InstanceId",
      ],
      "i-0123456789abcdef0\n",
    ],
    [
      "JMESPath functions and literals",
      [
        "ecs",
        "describe-services",
        "--cluster",
        "c",
        "--services",
        "dev1",
        "--query",
        "services[0].networkConfiguration.awsvpcConfiguration.[join(`,`, subnets), join(`,`, securityGroups), assignPublicIp]",
      ],
      "subnet-0aaa,subnet-0bbb\tsg-0ccc\tENABLED\n",
    ],
    [
      "a service that does not exist: None",
      ["ecs", "describe-services", "--cluster", "c", "--services", "dev9", "--query", "services[0].[status, desiredCount, runningCount]"],
      "None\n",
    ],
    [
      "a pipe to the first match",
      [
        "ecs",
        "describe-task-definition",
        "--task-definition",
        "c-maintenance",
        "--query",
        "taskDefinition.containerDefinitions[0].environment[?name=='ARCHIVE_BUCKET'].value | [0]",
      ],
      "archive\n",
    ],
    [
      "a secret scheduled for deletion",
      ["secretsmanager", "describe-secret", "--secret-id", "x/dev1/password", "--query", "[ARN, DeletedDate]"],
      "arn:aws:secretsmanager:ap-southeast-7:111122223333:secret:x/dev1/password-AbCdEf\t2026-11-20T10:00:00+00:00\n",
    ],
    [
      "a whole response: the scalars of an object in a row, a nested list under its key",
      ["ecs", "describe-task-definition", "--task-definition", "c-maintenance", "--query", "taskDefinition.containerDefinitions[0]"],
      "maintenance\nENVIRONMENT\tFS_ROOT\t/mnt\nENVIRONMENT\tARCHIVE_BUCKET\tarchive\n",
    ],
  ])("%s", (_what, args, expected) => {
    expect(ok(account, ["--region", "ap-southeast-7", ...args, "--output", "text"])).toBe(expected);
  });

  it("takes the global options anywhere, --option=value too, and prints JSON by default", () => {
    const args = [
      "--output=text",
      "ec2",
      "--no-cli-pager",
      "describe-instances",
      "--query",
      "Reservations[0].Instances[0].State.Name",
      "--profile",
      "ops",
    ];
    expect(ok(account, args)).toBe("running\n");
    expect(JSON.parse(ok(account, ["ec2", "describe-instances", "--query", "Reservations[0].Instances[0].State"]))).toEqual({
      Name: "running",
    });
  });
});

describe("what the stand-in refuses", () => {
  it("a call outside the supported list: exit 252, naming it", () => {
    const account = newAccount();
    const result = aws(account, ["ec2", "terminate-instances", "--instance-ids", "i-0123456789abcdef0"]);
    expect(result.status).toBe(252);
    expect(result.stderr).toContain("'ec2 terminate-instances' is not one of the calls the scripts make");
  });

  it("a secret value on argv: exit 99, naming the option, nothing stored", () => {
    const account = newAccount();
    account.addSecret("x/dev1/password");
    const result = aws(account, ["secretsmanager", "put-secret-value", "--secret-id", "x/dev1/password", "--secret-string", "hunter2"]);
    expect(result.status).toBe(99);
    expect(result.stderr).toContain("--secret-string was given on the command line; a secret value travels by file://");
    expect(result.stderr).not.toContain("hunter2");
    expect(account.secretValue("x/dev1/password")).toBeUndefined();
  });

  it("what AWS refuses: an error as the CLI prints it, exit 254", () => {
    const result = aws(newAccount(), ["ec2", "describe-instances", "--instance-ids", "i-0fffffffffffffff0"]);
    expect([result.status, result.stderr]).toEqual([
      254,
      "\nAn error occurred (InvalidInstanceID.NotFound) when calling the DescribeInstances operation: The instance ID 'i-0fffffffffffffff0' does not exist.\n",
    ]);
  });
});

describe("the account keeps what a call changed", () => {
  it("the host started and stopped, a service scaled, a snapshot taken, a secret's versions, every call logged and every file:// captured", () => {
    const account = newAccount();
    account.addInstance({ id: "i-0123456789abcdef0", name: "h", state: "stopped" });
    account.addVolume({ id: "vol-0bbbbbbbbbbbbbbb2", size: 500 });
    account.addService({ cluster: "c", name: "dev1", subnets: ["subnet-0aaa"], securityGroups: ["sg-0ccc"] });
    account.addSecret("x/dev1/password");
    const state = ["ec2", "describe-instances", "--query", "Reservations[0].Instances[0].State.Name", "--output", "text"];
    ok(account, ["ec2", "start-instances", "--instance-ids", "i-0123456789abcdef0"]);
    ok(account, ["ec2", "wait", "instance-running", "--instance-ids", "i-0123456789abcdef0"]);
    expect(ok(account, state)).toBe("running\n");
    ok(account, ["ec2", "stop-instances", "--instance-ids", "i-0123456789abcdef0"]);
    expect(ok(account, state)).toBe("stopped\n");
    ok(account, ["ecs", "update-service", "--cluster", "c", "--service", "dev1", "--desired-count", "0"]);
    expect(
      ok(account, [
        "ecs",
        "describe-services",
        "--cluster",
        "c",
        "--services",
        "dev1",
        "--query",
        "services[0].[desiredCount, runningCount]",
        "--output",
        "text",
      ]),
    ).toBe("0\t0\n");
    const snapshot = ok(account, [
      "ec2",
      "create-snapshot",
      "--volume-id",
      "vol-0bbbbbbbbbbbbbbb2",
      "--query",
      "SnapshotId",
      "--output",
      "text",
    ]).trim();
    expect(
      ok(account, [
        "ec2",
        "describe-snapshots",
        "--snapshot-ids",
        snapshot,
        "--query",
        "Snapshots[0].[State, VolumeSize]",
        "--output",
        "text",
      ]),
    ).toBe("completed\t500\n");
    const value = join(root, "secret-value");
    for (const password of ["first", "second"]) {
      writeFileSync(value, password);
      ok(account, ["secretsmanager", "put-secret-value", "--secret-id", "x/dev1/password", "--secret-string", `file://${value}`]);
    }
    expect(
      ok(account, ["secretsmanager", "get-secret-value", "--secret-id", "x/dev1/password", "--query", "SecretString", "--output", "text"]),
    ).toBe("second\n");
    expect(JSON.parse(ok(account, ["secretsmanager", "describe-secret", "--secret-id", "x/dev1/password"])).VersionIdsToStages).toEqual({
      v1: ["AWSPREVIOUS"],
      v2: ["AWSCURRENT"],
    });
    expect(account.captured("secret-value")).toBe("second");
    expect(account.calls()).toHaveLength(13);
    expect(account.calls()[0]).toBe("aws ec2 start-instances --instance-ids i-0123456789abcdef0");
  });

  it("streams a whole object to a slow reader on a pipe (the maintenance task's tar)", () => {
    const account = newAccount();
    account.addBucket("b");
    const body = Buffer.alloc(3 * 1024 * 1024, "x");
    writeFileSync(account.objectPath("b", "k"), body);
    const read = spawnSync("sh", ["-c", `"${STANDIN}" s3 cp s3://b/k - | { sleep 1; wc -c; }`], {
      encoding: "utf8",
      env: { PATH: process.env.PATH, ...account.env },
    });
    expect([read.status, read.stdout.trim()]).toEqual([0, String(body.length)]);
  });

  it("answers in tens of milliseconds (the tests make many hundreds of calls)", () => {
    const account = newAccount();
    account.addInstance({ id: "i-0123456789abcdef0", name: "h" });
    const started = process.hrtime.bigint();
    for (let i = 0; i < 10; i++) ok(account, ["ec2", "describe-instances", "--query", "Reservations[0].Instances[0].State.Name"]);
    const perCall = Number(process.hrtime.bigint() - started) / 1e6 / 10;
    expect(perCall).toBeLessThan(500);
  });
});

/**
 * The rehearsal's calls (rehearse/host.ts, the host scripts, the fault checks), with the
 * environment RehearsalHost.env() gives them, its state moved to a scratch directory.
 */
describe("the rehearsal's calls", () => {
  const state = join(root, "rehearsal-state");
  const account = rehearsalAccount(state, fleet);
  const env = Object.fromEntries(
    Object.entries(new RehearsalHost(1024).env({ REHEARSAL_STATE: state, AWS_STANDIN_STATE: account.dir, TMPDIR: root, HOME: root })).map(
      ([k, v]) => [k, String(v)],
    ),
  );
  /** Runs `aws` as the host scripts do: found on the rehearsal's PATH. */
  const host = (args: readonly string[], extra: Record<string, string> = {}, input = "") =>
    spawnSync("aws", args, { encoding: "utf8", input, env: { ...env, ...extra } });
  const password = secretName(fleet, fleet.developers[0], "password");

  it("finds the stand-in first on the rehearsal's PATH, and the account as Terraform left it", () => {
    expect(spawnSync("sh", ["-c", "command -v aws"], { encoding: "utf8", env }).stdout.trim()).toBe(STANDIN);
    expect(
      host([
        "ec2",
        "describe-instances",
        "--filters",
        `Name=tag:Name,Values=${hostInstanceName(fleet)}`,
        "--query",
        "Reservations[].Instances[].InstanceId",
        "--output",
        "text",
      ]).stdout,
    ).toBe(`${INSTANCE_ID}\n`);
  });

  it("deploy: a secret that does not exist yet is created without a value; the host generates one, the rehearsal reads it back and sets another", () => {
    expect(host(["secretsmanager", "describe-secret", "--secret-id", password]).status).toBe(254);
    expect(host(["secretsmanager", "create-secret", "--name", password]).status).toBe(0);
    const described = JSON.parse(host(["secretsmanager", "describe-secret", "--secret-id", password, "--output", "json"]).stdout) as Record<
      string,
      unknown
    >;
    expect(described).not.toHaveProperty("VersionIdsToStages");
    const file = join(root, "password-file");
    writeFileSync(file, "Generated-Passw0rd!");
    expect(host(["secretsmanager", "put-secret-value", "--secret-id", password, "--secret-string", `file://${file}`]).status).toBe(0);
    expect(JSON.parse(host(["secretsmanager", "get-secret-value", "--secret-id", password, "--output", "json"]).stdout).SecretString).toBe(
      "Generated-Passw0rd!",
    );
    expect(
      host(["secretsmanager", "get-secret-value", "--secret-id", password, "--query", "SecretString", "--output", "text"]).stdout,
    ).toBe("Generated-Passw0rd!\n");
  });

  const uploadHostFiles = (count: number) => {
    for (let i = 0; i < count; i++) account.putObject(ARTIFACT_BUCKET, `${HOST_FILES_PREFIX}scripts/file-${i}.sh`, `echo ${i}\n`);
  };
  const sync = (target: string) => [
    "s3",
    "sync",
    "--only-show-errors",
    "--delete",
    "--region",
    fleet.region,
    `s3://${ARTIFACT_BUCKET}/${HOST_FILES_PREFIX}`,
    `${target}/`,
  ];

  it("the apply document's sync: every object under the prefix becomes a file, strays are deleted", () => {
    uploadHostFiles(12);
    const target = join(root, "staging");
    mkdirSync(target, { recursive: true });
    writeFileSync(join(target, "stray"), "x");
    const synced = host(sync(target));
    expect([synced.status, synced.stdout]).toEqual([0, ""]);
    expect(readdirSync(join(target, "scripts"))).toHaveLength(12);
    expect(existsSync(join(target, "stray"))).toBe(false);
  });

  it("AWS_STANDIN_FAULT_S3=fail: the sync fails and writes nothing", () => {
    const target = join(root, "failed-staging");
    const failed = host(sync(target), { AWS_STANDIN_FAULT_S3: "fail" });
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain("(InternalError) when calling the ListObjectsV2 operation");
    expect(existsSync(join(target, "scripts"))).toBe(false);
  });

  it("AWS_STANDIN_FAULT_SYNC_KILL_AFTER=10: the process that ran the sync is killed after 10 files", async () => {
    const target = join(root, "killed-staging");
    const script = `aws ${sync(target).join(" ")}; echo survived`;
    const child = spawn("bash", ["-c", script], { env: { ...env, AWS_STANDIN_FAULT_SYNC_KILL_AFTER: "10" } });
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    const signal = await new Promise((resolve) => child.on("close", (_code, signal) => resolve(signal)));
    expect([signal, stdout]).toEqual(["SIGKILL", ""]);
    expect(readdirSync(join(target, "scripts")).filter((f) => !f.endsWith(".sync-part"))).toHaveLength(10);
  });

  it("archives, snapshots and metric data land where the rehearsal's checks read them", () => {
    const archive = `removed/${fleet.developers[0].name}/20260101T000000Z.tar.gz`;
    expect(
      host(["s3", "cp", "-", `s3://${ARCHIVE_BUCKET}/${archive}`, "--expected-size", "5", "--only-show-errors"], {}, "hello").status,
    ).toBe(0);
    expect(readFileSync(join(state, "aws", "s3", ARCHIVE_BUCKET, archive), "utf8")).toBe("hello");
    expect(
      host(["s3api", "head-object", "--bucket", ARCHIVE_BUCKET, "--key", archive, "--query", "ContentLength", "--output", "text"]).stdout,
    ).toBe("5\n");
    const snapshot = host([
      "ec2",
      "create-snapshot",
      "--volume-id",
      DATA_VOLUME_ID,
      "--description",
      "d",
      "--tag-specifications",
      "[]",
      "--query",
      "SnapshotId",
      "--output",
      "text",
    ]);
    expect(snapshot.stdout).toMatch(/^snap-[0-9a-f]{17}\n$/);
    const data = join(root, "metric-data.json");
    writeFileSync(data, JSON.stringify([{ MetricName: "Healthy", Value: 1, Dimensions: [{ Name: "Developer", Value: "alice" }] }]));
    expect(host(["cloudwatch", "put-metric-data", "--namespace", "N", "--metric-data", `file://${data}`]).status).toBe(0);
    const lines = readFileSync(join(state, "aws", "cloudwatch", "metric-data.jsonl"), "utf8")
      .trim()
      .split("\n");
    expect(JSON.parse(lines[lines.length - 1])).toMatchObject({ Namespace: "N", MetricData: [{ MetricName: "Healthy", Value: 1 }] });
  });
});
