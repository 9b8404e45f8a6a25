/**
 * The operator scripts (deployment/scripts/*.sh on a workstation) against the AWS stand-in, an
 * account seeded per run, which logs every call, captures secret files and answers from (and
 * changes) its state as AWS would: unknown developers and missing
 * arguments exit 2, `--option=value` works for every option, keys never travel in argv, nothing
 * is stored for a host that cannot apply it, a restore never starts without a snapshot id and a
 * confirmation and moves the backup plan's tag to the new volume, and adding back a removed
 * developer restores their secrets within the recovery window and prints the imports.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  BACKUP_SELECTION_TAG,
  backupPlanName,
  developerKeptAddresses,
  hostInstanceName,
  hostPaths,
  logGroupNames,
  secretName,
} from "../src/naming";
import { AwsAccount } from "../rehearse/lib/aws-account";
import { renderOperatorScripts } from "../src/render";
import { stackId } from "../src/stacks/dev-environment-stack";
import type { Fleet } from "../src/roster";
import { BASE_DEVELOPERS, fleetOf } from "./fixtures/rosters";
import { editedFleet } from "./helpers/fleet";
import { sleepingAlarmNamesOf } from "./helpers/synth";

const fleet = fleetOf();
const HOST = "i-0123456789abcdef0";
const dir = mkdtempSync(join(tmpdir(), "operator-scripts-"));
const bin = join(dir, "bin");
const dateLog = join(dir, "date.log");
const REAL_DATE = execFileSync("sh", ["-c", "command -v date"], { encoding: "utf8" }).trim();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SLEEPING = sleepingAlarmNamesOf(fleet);
/** The fleet's operator scripts as deployment/ holds them, under `root`/scripts. */
function renderInto(root: string, scriptsFleet: Fleet, sleepingAlarmNames: readonly string[]): string {
  for (const file of renderOperatorScripts(scriptsFleet, { sleepingAlarmNames })) {
    mkdirSync(dirname(join(root, file.path)), { recursive: true });
    writeFileSync(join(root, file.path), file.content, { mode: file.mode });
  }
  return join(root, "scripts");
}
renderInto(dir, fleet, SLEEPING);
const WEEKDAYS_8_TO_8 = { timezone: "Asia/Bangkok", days: ["mon", "tue", "wed", "thu", "fri"], start: "08:00", stop: "20:00" };
const scheduledFleet = editedFleet((roster) => {
  roster.developers = BASE_DEVELOPERS;
  roster.schedule = WEEKDAYS_8_TO_8;
});
const scheduledScripts = renderInto(join(dir, "scheduled"), scheduledFleet, sleepingAlarmNamesOf(scheduledFleet));
const MANY = Array.from({ length: 205 }, (_, i) => `code-server-dev-alarm-${i}`);
const manyAlarmScripts = renderInto(join(dir, "many"), fleet, MANY);
mkdirSync(bin, { recursive: true });
// The AWS CLI is the account stand-in; each run gets an account of its own, seeded below.
symlinkSync(join(__dirname, "..", "rehearse", "standins", "aws"), join(bin, "aws"));
const ROOT_VOLUME = "vol-0aaaaaaaaaaaaaaa1";
const DATA_VOLUME = "vol-0bbbbbbbbbbbbbbb2";
const SNAPSHOT = "snap-0123456789abcdef0";
const KEY = "arn:aws:kms:ap-southeast-7:111122223333:key/k";
const arnOf = (name: string, suffix = "AbCdEf") => `arn:aws:secretsmanager:ap-southeast-7:111122223333:secret:${name}-${suffix}`;

/**
 * The account as the fleet's deploy leaves it: the host ${HOST} running, tagged with the fleet's
 * host name, its root and data volumes, a completed snapshot, the sleeping alarms, every
 * developer's secrets (only alice's password has a value yet), carol's container log group.
 */
function seedAccount(account: AwsAccount): void {
  account.addInstance({ id: HOST, name: hostInstanceName(fleet) });
  account.addVolume({ id: ROOT_VOLUME, size: 50, attachedTo: { instanceId: HOST, device: "/dev/sda1" }, kmsKeyId: KEY });
  account.addVolume({
    id: DATA_VOLUME,
    size: 500,
    attachedTo: { instanceId: HOST, device: "/dev/sdf" },
    kmsKeyId: KEY,
    tags: [
      { Key: "Name", Value: "code-server-dev-data" },
      { Key: BACKUP_SELECTION_TAG, Value: "code-server-dev-daily" },
    ],
  });
  account.addSnapshot({ id: SNAPSHOT, volumeSize: 400, startTime: "2026-01-01T02:00:00Z", volumeId: DATA_VOLUME });
  for (const alarm of SLEEPING) account.addAlarm(alarm);
  for (const developer of fleet.developers) {
    account.addSecret(secretName(fleet, developer, "password"), developer.name === "alice" ? { value: "S3cret-Passw0rd!" } : {});
    const apiKey = secretName(fleet, developer, "anthropic-api-key");
    account.addSecret(apiKey, { arn: arnOf(apiKey, developer.name === "carol" ? "GhIjKl" : "AbCdEf") });
  }
  account.addLogGroup(logGroupNames(fleet).container({ name: "carol" }));
}
/** Changes to the seeded account, for one run. */
type Seed = (account: AwsAccount) => void;
const hostIs =
  (state: string): Seed =>
  (a) =>
    a.update(
      "instances",
      (i) => i.InstanceId === HOST,
      (i) => (i.State = { Name: state }),
    );
const hostTagged =
  (name: string): Seed =>
  (a) =>
    a.update(
      "instances",
      (i) => i.InstanceId === HOST,
      (i) => (i.Tags = [{ Key: "Name", Value: name }]),
    );
const ssmPing =
  (status: string): Seed =>
  (a) =>
    a.update(
      "instances",
      (i) => i.InstanceId === HOST,
      (i) => (i.SsmPingStatus = status),
    );

// date as macOS's BSD date behaves for what it does not share with GNU date (-d, long options): it
// refuses them. With STUB_NOW, "+%u %H %M" answers that instead of the real time.
writeFileSync(
  join(bin, "date"),
  `#!/usr/bin/env bash
printf 'TZ=%s %s\\n' "\${TZ-}" "$*" >>${JSON.stringify(dateLog)}
if [[ -n \${STUB_NOW:-} && $# -eq 1 && $1 == "+%u %H %M" ]]; then echo "$STUB_NOW"; exit 0; fi
for arg in "$@"; do case $arg in -d* | -v* | -r* | --*) echo "date: illegal option -- \${arg#-}" >&2; exit 1 ;; esac; done
exec ${REAL_DATE} "$@"
`,
);
chmodSync(join(bin, "date"), 0o755);

let runs = 0;
function run(
  script: string,
  args: readonly string[],
  input = "",
  env: Record<string, string> = {},
  scripts = join(dir, "scripts"),
  seed: Seed = () => undefined,
) {
  writeFileSync(dateLog, "");
  const account = new AwsAccount(join(dir, `account-${runs++}`), fleet.region);
  seedAccount(account);
  seed(account);
  const result = spawnSync("bash", [join(scripts, script), ...args], {
    encoding: "utf8",
    input,
    env: { PATH: `${bin}:${process.env.PATH}`, HOME: dir, TMPDIR: dir, POLL_SECONDS: "0", ...account.env, ...env },
  });
  return {
    ...result,
    account,
    /** The AWS calls, their argv as given. */
    aws: account.calls().map((c) => c.replace(/^aws /, "")),
    date: readFileSync(dateLog, "utf8").split("\n").filter(Boolean),
  };
}

const stored = (aws: readonly string[]) => aws.filter((call) => call.includes("put-secret-value"));

describe("arguments", () => {
  it.each(["set-api-key.sh", "show-password.sh", "rotate-password.sh"])(
    "%s refuses an unknown developer, naming the valid ones",
    (script) => {
      const result = run(script, ["--developer", "mallory"]);
      expect(result.status).toBe(2);
      expect(result.stderr).toContain("unknown developer 'mallory'; the roster has: alice bob carol");
      expect(result.aws).toEqual([]);
    },
  );

  it.each(["set-api-key.sh", "show-password.sh", "rotate-password.sh"])("%s requires --developer", (script) => {
    const result = run(script, []);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--developer is required[\s\S]*Usage:/);
  });

  it.each([
    ["show-password.sh", ["--developer=alice"]],
    ["rotate-password.sh", ["--developer=carol", "--no-apply"]],
    ["rotate-password.sh", ["--developer=carol", `--instance-id=${HOST}`]],
    ["set-api-key.sh", ["--developer=bob", "--apply", `--instance-id=${HOST}`]],
  ])("%s accepts %j, the --option=value spelling", (script, args) => {
    const result = run(script, args, "sk-ant-api03-abcDEF_123-xyz\n");
    expect([result.status, result.stderr]).toEqual([0, expect.any(String)]);
  });

  it.each([
    ["show-password.sh", ["--developer="], /--developer needs a value/],
    ["show-password.sh", ["--developer", "--help"], /--developer needs a value/],
    ["rotate-password.sh", ["--developer=carol", "--no-apply=yes"], /unknown argument: --no-apply=… \(--no-apply takes no value\)/],
    ["rotate-password.sh", ["--developer", "carol", "-n"], /unknown argument: -n\n/],
    ["restore.sh", ["--snapshot-id="], /--snapshot-id needs a value/],
  ])("%s refuses %j with exit 2 before calling AWS", (script, args, message) => {
    const result = run(script, args);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.aws).toEqual([]);
  });

  // One parser serves every script: a value typed in the wrong place may be a secret, so no
  // error repeats a value or a word that is not an option.
  it.each([
    ["set-api-key.sh", ["--developer", "bob", "--key=sk-ant-api03-typed-here"], /unknown argument: --key=…\n/],
    ["set-api-key.sh", ["--developer", "bob", "sk-ant-api03-typed-here"], /\(not shown\); the key is read from standard input/],
    ["show-password.sh", ["--developer=bob", "--apply=sk-ant-api03-typed-here"], /unknown argument: --apply=…\n/],
    ["show-password.sh", ["sk-ant-api03-typed-here"], /an argument that is not an option was given \(not shown\)\n/],
  ])("%s refuses %j without repeating the value", (script, args, message) => {
    const result = run(script, args);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toContain("typed-here");
    expect(result.aws).toEqual([]);
  });
});

describe("set-api-key.sh", () => {
  it("takes the key from stdin and stores it through a file, never argv", () => {
    const key = "sk-ant-api03-abcDEF_123-xyz";
    const result = run("set-api-key.sh", ["--developer", "bob"], `${key}\n`);
    expect(result.status).toBe(0);
    expect(result.aws).toEqual([
      expect.stringMatching(
        new RegExp(
          `^--region ${fleet.region} secretsmanager put-secret-value --secret-id ${secretName(fleet, { name: "bob" }, "anthropic-api-key")} --secret-string file://`,
        ),
      ),
    ]);
    expect(result.account.captured("secret-value")).toBe(key);
    expect(result.account.secretValue(secretName(fleet, { name: "bob" }, "anthropic-api-key"))).toBe(key);
    expect(result.aws.join("\n")).not.toContain(key);
    expect(result.stderr).toMatch(/apply\.sh/);
  });

  it("refuses a key given as an argument, and an empty or malformed key", () => {
    expect(run("set-api-key.sh", ["--developer", "bob", "sk-ant-api03-xyz"]).status).toBe(2);
    const empty = run("set-api-key.sh", ["--developer", "bob"], "\n");
    expect(empty.status).toBe(1);
    expect(empty.stderr).toMatch(/no key given; nothing stored/);
    const quoted = run("set-api-key.sh", ["--developer", "bob"], "sk-ant-'; rm -rf /\n");
    expect(quoted.status).toBe(1);
    expect(quoted.aws).toEqual([]);
  });

  it("with --apply, checks the host before storing the key, and stores nothing for a stopped one", () => {
    // Named: the lookup by Name tag finds running instances only.
    const result = run(
      "set-api-key.sh",
      ["--developer", "bob", "--apply", "--instance-id", HOST],
      "sk-ant-api03-abcDEF_123-xyz\n",
      {},
      undefined,
      hostIs("stopped"),
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`the host ${HOST} is stopped, not running`);
    expect(stored(result.aws)).toEqual([]);
  });
});

describe("show-password.sh", () => {
  it("prints only the password on stdout, and explains a missing one", () => {
    const shown = run("show-password.sh", ["--developer", "alice"]);
    expect(shown.status).toBe(0);
    expect(shown.stdout).toBe("S3cret-Passw0rd!\n");
    const missing = run("show-password.sh", ["--developer", "bob"]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/bob has no password yet: the host generates one on its first apply/);
  });
});

describe("rotate-password.sh", () => {
  it("--no-apply stores a new 32-character password through a file", () => {
    const result = run("rotate-password.sh", ["--developer", "carol", "--no-apply"]);
    expect(result.status).toBe(0);
    expect(result.aws).toEqual([
      expect.stringContaining(`put-secret-value --secret-id ${secretName(fleet, { name: "carol" }, "password")} --secret-string file://`),
    ]);
    const password = result.account.captured("secret-value");
    expect(password).toMatch(/^(?=.*[A-Za-z])(?=.*[0-9])(?=.*[^A-Za-z0-9]).{32}$/);
    expect(result.account.secretValue(secretName(fleet, { name: "carol" }, "password"))).toBe(password);
  });

  it("finds the host by its Name tag, verifies it, stores the password, then runs apply.sh there through SSM Run Command", () => {
    const result = run("rotate-password.sh", ["--developer", "carol"]);
    expect(result.status).toBe(0);
    const calls = result.aws.map((c) => c.replace(`--region ${fleet.region} `, ""));
    const at = (part: string) => calls.findIndex((c) => c.includes(part));
    expect(calls[0]).toContain(`ec2 describe-instances --filters Name=tag:Name,Values=${hostInstanceName(fleet)}`);
    expect(at(`ec2 describe-instances --instance-ids ${HOST}`)).toBeGreaterThan(0);
    expect(at("ssm describe-instance-information")).toBeLessThan(at("put-secret-value"));
    expect(at("put-secret-value")).toBeLessThan(at("ssm send-command"));
    expect(calls).toContainEqual(
      expect.stringContaining(
        `ssm send-command --instance-ids ${HOST} --document-name AWS-RunShellScript --comment rotate-password.sh (${fleet.project}/${fleet.environment}) --parameters {"commands":["bash ${hostPaths(fleet).root}/scripts/apply.sh"]`,
      ),
    );
    expect(result.stderr).toMatch(/container restarted with the new password/);
  });

  it.each([
    [
      "an instance that does not exist",
      ["--instance-id", "i-0fffffffffffffff0"],
      undefined,
      1,
      /there is no instance i-0fffffffffffffff0 in ap-southeast-7 \(.*InvalidInstanceID\.NotFound/,
    ],
    ["something that is not an instance id", ["--instance-id=web-1"], undefined, 2, /not an instance id: web-1/],
    [
      "another fleet's or team's instance",
      ["--instance-id", HOST],
      hostTagged("billing-prod"),
      1,
      /is not this fleet's host: it is tagged Name=billing-prod/,
    ],
    ["a stopped host", ["--instance-id", HOST], hostIs("stopped"), 1, /the host i-0123456789abcdef0 is stopped, not running: start it/],
    // Found by its Name tag among running instances only: none, and the script ends there.
    [
      "a stopped host it must find",
      [],
      hostIs("stopped"),
      1,
      /no running instance tagged Name=code-server-dev-host in ap-southeast-7; pass --instance-id\n$/,
    ],
    [
      "a host whose SSM agent is offline",
      [],
      ssmPing("ConnectionLost"),
      1,
      /SSM agent of i-0123456789abcdef0 is not online \(PingStatus: ConnectionLost\)/,
    ],
  ])("refuses %s and stores no password", (_what, args, seed, status, message) => {
    const result = run("rotate-password.sh", ["--developer", "carol", ...args], "", {}, undefined, seed);
    expect(result.status).toBe(status);
    expect(result.stderr).toMatch(message);
    expect(stored(result.aws)).toEqual([]);
    expect(result.account.secretValue(secretName(fleet, { name: "carol" }, "password"))).toBeUndefined();
    expect(result.aws.filter((c) => c.includes("send-command"))).toEqual([]);
  });
});

interface Volume {
  VolumeId: string;
  State: string;
  Attachments: { InstanceId: string; Device: string }[];
  Tags: { Key: string; Value: string }[];
}
/** The one volume restore.sh created from the snapshot. */
function restoredVolume(account: AwsAccount): Volume {
  const created = account.list<Volume & { SnapshotId?: string }>("volumes").filter((v) => v.SnapshotId === SNAPSHOT);
  expect(created).toHaveLength(1);
  return created[0];
}

describe("restore.sh", () => {
  it.each([
    [[], /--snapshot-id is required/],
    [["--snapshot-id", "vol-123"], /not a snapshot id: vol-123/],
    [["--snapshot-id"], /--snapshot-id needs a value/],
    [["--snapshot-id", "snap-0123456789abcdef0"], /refusing to restore without --confirm/],
  ])("refuses %j with exit 2 before calling AWS", (args, message) => {
    const result = run("restore.sh", args);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/Usage: restore\.sh/);
    expect(result.aws).toEqual([]);
  });

  it.each([
    [
      "--option value",
      [
        "--snapshot-id",
        "snap-0123456789abcdef0",
        "--confirm",
        "--volume-address",
        "aws_ebs_volume.data",
        "--attachment-address",
        "aws_volume_attachment.data",
      ],
    ],
    [
      "--option=value",
      [
        "--snapshot-id=snap-0123456789abcdef0",
        "--confirm",
        "--volume-address=aws_ebs_volume.data",
        "--attachment-address=aws_volume_attachment.data",
      ],
    ],
  ])("written %s, swaps in a volume from the snapshot, keeping the old one, and prints the terraform commands", (_form, args) => {
    const result = run("restore.sh", args);
    expect(result.status).toBe(0);
    const created = restoredVolume(result.account);
    const steps = result.aws.map((c) => c.replace(`--region ${fleet.region} `, ""));
    const index = (prefix: string) => steps.findIndex((c) => c.startsWith(prefix));
    const create = steps[index("ec2 create-volume")];
    // The host's zone, the snapshot, gp3, the current volume's key; at least the current size.
    for (const part of [
      "--availability-zone ap-southeast-7a",
      "--snapshot-id snap-0123456789abcdef0",
      "--volume-type gp3",
      "--size 500",
      "--encrypted --kms-key-id arn:aws:kms:ap-southeast-7:111122223333:key/k",
      '{"Key":"Name","Value":"code-server-dev-data"}',
      `{"Key":"${BACKUP_SELECTION_TAG}","Value":"${backupPlanName(fleet)}"}`,
      '{"Key":"restored-from","Value":"snap-0123456789abcdef0"}',
    ]) {
      expect(create).toContain(part);
    }
    // The old volume's value of the backup tag is not copied: the plan's own is set.
    expect(create).not.toContain("code-server-dev-daily");
    const verified = index("ssm describe-instance-information");
    const stop = steps.findIndex((c) => c.includes("stop-containers.sh --unmount"));
    const detach = index(`ec2 detach-volume --volume-id vol-0bbbbbbbbbbbbbbb2 --instance-id ${HOST}`);
    const attach = index(`ec2 attach-volume --volume-id ${created.VolumeId} --instance-id ${HOST} --device /dev/sdf`);
    const start = steps.findIndex((c) => c.includes(`start-containers.sh --data-volume-id ${created.VolumeId}`));
    expect(verified).toBeLessThan(index("ec2 create-volume"));
    expect(index("ec2 create-volume")).toBeLessThan(stop);
    expect(stop).toBeLessThan(detach);
    expect(detach).toBeLessThan(attach);
    expect(attach).toBeLessThan(start);
    // The old volume gives up the backup tag only once the new one is attached.
    const untag = index(`ec2 delete-tags --resources vol-0bbbbbbbbbbbbbbb2 --tags Key=${BACKUP_SELECTION_TAG}`);
    expect(attach).toBeLessThan(untag);
    expect(steps.filter((c) => c.startsWith("ec2 delete-tags"))).toHaveLength(1);
    expect(result.stderr).toContain(
      `backups: the plan selects volumes tagged ${BACKUP_SELECTION_TAG}=${backupPlanName(fleet)}; ${created.VolumeId} carries the tag, vol-0bbbbbbbbbbbbbbb2 no longer does`,
    );
    // What the account holds now: the new volume at the old one's place, carrying the backup tag; the old one detached and kept.
    expect(created).toMatchObject({
      State: "in-use",
      Size: 500,
      Iops: 3000,
      Throughput: 125,
      KmsKeyId: KEY,
      AvailabilityZone: "ap-southeast-7a",
    });
    expect(created.Attachments).toEqual([expect.objectContaining({ InstanceId: HOST, Device: "/dev/sdf" })]);
    expect(created.Tags).toContainEqual({ Key: BACKUP_SELECTION_TAG, Value: backupPlanName(fleet) });
    const old = result.account.list<Volume>("volumes").find((v) => v.VolumeId === DATA_VOLUME)!;
    expect([old.State, old.Attachments]).toEqual(["available", []]);
    expect(old.Tags.map((t) => t.Key)).toEqual(["Name", "replaced-by", "replaced-at"]);
    expect(steps).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^ec2 create-tags --resources vol-0bbbbbbbbbbbbbbb2 --tags Key=replaced-by,Value=${created.VolumeId} Key=replaced-at,Value=\\d{8}T\\d{6}Z$`,
        ),
      ),
    );
    expect(steps.some((c) => /delete-volume|delete-snapshot/.test(c))).toBe(false);
    expect(result.stdout).toBe(
      [
        `terraform -chdir=cdktf.out/stacks/${stackId(fleet)} state rm 'aws_volume_attachment.data' 'aws_ebs_volume.data'`,
        `terraform -chdir=cdktf.out/stacks/${stackId(fleet)} import -var-file=../../../terraform.tfvars 'aws_ebs_volume.data' '${created.VolumeId}'`,
        `terraform -chdir=cdktf.out/stacks/${stackId(fleet)} import -var-file=../../../terraform.tfvars 'aws_volume_attachment.data' '/dev/sdf:${created.VolumeId}:i-0123456789abcdef0'`,
        "",
      ].join("\n"),
    );
  });

  it("still starts the containers when the old volume keeps the backup tag, then says how to remove it and exits 1", () => {
    const result = run("restore.sh", ["--snapshot-id=snap-0123456789abcdef0", "--confirm"], "", {
      AWS_STANDIN_FAULT_DENY: "ec2 delete-tags",
    });
    expect(result.status).toBe(1);
    const created = restoredVolume(result.account);
    expect(result.aws.some((c) => c.includes(`start-containers.sh --data-volume-id ${created.VolumeId}`))).toBe(true);
    expect(result.stderr).toContain(
      `remove the backup tag from the old volume: aws ec2 delete-tags --region ${fleet.region} --resources vol-0bbbbbbbbbbbbbbb2 --tags Key=${BACKUP_SELECTION_TAG}`,
    );
    expect(result.stderr).toContain("error: the old volume vol-0bbbbbbbbbbbbbbb2 still carries the backup tag");
    // The terraform commands are printed all the same: the new volume is in place.
    expect(result.stdout).toContain(`import -var-file=../../../terraform.tfvars 'aws_ebs_volume.data_volume' '${created.VolumeId}'`);
    const old = result.account.list<Volume>("volumes").find((v) => v.VolumeId === DATA_VOLUME)!;
    expect(old.Tags).toContainEqual({ Key: BACKUP_SELECTION_TAG, Value: "code-server-dev-daily" });
  });

  it("creates no volume for a host whose SSM agent is offline", () => {
    const result = run("restore.sh", ["--snapshot-id=snap-0123456789abcdef0", "--confirm"], "", {}, undefined, ssmPing("Inactive"));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/not online \(PingStatus: Inactive\)/);
    expect(result.aws.filter((c) => c.includes("create-volume"))).toEqual([]);
    expect(result.account.list("volumes")).toHaveLength(2);
  });
});

/** The AWS calls without the region prefix every call carries. */
const calls = (aws: readonly string[]) => aws.map((c) => c.replace(`--region ${fleet.region} `, ""));
const indexOf = (list: readonly string[], part: string) => list.findIndex((c) => c.includes(part));

describe("wake.sh", () => {
  it("starts a stopped host, waits for it, checks every container through SSM, then turns the sleeping alarms' actions back on", () => {
    // The first sleeping alarm has no data for the next 2 reads (its metric arrives as the host starts).
    const result = run("wake.sh", [], "", {}, undefined, (a) => {
      hostIs("stopped")(a);
      a.update(
        "alarms",
        (x) => x.AlarmName === SLEEPING[0],
        (x) => Object.assign(x, { StateValue: "INSUFFICIENT_DATA", InsufficientDataReads: 2 }),
      );
      a.update(
        "alarms",
        () => true,
        (x) => (x.ActionsEnabled = false),
      );
    });
    expect([result.status, result.stderr]).toEqual([0, expect.any(String)]);
    const aws = calls(result.aws);
    expect(aws[0]).toBe(
      `ec2 describe-instances --filters Name=tag:Name,Values=${hostInstanceName(fleet)} Name=instance-state-name,Values=pending,running,stopping,stopped --query Reservations[].Instances[].InstanceId --output text`,
    );
    const order = [
      `ec2 describe-instances --instance-ids ${HOST}`,
      `ec2 start-instances --instance-ids ${HOST}`,
      `ec2 wait instance-running --instance-ids ${HOST}`,
      "ssm describe-instance-information",
      "ssm send-command",
      "cloudwatch describe-alarms",
      "cloudwatch enable-alarm-actions",
    ].map((part) => indexOf(aws, part));
    expect(order.every((at) => at >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(aws).toContainEqual(
      expect.stringContaining(
        `"commands":["test ! -e /var/lib/${fleet.project}/maintenance && bash ${hostPaths(fleet).root}/scripts/start-containers.sh"]`,
      ),
    );
    // Waited until no alarm was without data (2 answers naming one, then none), then turned on exactly the sleeping ones.
    expect(aws.filter((c) => c.includes("INSUFFICIENT_DATA"))).toHaveLength(3);
    expect(aws.filter((c) => c.startsWith("cloudwatch enable-alarm-actions"))).toEqual([
      `cloudwatch enable-alarm-actions --alarm-names ${SLEEPING.join(" ")}`,
    ]);
    expect(aws.some((c) => c.includes("disable-alarm-actions"))).toBe(false);
    expect(result.stderr).toContain("every developer's container is healthy: developers can log in now");
    expect(result.stderr).toContain("awake. The roster has no schedule: the host runs until sleep.sh stops it.");
    expect(result.account.list<{ State: { Name: string } }>("instances")[0].State.Name).toBe("running");
    expect(result.account.list<{ ActionsEnabled: boolean }>("alarms").map((a) => a.ActionsEnabled)).toEqual(SLEEPING.map(() => true));
  });

  it("does not start a host that is already running, and still checks it and turns the alarms on", () => {
    const result = run("wake.sh", [`--instance-id=${HOST}`]);
    expect(result.status).toBe(0);
    expect(result.aws.some((c) => c.includes("start-instances"))).toBe(false);
    expect(result.stderr).toContain(`the host ${HOST} is already running`);
    expect(result.aws.some((c) => c.includes("enable-alarm-actions"))).toBe(true);
  });

  it("names the alarms already in ALARM, which CloudWatch e-mails only on their next change", () => {
    const alarming = SLEEPING[SLEEPING.length - 1];
    const result = run("wake.sh", [], "", {}, undefined, (a) =>
      a.update(
        "alarms",
        (x) => x.AlarmName === alarming,
        (x) => (x.StateValue = "ALARM"),
      ),
    );
    expect(result.status).toBe(0);
    expect(result.stderr).toContain(`in ALARM now, and e-mailed only when their state changes again: ${alarming}\n`);
  });

  it("turns the alarms on even when a container is unhealthy (the alarm is then right), and exits 1", () => {
    const result = run("wake.sh", [], "", { AWS_STANDIN_FAULT_SSM_COMMAND: "Failed" });
    expect(result.status).toBe(1);
    expect(result.aws.some((c) => c.includes("enable-alarm-actions"))).toBe(true);
    expect(result.stderr).toMatch(/not every container is healthy .* or the host is in a restore's maintenance/);
    expect(result.stderr).toMatch(/the host is up, but not every container is healthy$/m);
  });

  it.each([
    // The first two named: the lookup by Name tag would not find them.
    [
      "a host that is not this fleet's",
      [`--instance-id=${HOST}`],
      hostTagged("billing-prod"),
      {},
      /is not this fleet's host: it is tagged Name=billing-prod/,
    ],
    [
      "a terminated host",
      [`--instance-id=${HOST}`],
      hostIs("terminated"),
      {},
      /the host i-0123456789abcdef0 is terminated: it cannot be started/,
    ],
    [
      "a start EC2 refuses",
      [],
      hostIs("stopped"),
      { AWS_STANDIN_FAULT_DENY: "ec2 start-instances" },
      /cannot start .*kms:CreateGrant on that key/,
    ],
  ])("changes nothing for %s", (_what, args, seed, env, message) => {
    const result = run("wake.sh", args, "", env, undefined, seed);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.aws.some((c) => c.includes("alarm-actions"))).toBe(false);
    expect(result.aws.some((c) => c.includes("send-command"))).toBe(false);
  });

  it.each([
    [["--instance-id=web-1"], /not an instance id: web-1/],
    [["--instance-id"], /--instance-id needs a value/],
    [["--now"], /unknown argument: --now/],
  ])("refuses %j with exit 2 before calling AWS", (args, message) => {
    const result = run("wake.sh", args);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/Usage: wake\.sh/);
    expect(result.aws).toEqual([]);
  });

  it("turns on more than 100 alarms in calls of at most 100", () => {
    const result = run("wake.sh", [], "", {}, manyAlarmScripts, (a) => MANY.forEach((name) => a.addAlarm(name, { actionsEnabled: false })));
    expect(result.status).toBe(0);
    const enabled = calls(result.aws)
      .filter((c) => c.startsWith("cloudwatch enable-alarm-actions --alarm-names "))
      .map((c) => c.slice("cloudwatch enable-alarm-actions --alarm-names ".length).split(" "));
    expect(enabled.map((names) => names.length)).toEqual([100, 100, 5]);
    expect(enabled.flat()).toEqual(MANY);
    const many = result.account.list<{ AlarmName: string; ActionsEnabled: boolean }>("alarms").filter((a) => MANY.includes(a.AlarmName));
    expect(many.filter((a) => a.ActionsEnabled)).toHaveLength(MANY.length);
  });
});

describe("sleep.sh", () => {
  it("turns the sleeping alarms' actions off, then stops the host and waits until it has stopped", () => {
    const result = run("sleep.sh", []);
    expect(result.status).toBe(0);
    const aws = calls(result.aws);
    const off = indexOf(aws, "cloudwatch disable-alarm-actions");
    const stop = indexOf(aws, `ec2 stop-instances --instance-ids ${HOST}`);
    const waited = indexOf(aws, `ec2 wait instance-stopped --instance-ids ${HOST}`);
    expect(indexOf(aws, `ec2 describe-instances --instance-ids ${HOST}`)).toBeLessThan(off);
    expect(off).toBeLessThan(stop);
    expect(stop).toBeLessThan(waited);
    expect(aws[off]).toBe(`cloudwatch disable-alarm-actions --alarm-names ${SLEEPING.join(" ")}`);
    expect(result.stderr).toContain("asleep. The roster has no schedule: the host stays stopped until wake.sh starts it.");
    expect(result.account.list<{ State: { Name: string } }>("instances")[0].State.Name).toBe("stopped");
    expect(result.account.list<{ ActionsEnabled: boolean }>("alarms").map((a) => a.ActionsEnabled)).toEqual(SLEEPING.map(() => false));
  });

  it("turns the alarms off for a host that is already stopped, without stopping it again", () => {
    const result = run("sleep.sh", [], "", {}, undefined, hostIs("stopped"));
    expect(result.status).toBe(0);
    expect(result.aws.some((c) => c.includes("disable-alarm-actions"))).toBe(true);
    expect(result.aws.some((c) => c.includes("stop-instances"))).toBe(false);
  });

  it.each<[string, string[], Seed, RegExp]>([
    ["a host that is not this fleet's", ["--instance-id", HOST], hostTagged("billing-prod"), /is not this fleet's host/],
    [
      "an instance that does not exist",
      ["--instance-id", "i-0fffffffffffffff0"],
      () => undefined,
      /there is no instance i-0fffffffffffffff0/,
    ],
  ])("touches no alarm and stops nothing for %s", (_what, args, seed, message) => {
    const result = run("sleep.sh", args, "", {}, undefined, seed);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.aws.some((c) => c.includes("alarm-actions") || c.includes("stop-instances"))).toBe(false);
    expect(result.account.list<{ State: { Name: string } }>("instances")[0].State.Name).toBe("running");
  });
});

describe("when the schedule next acts", () => {
  it.each([
    // [ISO weekday, hour, minute in Asia/Bangkok], what sleep.sh says (next start), what wake.sh says (next stop)
    ["1 07 00", "Mon 08:00 Asia/Bangkok, in 1 h 0 min", "Mon 20:00 Asia/Bangkok, in 13 h 0 min"],
    ["3 12 30", "Thu 08:00 Asia/Bangkok, in 19 h 30 min", "Wed 20:00 Asia/Bangkok, in 7 h 30 min"],
    ["5 20 01", "Mon 08:00 Asia/Bangkok, in 2 d 11 h 59 min", "Mon 20:00 Asia/Bangkok, in 2 d 23 h 59 min"],
    ["7 23 59", "Mon 08:00 Asia/Bangkok, in 8 h 1 min", "Mon 20:00 Asia/Bangkok, in 20 h 1 min"],
    ["2 08 00", "Tue 08:00 Asia/Bangkok, in 0 min", "Tue 20:00 Asia/Bangkok, in 12 h 0 min"],
  ])("at %s, with only what GNU and BSD date share", (now, nextStart, nextStop) => {
    const asleep = run("sleep.sh", [], "", { STUB_NOW: now }, scheduledScripts);
    expect(asleep.status).toBe(0);
    expect(asleep.stderr).toContain(`asleep. The schedule starts the host next on ${nextStart} (wake.sh starts it earlier).`);
    // One reading of the zone's wall clock, in the one form both dates accept.
    expect(asleep.date).toEqual(["TZ=Asia/Bangkok +%u %H %M"]);
    const awake = run("wake.sh", [], "", { STUB_NOW: now }, scheduledScripts);
    expect(awake.status).toBe(0);
    expect(awake.stderr).toContain(
      `awake. The schedule stops the host next on ${nextStop}; it runs until then (sleep.sh stops it earlier).`,
    );
  });

  it("reads the real clock in the schedule's zone (this machine's date), matching Intl's answer", () => {
    const expected = () => {
      const parts = new Intl.DateTimeFormat("en-GB", {
        timeZone: "Asia/Bangkok",
        weekday: "short",
        hour: "2-digit",
        minute: "2-digit",
        hourCycle: "h23",
      }).formatToParts(new Date());
      const get = (type: string) => parts.find((p) => p.type === type)!.value;
      const day = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].indexOf(get("weekday"));
      const now = day * 1440 + Number(get("hour")) * 60 + Number(get("minute"));
      // Next weekday 08:00 at or after now.
      const deltas = [0, 1, 2, 3, 4].map((d) => (d * 1440 + 480 - now + 10080) % 10080);
      const delta = Math.min(...deltas);
      const name = ["Mon", "Tue", "Wed", "Thu", "Fri"][deltas.indexOf(delta)];
      const text = `${delta >= 1440 ? `${Math.floor(delta / 1440)} d ` : ""}${delta % 1440 >= 60 ? `${Math.floor((delta % 1440) / 60)} h ` : ""}${delta % 60} min`;
      return `${name} 08:00 Asia/Bangkok, in ${text}`;
    };
    const before = expected();
    const result = run("sleep.sh", [], "", {}, scheduledScripts);
    const after = expected();
    expect(result.status).toBe(0);
    const said = /next on (.*) \(wake\.sh starts it earlier\)/.exec(result.stderr)?.[1];
    expect([before, after]).toContain(said);
  });
});

describe("readd-developer.sh", () => {
  const STACK = `cdktf.out/stacks/${stackId(fleet)}`;
  const importOf = (address: string, id: string) =>
    `terraform -chdir=${STACK} import -var-file=../../../terraform.tfvars '${address}' '${id}'`;

  it("restores a secret scheduled for deletion, leaves an active one alone, and prints the imports of both and of the kept log group", () => {
    const result = run("readd-developer.sh", ["--developer=carol"], "", {}, undefined, (a) =>
      a.update(
        "secrets",
        (x) => x.Name === secretName(fleet, { name: "carol" }, "password"),
        (x) => (x.DeletedDate = "2026-11-20T10:00:00+00:00"),
      ),
    );
    expect([result.status, result.stderr]).toEqual([0, expect.any(String)]);
    const password = secretName(fleet, { name: "carol" }, "password");
    const apiKey = secretName(fleet, { name: "carol" }, "anthropic-api-key");
    const passwordArn = `arn:aws:secretsmanager:ap-southeast-7:111122223333:secret:${password}-AbCdEf`;
    const apiKeyArn = `arn:aws:secretsmanager:ap-southeast-7:111122223333:secret:${apiKey}-GhIjKl`;
    const kept = developerKeptAddresses({ name: "carol" });
    expect(result.aws.filter((c) => c.includes("restore-secret"))).toEqual([
      `--region ${fleet.region} secretsmanager restore-secret --secret-id ${passwordArn}`,
    ]);
    expect(result.stdout).toBe(
      [
        importOf(kept.passwordSecret, passwordArn),
        importOf(kept.apiKeySecret, apiKeyArn),
        importOf(kept.logGroup, logGroupNames(fleet).container({ name: "carol" })),
        "",
      ].join("\n"),
    );
    expect(result.stderr).toContain(`${password}: was scheduled for deletion (since 2026-11-20T10:00:00+00:00); restored, with its value`);
    const restored = result.account.list<{ Name: string; DeletedDate?: string }>("secrets").find((x) => x.Name === password)!;
    expect(restored.DeletedDate).toBeUndefined();
  });

  it("prints nothing to import for a developer whose secrets and log group are gone, and says terraform creates them", () => {
    const result = run("readd-developer.sh", ["--developer", "bob"], "", {}, undefined, (a) =>
      a.remove("secrets", (x) => String(x.Name).includes("/bob/")),
    );
    expect(result.status).toBe(0);
    expect(result.stdout).toBe("");
    expect(result.aws.filter((c) => c.includes("restore-secret"))).toEqual([]);
    expect(result.stderr).toContain(
      `${secretName(fleet, { name: "bob" }, "password")}: does not exist (never created, or deleted after its recovery window); terraform apply creates it`,
    );
    expect(result.stderr).toContain(`${logGroupNames(fleet).container({ name: "bob" })}: does not exist; terraform apply creates it`);
  });

  it("refuses a developer the roster does not have: add them and synth first", () => {
    const result = run("readd-developer.sh", ["--developer", "mallory"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("unknown developer 'mallory'; the roster has: alice bob carol");
    expect(result.aws).toEqual([]);
  });
});
