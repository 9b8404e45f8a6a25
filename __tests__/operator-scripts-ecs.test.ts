/**
 * The operator scripts of a roster that runs ECS (alone, or beside the host in a migration),
 * against the AWS stand-in (an account seeded with the fleet's services, secrets, file system and
 * recovery point; during a migration the host): argument errors exit 2 and name the problem; the
 * AWS calls of each happy path in order; nothing stored when the developer's service does not
 * exist; restore-home changes nothing without --yes and swaps the restored home in with the real
 * maintenance program; archive-home archives a home where the host's apply puts a removed
 * developer's, read back, and delete-home deletes it only once that archive is there; migrate-homes copies a home from the host layout through the real host
 * command and maintenance program, and exits non-zero on a mismatch the task reports; no secret
 * value in argv; with OpenID Connect there is no password to show or rotate, and re-adding a
 * developer restores their gate's cookie key.
 */
import { spawnSync } from "node:child_process";
import {
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { AwsAccount } from "../rehearse/lib/aws-account";
import { DATA_MOUNT, hostInstanceName, hostPaths, maintenanceNames, oidcClientSecretName, secretName } from "../src/naming";
import { maintenanceProgram } from "../src/platforms/ecs/maintenance";
import { renderOperatorScripts } from "../src/render";
import type { Fleet } from "../src/roster";
import { parseRoster } from "../src/roster";
import { ecsOidcRosterText } from "./helpers/ecs-oidc";
import { editedFleet } from "./helpers/fleet";

const ecsFleet = editedFleet((r) => {
  r.platform = "ecs";
  delete r.host;
});
const execFleet = editedFleet((r) => {
  r.platform = "ecs";
  delete r.host;
  r.ecs = { exec: true };
});
const migrationFleet = editedFleet((r) => (r.migration = { prepare: "ecs" }));
const oidcFleet = parseRoster(ecsOidcRosterText());
const hostFleet = editedFleet(() => undefined);

const AWS_STANDIN = join(__dirname, "..", "rehearse", "standins", "aws");
const BUCKET = "code-server-dev-archive-20260101";
const HOST = "i-0123456789abcdef0";
const FILE_SYSTEM = "fs-0123456789abcdef0";
const RECOVERY_POINT = "arn:aws:backup:ap-southeast-7:111122223333:recovery-point:0a1b2c3d-4e5f-6789-abcd-ef0123456789";
const root = mkdtempSync(join(tmpdir(), "operator-scripts-ecs-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The fleet's operator scripts as deployment/scripts holds them, and its maintenance program. */
function renderFor(name: string, fleet: Fleet): { scripts: string; maintenance: string } {
  const dir = join(root, name);
  for (const file of renderOperatorScripts(fleet, { sleepingAlarmNames: [] })) {
    mkdirSync(dirname(join(dir, file.path)), { recursive: true });
    writeFileSync(join(dir, file.path), file.content, { mode: file.mode });
  }
  const maintenance = join(dir, "maintenance.sh");
  if (fleet.ecs) writeFileSync(maintenance, maintenanceProgram(fleet), { mode: 0o755 });
  return { scripts: join(dir, "scripts"), maintenance };
}
const rendered = {
  ecs: renderFor("ecs", ecsFleet),
  exec: renderFor("exec", execFleet),
  migration: renderFor("migration", migrationFleet),
  oidc: renderFor("oidc", oidcFleet),
};
const scriptsOf = (fleet: Fleet) =>
  renderOperatorScripts(fleet, { sleepingAlarmNames: [] })
    .map((f) => f.path.replace("scripts/", ""))
    .sort();

/**
 * The account as the fleet's deploy leaves it: a running service per developer (dev1's task
 * 0123456789abcdef0123456789abcdef), their secrets, the maintenance task's definition, the archive
 * bucket, the homes' file system and a completed recovery point of it; during a migration, the host.
 */
function seedAccount(account: AwsAccount, fleet: Fleet): void {
  const cluster = fleet.namePrefix;
  fleet.developers.forEach((developer, i) => {
    account.addService({ cluster, name: developer.name, subnets: ["subnet-0aaa", "subnet-0bbb"], securityGroups: ["sg-0ccc"] });
    account.addTask(cluster, developer.name, i === 0 ? "0123456789abcdef0123456789abcdef" : String(i).padStart(32, "0"));
    for (const kind of ["password", "anthropic-api-key", "gate-cookie-key"] as const) account.addSecret(secretName(fleet, developer, kind));
  });
  if (fleet.auth.type === "oidc") account.addSecret(oidcClientSecretName(fleet));
  const maintenance = maintenanceNames(fleet);
  account.addTaskDefinition(maintenance.family, maintenance.container, { ARCHIVE_BUCKET: BUCKET });
  account.addBucket(BUCKET);
  account.addFileSystem(FILE_SYSTEM, `${fleet.namePrefix}-homes`, "arn:aws:kms:ap-southeast-7:111122223333:key/k");
  account.addRecoveryPoint({
    arn: RECOVERY_POINT,
    vault: fleet.namePrefix,
    resourceArn: account.arn("elasticfilesystem", `file-system/${FILE_SYSTEM}`),
    creationDate: "2026-01-01T02:00:00+00:00",
  });
  if (fleet.host) account.addInstance({ id: HOST, name: hostInstanceName(fleet) });
}
const fleets = { ecs: ecsFleet, exec: execFleet, migration: migrationFleet, oidc: oidcFleet };

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  /** The AWS calls' argv, one call a line, without the region every call carries. */
  calls: string[];
  dir: string;
  account: AwsAccount;
}

let runs = 0;
/**
 * Runs a rendered script against the AWS stand-in, with an account of its own (seeded, then
 * changed by `seed`) in a fresh scratch directory. `maintenance` replaces the maintenance program
 * the account's run-task runs.
 */
function run(
  which: keyof typeof rendered,
  script: string,
  args: string[],
  options: { env?: Record<string, string>; input?: string; seed?: (account: AwsAccount) => void; path?: string; maintenance?: string } = {},
): Run {
  const dir = join(root, `run-${runs++}`);
  const bin = join(dir, "bin");
  mkdirSync(bin, { recursive: true });
  symlinkSync(AWS_STANDIN, join(bin, "aws"));
  const account = new AwsAccount(join(dir, "aws"), fleets[which].region);
  seedAccount(account, fleets[which]);
  options.seed?.(account);
  const result = spawnSync("bash", [join(rendered[which].scripts, script), ...args], {
    encoding: "utf8",
    input: options.input ?? "",
    timeout: 60_000,
    env: {
      // node (which runs the AWS stand-in) wherever it is installed, besides the system directories.
      PATH: `${bin}:${options.path ?? ""}${options.path ? ":" : ""}${dirname(process.execPath)}:/usr/bin:/bin`,
      HOME: dir,
      TMPDIR: dir,
      POLL_SECONDS: "0",
      ...account.env,
      AWS_STANDIN_MAINTENANCE: options.maintenance ?? rendered[which].maintenance,
      ...options.env,
    },
  });
  const calls = account.calls().map((line) => line.replace(/^aws (--region \S+ )?/, ""));
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls, dir, account };
}
/** A maintenance program that exits `code`, having written `verification` where the real one writes its own. */
function maintenanceThatExits(code: number, verification?: string): string {
  const program = join(root, `maintenance-exits-${code}.sh`);
  const upload = verification
    ? `printf '%s\\n' ${JSON.stringify(verification)} | aws s3 cp --only-show-errors - "s3://$ARCHIVE_BUCKET/migration/$2/verification-$3.txt"\n`
    : "";
  writeFileSync(program, `#!/usr/bin/env bash\n${upload}exit ${code}\n`, { mode: 0o755 });
  return program;
}
const withoutService =
  (name: string) =>
  (a: AwsAccount): void =>
    a.remove("services", (s) => s.serviceName === name);
const everyServiceStopped = (a: AwsAccount) =>
  a.update(
    "services",
    () => true,
    (s) => Object.assign(s, { desiredCount: 0, runningCount: 0 }),
  );
/** The calls that start with one of `prefixes`, in order. */
const callsOf = (r: Run, ...prefixes: string[]) => r.calls.filter((c) => prefixes.some((p) => c.startsWith(p)));

describe("which scripts a roster gets", () => {
  it("ECS alone: the shared ones and ECS's own, none that needs the host", () => {
    expect(scriptsOf(ecsFleet)).toEqual([
      "archive-home.sh",
      "readd-developer.sh",
      "restart.sh",
      "restore-home.sh",
      "rotate-password.sh",
      "set-api-key.sh",
      "shell.sh",
      "show-password.sh",
    ]);
  });

  it("the host alone: none of ECS's own", () => {
    const scripts = scriptsOf(hostFleet);
    for (const ecsOnly of ["restore-home.sh", "archive-home.sh", "shell.sh", "migrate-homes.sh"]) expect(scripts).not.toContain(ecsOnly);
    expect(scripts).toEqual(expect.arrayContaining(["restart.sh", "restore.sh", "sleep.sh", "wake.sh"]));
  });

  it("a migration that prepares ECS beside the host: both platforms' scripts and migrate-homes.sh", () => {
    expect(scriptsOf(migrationFleet)).toEqual(
      expect.arrayContaining(["migrate-homes.sh", "restore-home.sh", "shell.sh", "restore.sh", "sleep.sh", "restart.sh"]),
    );
  });
});

describe("argument errors exit 2 and name the problem, calling nothing", () => {
  it.each([
    ["ecs", "restart.sh", [], "--developer is required"],
    ["ecs", "restart.sh", ["--developer", "zed"], "unknown developer 'zed'"],
    ["ecs", "restart.sh", ["--developer", "dev1", "--instance-id", "i-0123456789abcdef0"], "unknown argument: --instance-id"],
    ["migration", "restart.sh", ["--developer", "dev1", "--platform", "k8s"], "--platform is host or ecs, not k8s"],
    ["exec", "shell.sh", ["--developer"], "--developer needs a value"],
    ["exec", "shell.sh", ["--developer", "dev1", "--bogus"], "unknown argument: --bogus"],
    ["ecs", "restore-home.sh", ["--developer", "dev1"], "--recovery-point is required"],
    ["ecs", "restore-home.sh", ["--developer", "dev1", "--recovery-point", "rp-1"], "not an AWS Backup recovery point ARN: rp-1"],
    ["ecs", "restore-home.sh", ["--recovery-point=arn:aws:backup:x"], "--developer is required"],
    ["ecs", "archive-home.sh", ["--yes"], "--developer is required"],
    ["ecs", "archive-home.sh", ["--developer", "dev99"], "unknown developer 'dev99'"],
    ["migration", "migrate-homes.sh", ["--developer", "zed"], "unknown developer 'zed'"],
    ["migration", "migrate-homes.sh", ["--now"], "unknown argument: --now"],
    ["ecs", "rotate-password.sh", ["--developer", "dev1", "--instance-id=i-0123456789abcdef0"], "unknown argument: --instance-id="],
    ["ecs", "set-api-key.sh", ["--developer", "nobody", "--apply"], "unknown developer 'nobody'"],
  ] as const)("%s %s %j", (which, script, args, message) => {
    const r = run(which, script, [...args]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.calls).toEqual([]);
  });
});

describe("rotate-password.sh and set-api-key.sh on ECS", () => {
  it("rotate-password: checks the service, stores the password from a file, starts a new deployment and waits until it is stable", () => {
    const r = run("ecs", "rotate-password.sh", ["--developer", "dev2"]);
    expect(r.status).toBe(0);
    expect(callsOf(r, "ecs ", "secretsmanager ")).toEqual([
      expect.stringMatching(/^ecs describe-services --cluster code-server-dev --services dev2 /),
      expect.stringMatching(
        new RegExp(
          `^secretsmanager put-secret-value --secret-id ${secretName(ecsFleet, { name: "dev2" }, "password")} --secret-string file://\\S+/secret-value$`,
        ),
      ),
      expect.stringMatching(/^ecs describe-services --cluster code-server-dev --services dev2 /),
      "ecs update-service --cluster code-server-dev --service dev2 --force-new-deployment --query service.serviceName --output text",
      "ecs wait services-stable --cluster code-server-dev --services dev2",
    ]);
    const password = r.account.captured("secret-value");
    expect(r.account.secretValue(secretName(ecsFleet, { name: "dev2" }, "password"))).toBe(password);
    expect(password).toMatch(/^\S{20,}$/);
    expect(r.calls.join("\n")).not.toContain(password);
    expect(r.stdout).not.toContain(password);
  });

  it("rotate-password: stores nothing when the developer's service does not exist", () => {
    const r = run("ecs", "rotate-password.sh", ["--developer", "dev2"], { seed: withoutService("dev2") });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("the cluster code-server-dev has no active service dev2");
    expect(callsOf(r, "secretsmanager ", "ecs update-service")).toEqual([]);
  });

  it("rotate-password: a deployment that never settles fails with where to look, the password stored", () => {
    const r = run("ecs", "rotate-password.sh", ["--developer", "dev1"], {
      env: { AWS_STANDIN_FAULT_ECS_NEVER_STABLE: "1", STABLE_TIMEOUT_SECONDS: "0" },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("the service dev1 was not stable after 0s");
    expect(r.stderr).toContain("aws ecs describe-services --region ap-southeast-7 --cluster code-server-dev --services dev1");
    expect(r.stderr).toContain("the new password is stored");
  });

  it("set-api-key --apply: the key from standard input into a file, never argv, then a new deployment", () => {
    const key = "sk-ant-api03-" + "x".repeat(40);
    const r = run("ecs", "set-api-key.sh", ["--developer", "dev3", "--apply"], { input: `${key}\n` });
    expect(r.status).toBe(0);
    expect(callsOf(r, "secretsmanager ", "ecs update-service", "ecs wait")).toEqual([
      expect.stringMatching(
        new RegExp(
          `^secretsmanager put-secret-value --secret-id ${secretName(ecsFleet, { name: "dev3" }, "anthropic-api-key")} --secret-string file://`,
        ),
      ),
      "ecs update-service --cluster code-server-dev --service dev3 --force-new-deployment --query service.serviceName --output text",
      "ecs wait services-stable --cluster code-server-dev --services dev3",
    ]);
    expect(r.account.captured("secret-value")).toBe(key);
    expect(r.account.secretValue(secretName(ecsFleet, { name: "dev3" }, "anthropic-api-key"))).toBe(key);
    expect(r.calls.join("\n") + r.stdout + r.stderr).not.toContain(key);
  });

  it("set-api-key --apply: stores nothing, and reads no key, when the service does not exist", () => {
    const r = run("ecs", "set-api-key.sh", ["--developer", "dev3", "--apply"], {
      input: "sk-ant-api03-abc\n",
      seed: withoutService("dev3"),
    });
    expect(r.status).toBe(1);
    expect(callsOf(r, "secretsmanager ")).toEqual([]);
  });

  it("a stopped service (the schedule's night) is not redeployed: its next task reads the value", () => {
    const r = run("ecs", "rotate-password.sh", ["--developer", "dev1"], { seed: everyServiceStopped });
    expect(r.status).toBe(0);
    expect(callsOf(r, "ecs update-service", "ecs wait")).toEqual([]);
    expect(r.stderr).toContain("the service dev1 is stopped");
  });
});

describe("restart.sh", () => {
  it("on ECS: a new deployment of that developer's service only, then waits until it is stable", () => {
    const r = run("ecs", "restart.sh", ["--developer", "dev4"]);
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([
      "ecs describe-services --cluster code-server-dev --services dev4 --query services[0].[status, desiredCount, runningCount] --output text",
      "ecs update-service --cluster code-server-dev --service dev4 --force-new-deployment --query service.serviceName --output text",
      "ecs wait services-stable --cluster code-server-dev --services dev4",
    ]);
  });

  it("during a migration it restarts the serving host's container by default, with the host's own scripts", () => {
    const r = run("migration", "restart.sh", ["--developer", "dev4"]);
    expect(r.status).toBe(0);
    const [send] = callsOf(r, "ssm send-command");
    const scripts = `${hostPaths(migrationFleet).root}/scripts`;
    expect(send).toContain(`bash ${scripts}/stop-containers.sh --developer dev4 && bash ${scripts}/start-containers.sh --developer dev4`);
    expect(callsOf(r, "ecs ")).toEqual([]);
    const ecs = run("migration", "restart.sh", ["--developer", "dev4", "--platform=ecs"]);
    expect(ecs.status).toBe(0);
    expect(callsOf(ecs, "ssm ", "ec2 ")).toEqual([]);
    expect(callsOf(ecs, "ecs update-service")).toHaveLength(1);
  });
});

describe("shell.sh", () => {
  it("refuses when the roster has ECS Exec off, saying how to turn it on", () => {
    const r = run("ecs", "shell.sh", ["--developer", "dev1"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("ECS Exec is off in this roster: set ecs: { exec: true } in roster.yaml");
    expect(r.calls).toEqual([]);
  });

  it("refuses without the Session Manager plugin", () => {
    const r = run("exec", "shell.sh", ["--developer", "dev1"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("the Session Manager plugin for the AWS CLI (session-manager-plugin) is required");
    expect(r.calls).toEqual([]);
  });

  it("opens the shell in the code-server container of the developer's running task", () => {
    const plugin = join(root, "plugin");
    mkdirSync(plugin, { recursive: true });
    writeFileSync(join(plugin, "session-manager-plugin"), "#!/bin/sh\n", { mode: 0o755 });
    const r = run("exec", "shell.sh", ["--developer", "dev1"], { path: plugin });
    expect(r.status).toBe(0);
    expect(r.calls.slice(1)).toEqual([
      "ecs list-tasks --cluster code-server-dev --service-name dev1 --desired-status RUNNING --query taskArns[0] --output text",
      "ecs execute-command --cluster code-server-dev --task arn:aws:ecs:ap-southeast-7:111122223333:task/code-server-dev/0123456789abcdef0123456789abcdef --container code-server --interactive --command /bin/bash",
    ]);
  });
});

/** A backed-up home in the recovery point and the current one on the file system. */
function homes(account: AwsAccount): void {
  const backedUp = join(account.recoveryPointDir(RECOVERY_POINT), "home", "dev5", "project");
  mkdirSync(backedUp, { recursive: true });
  writeFileSync(join(backedUp, "main.go"), "package main // as backed up\n");
  mkdirSync(join(account.fileSystemRoot, "home", "dev5"), { recursive: true });
  writeFileSync(join(account.fileSystemRoot, "home", "dev5", "broken.go"), "package broken\n");
}

describe("restore-home.sh", () => {
  it("without --yes checks the developer, the file system and the recovery point, says what it would do and changes nothing", () => {
    const r = run("ecs", "restore-home.sh", ["--developer", "dev5", "--recovery-point", RECOVERY_POINT], { seed: homes });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("Nothing was changed: run again with --yes to restore.");
    expect(r.calls.map((c) => c.split(" ").slice(0, 2).join(" "))).toEqual([
      "ecs describe-services",
      "efs describe-file-systems",
      "backup describe-recovery-point",
    ]);
    expect(readdirSync(join(r.account.fileSystemRoot, "home", "dev5"))).toEqual(["broken.go"]);
    expect(r.account.list("restoreJobs")).toEqual([]);
  });

  it("refuses a recovery point of another resource", () => {
    const r = run("ecs", "restore-home.sh", ["--developer", "dev5", "--recovery-point", RECOVERY_POINT, "--yes"], {
      seed: (a) => {
        homes(a);
        a.update(
          "recoveryPoints",
          () => true,
          (p) => (p.ResourceArn = "arn:aws:ec2:ap-southeast-7::snapshot/snap-1"),
        );
      },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("is of arn:aws:ec2:ap-southeast-7::snapshot/snap-1, not of the homes' file system");
    expect(callsOf(r, "backup start-restore-job", "ecs update-service", "ecs run-task")).toEqual([]);
  });

  it("with --yes: item-level restore, service to 0, the maintenance task's swap, service to 1; the old home kept aside", () => {
    const r = run("ecs", "restore-home.sh", ["--developer", "dev5", "--recovery-point", RECOVERY_POINT, "--yes"], { seed: homes });
    expect(r.status).toBe(0);
    expect(callsOf(r, "backup start-restore-job", "ecs update-service", "ecs wait", "ecs run-task")).toEqual([
      expect.stringMatching(
        /^backup start-restore-job --recovery-point-arn \S+ --resource-type EFS --iam-role-arn arn:aws:iam::111122223333:role\/code-server-dev-backup --metadata file:\/\//,
      ),
      "ecs update-service --cluster code-server-dev --service dev5 --desired-count 0 --query service.serviceName --output text",
      "ecs wait services-stable --cluster code-server-dev --services dev5",
      expect.stringMatching(
        /^ecs run-task --cluster code-server-dev --task-definition code-server-dev-maintenance --launch-type FARGATE .*subnets=\[subnet-0aaa,subnet-0bbb\],securityGroups=\[sg-0ccc\],assignPublicIp=ENABLED.*"command":\["restore-home","dev5","\d{8}T\d{6}Z"\]/,
      ),
      "ecs update-service --cluster code-server-dev --service dev5 --desired-count 1 --query service.serviceName --output text",
      "ecs wait services-stable --cluster code-server-dev --services dev5",
    ]);
    const metadata = JSON.parse(r.account.captured("metadata.json")) as Record<string, string>;
    expect(metadata).toMatchObject({ "file-system-id": "fs-0123456789abcdef0", newFileSystem: "false" });
    expect(JSON.parse(metadata.ItemsToRestore)).toEqual(["/home/dev5"]);
    const home = join(r.account.fileSystemRoot, "home");
    expect(readFileSync(join(home, "dev5", "project", "main.go"), "utf8")).toBe("package main // as backed up\n");
    const aside = readdirSync(home).filter((n) => n.startsWith("dev5.before-restore-"));
    expect(aside).toHaveLength(1);
    expect(readdirSync(join(home, aside[0]))).toEqual(["broken.go"]);
    expect(readdirSync(r.account.fileSystemRoot).filter((n) => n.startsWith("aws-backup-restore_"))).toEqual([]);
    expect(r.account.list("services").find((x) => x.serviceName === "dev5")).toMatchObject({ desiredCount: 1, runningCount: 1 });
  });

  it("a failed maintenance task leaves the service at 0 and says how to start it", () => {
    const r = run("ecs", "restore-home.sh", ["--developer", "dev5", "--recovery-point", RECOVERY_POINT, "--yes"], {
      seed: homes,
      maintenance: maintenanceThatExits(1),
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("The service dev5 stays at 0 tasks");
    expect(callsOf(r, "ecs update-service")).toEqual([expect.stringContaining("--desired-count 0")]);
    expect(r.account.list("services").find((x) => x.serviceName === "dev5")).toMatchObject({ desiredCount: 0 });
  });
});

/** dev5's home on the file system: a file of its own mode and time, a directory, a symbolic link. */
function homeToArchive(account: AwsAccount): void {
  const home = join(account.fileSystemRoot, "home", "dev5");
  mkdirSync(join(home, "project"), { recursive: true });
  writeFileSync(join(home, "project", "main.go"), "package main\n", { mode: 0o600 });
  symlinkSync("project/main.go", join(home, "main"));
  utimesSync(join(home, "project", "main.go"), new Date("2025-06-01T12:00:00Z"), new Date("2025-06-01T12:00:00Z"));
}

describe("archive-home.sh", () => {
  const ARCHIVE_KEY = /^removed\/dev5\/\d{8}T\d{6}Z\.tar\.gz$/;
  const archived = (r: Run) => {
    const dir = join(r.account.dir, "s3", BUCKET);
    return existsSync(dir)
      ? readdirSync(dir, { recursive: true, withFileTypes: true })
          .filter((e) => e.isFile())
          .map((e) => relative(dir, join(e.parentPath, e.name)))
      : [];
  };

  it("without --yes checks the service and the archive bucket, says what it would do and changes nothing", () => {
    const r = run("ecs", "archive-home.sh", ["--developer", "dev5"], { seed: homeToArchive });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`archives   /home/dev5 to s3://${BUCKET}/removed/dev5/<UTC time>.tar.gz`);
    expect(r.stderr).toContain("Nothing was changed: run again with --yes to archive.");
    expect(r.calls.map((c) => c.split(" ").slice(0, 2).join(" "))).toEqual(["ecs describe-services", "ecs describe-task-definition"]);
    expect(archived(r)).toEqual([]);
  });

  it("with --yes: service to 0, the maintenance task's archive where the host's apply puts one, read back; prints where it is", () => {
    const r = run("ecs", "archive-home.sh", ["--developer", "dev5", "--yes"], { seed: homeToArchive });
    expect(r.status).toBe(0);
    expect(callsOf(r, "ecs update-service", "ecs wait", "ecs run-task", "s3 cp -", "s3api head-object")).toEqual([
      "ecs update-service --cluster code-server-dev --service dev5 --desired-count 0 --query service.serviceName --output text",
      "ecs wait services-stable --cluster code-server-dev --services dev5",
      expect.stringMatching(
        /^ecs run-task --cluster code-server-dev --task-definition code-server-dev-maintenance .*"command":\["archive-home","dev5","\d{8}T\d{6}Z"\]/,
      ),
      // The bucket's Object Lock refuses an upload without a checksum.
      expect.stringMatching(
        /^s3 cp - s3:\/\/code-server-dev-archive-20260101\/removed\/dev5\/\d{8}T\d{6}Z\.tar\.gz --expected-size \d+ --checksum-algorithm CRC32 --only-show-errors$/,
      ),
      // Read back whole by the task before the script looks for it.
      expect.stringMatching(/^s3 cp --only-show-errors s3:\/\/code-server-dev-archive-20260101\/removed\/dev5\/\d{8}T\d{6}Z\.tar\.gz -$/),
      expect.stringMatching(/^s3api head-object --bucket code-server-dev-archive-20260101 --key removed\/dev5\/\d{8}T\d{6}Z\.tar\.gz /),
    ]);
    const [key] = archived(r);
    expect(key).toMatch(ARCHIVE_KEY);
    expect(r.stdout).toBe(`s3://${BUCKET}/${key}\n`);
    // The key layout of the host's apply for a departed developer's workspace.
    expect(readFileSync(join(__dirname, "..", "templates", "scripts", "apply.sh.hbs"), "utf8")).toContain(
      `url="s3://$ARCHIVE_BUCKET/${maintenanceNames(ecsFleet).removedPrefix}$name/$stamp.tar.gz"`,
    );
    // The archive holds the home as it was: modes, times, the link; owners as numbers.
    const listed = spawnSync("tar", ["-tvzf", join(r.account.dir, "s3", BUCKET, key), "--numeric-owner"], {
      encoding: "utf8",
      env: { ...process.env, TZ: "UTC" },
    }).stdout;
    expect(listed).toMatch(/^-rw------- \d+\/\d+ +13 2025-06-01 12:00 dev5\/project\/main\.go$/m);
    expect(listed).toMatch(/^lrwxrwxrwx .* dev5\/main -> project\/main\.go$/m);
    // The home stays; the service stays stopped for the roster change.
    expect(readFileSync(join(r.account.fileSystemRoot, "home", "dev5", "project", "main.go"), "utf8")).toBe("package main\n");
    expect(r.account.list("services").find((x) => x.serviceName === "dev5")).toMatchObject({ desiredCount: 0 });
    expect(r.stderr).toContain("Next: remove dev5 from roster.yaml");
  });

  it("refuses a developer without a home, and a failed archive leaves the service at 0 and says how to start it", () => {
    const r = run("ecs", "archive-home.sh", ["--developer", "dev5", "--yes"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("the maintenance task failed (exit 1");
    expect(r.stderr).toContain("--desired-count 1 starts it again");
    expect(readFileSync(join(r.account.dir, "task.log"), "utf8")).toContain(
      "/home/dev5 is not a directory on the file system; nothing was archived",
    );
    expect(archived(r)).toEqual([]);
    expect(r.account.list("services").find((x) => x.serviceName === "dev5")).toMatchObject({ desiredCount: 0 });
  });

  it("the maintenance task's delete-home deletes the home only once its archive of that stamp is there", () => {
    const r = run("ecs", "archive-home.sh", ["--developer", "dev5", "--yes"], { seed: homeToArchive });
    expect(r.status).toBe(0);
    const [key] = archived(r);
    const stamp = /(\d{8}T\d{6}Z)\.tar\.gz$/.exec(key)![1];
    const deleteHome = (at: string) =>
      spawnSync("bash", [rendered.ecs.maintenance, "delete-home", "dev5", at], {
        encoding: "utf8",
        env: {
          PATH: `${join(r.dir, "bin")}:${dirname(process.execPath)}:/usr/bin:/bin`,
          ...r.account.env,
          FS_ROOT: r.account.fileSystemRoot,
          ARCHIVE_BUCKET: BUCKET,
        },
      });
    const home = join(r.account.fileSystemRoot, "home", "dev5");
    const early = deleteHome("20200101T000000Z");
    expect(early.status).toBe(1);
    expect(early.stderr).toContain(
      `no archive s3://${BUCKET}/removed/dev5/20200101T000000Z.tar.gz (archive-home.sh writes it); nothing was deleted`,
    );
    expect(existsSync(home)).toBe(true);
    const done = deleteHome(stamp);
    expect(done.status).toBe(0);
    expect(existsSync(home)).toBe(false);
    expect(archived(r)).toEqual([key]);
  });

  it("says so when the maintenance task reports an archive that is not there", () => {
    const r = run("ecs", "archive-home.sh", ["--developer", "dev5", "--yes"], {
      seed: homeToArchive,
      maintenance: maintenanceThatExits(0),
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/reported s3:\/\/code-server-dev-archive-20260101\/removed\/dev5\/\S+ archived, but it cannot be found/);
  });
});

const HOME = (account: AwsAccount) => join(account.hostRoot, `${DATA_MOUNT.slice(1)}/dev6/home`);
/** The host's layout (where SSM's commands find it): its fleet.env, and dev6's home with a file, a symlink and a hard link. */
function hostHome(account: AwsAccount): void {
  const home = HOME(account);
  mkdirSync(join(home, "src"), { recursive: true });
  writeFileSync(join(home, "src", "app.py"), "print('hello')\n", { mode: 0o640 });
  linkSync(join(home, "src", "app.py"), join(home, "src", "app-hardlink.py"));
  symlinkSync("src/app.py", join(home, "current"));
  writeFileSync(join(home, ".bashrc"), "export EDITOR=vi\n");
  const env = join(account.hostRoot, hostPaths(migrationFleet).fleetEnv.replace(/^\//, ""));
  mkdirSync(dirname(env), { recursive: true });
  writeFileSync(env, "ARCHIVE_BUCKET=code-server-dev-archive-20260101\nAWS_REGION=ap-southeast-7\n");
}

describe("migrate-homes.sh", () => {
  it("--developer repeats, each spelling adds one; without a --developer every developer is chosen", () => {
    const two = run("migration", "migrate-homes.sh", ["--developer", "dev6", "--developer=dev1"], { seed: hostHome });
    expect(two.status).toBe(0);
    expect(two.stderr).toMatch(/developers +dev6 dev1\n/);
    const all = run("migration", "migrate-homes.sh", [], { seed: hostHome });
    expect(all.stderr).toMatch(new RegExp(`developers +${migrationFleet.developers.map((d) => d.name).join(" ")}\n`));
  });

  it("without --yes checks the host and the services, says what it would do and changes nothing", () => {
    const r = run("migration", "migrate-homes.sh", ["--developer", "dev6"], { seed: hostHome });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("Nothing was changed: run again with --yes to migrate.");
    expect(callsOf(r, "ssm send-command", "ecs update-service", "ecs run-task", "s3 ")).toEqual([]);
  });

  it("copies a home from the host layout to EFS, verified, keeping links; the service stopped during the copy", () => {
    const r = run("migration", "migrate-homes.sh", ["--developer", "dev6", "--yes"], { seed: hostHome });
    expect(r.stderr + r.stdout).toContain("verified: the copy holds every file, directory and link of the host's home, alike");
    expect(r.status).toBe(0);
    expect(
      r.calls
        .filter((c) => /^(ecs update-service|ecs run-task|ssm send-command)/.test(c))
        .map((c) =>
          c.startsWith("ssm")
            ? `ssm ${/stop-containers|start-containers|base64/.exec(c)?.[0]}`
            : c.split(" --query")[0].split(" --launch-type")[0],
        ),
    ).toEqual([
      "ecs update-service --cluster code-server-dev --service dev6 --desired-count 0",
      "ssm stop-containers",
      "ssm base64",
      "ecs run-task --cluster code-server-dev --task-definition code-server-dev-maintenance",
      "ecs update-service --cluster code-server-dev --service dev6 --desired-count 1",
    ]);
    const copy = join(r.account.fileSystemRoot, "home", "dev6");
    expect(readFileSync(join(copy, "src", "app.py"), "utf8")).toBe("print('hello')\n");
    expect(readlinkSync(join(copy, "current"))).toBe("src/app.py");
    expect(statSync(join(copy, "src", "app.py")).ino).toBe(statSync(join(copy, "src", "app-hardlink.py")).ino);
    expect(lstatSync(join(copy, "src", "app.py")).mode & 0o777).toBe(0o640);
    // The data volume is only read.
    expect(readFileSync(join(HOME(r.account), "src", "app.py"), "utf8")).toBe("print('hello')\n");
  });

  it("exits non-zero on a checksum mismatch the maintenance task reports, prints it, and leaves the service at 0", () => {
    const verification = "checksums  3 files checked, 1 DIFFERENT or missing:\n  ./src/app.py: FAILED";
    const r = run("migration", "migrate-homes.sh", ["--developer", "dev6", "--yes"], {
      seed: hostHome,
      maintenance: maintenanceThatExits(3, verification),
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("./src/app.py: FAILED");
    expect(r.stderr).toContain("the copy of dev6's home is NOT the same as the host's");
    expect(r.stderr).toContain("not migrated: dev6");
    expect(callsOf(r, "ecs update-service")).toEqual([expect.stringContaining("--desired-count 0")]);
    expect(callsOf(r, "ssm send-command").pop()).toContain("start-containers.sh --developer dev6");
  });

  it("leaves a home on EFS that already has files alone without --replace", () => {
    const r = run("migration", "migrate-homes.sh", ["--developer", "dev6", "--yes"], {
      seed: (a) => {
        hostHome(a);
        mkdirSync(join(a.fileSystemRoot, "home", "dev6"), { recursive: true });
        writeFileSync(join(a.fileSystemRoot, "home", "dev6", "seeded"), "x");
      },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("dev6's home on EFS already has files: left alone");
    expect(readdirSync(join(r.account.fileSystemRoot, "home", "dev6"))).toEqual(["seeded"]);
  });
});

describe("readd-developer.sh on ECS", () => {
  it("refuses to go on while the old service still exists", () => {
    const r = run("ecs", "readd-developer.sh", ["--developer", "dev7"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("the service dev7 still exists in code-server-dev");
  });

  it("with OpenID Connect restores the gate's cookie key too and prints its import", () => {
    const cookie = secretName(oidcFleet, { name: "dev7" }, "gate-cookie-key");
    // dev7's service is gone; of their secrets only the cookie key is left, scheduled for deletion.
    const r = run("oidc", "readd-developer.sh", ["--developer", "dev7"], {
      seed: (a) => {
        withoutService("dev7")(a);
        a.remove("secrets", (x) => String(x.Name).includes("/dev7/") && x.Name !== cookie);
        a.update(
          "secrets",
          (x) => x.Name === cookie,
          (x) => (x.DeletedDate = "2026-11-20T10:00:00+00:00"),
        );
      },
    });
    expect(r.status).toBe(0);
    expect(callsOf(r, "secretsmanager restore-secret")).toEqual([
      `secretsmanager restore-secret --secret-id arn:aws:secretsmanager:ap-southeast-7:111122223333:secret:${cookie}-AbCdEf`,
    ]);
    expect(r.stdout).toMatch(
      new RegExp(`import -var-file=\\S+ 'aws_secretsmanager_secret\\.secrets_\\S*gate-cookie-key\\S*' 'arn:\\S+${cookie}-AbCdEf'`),
    );
    expect(r.account.list("secrets").find((x) => x.Name === cookie)).not.toHaveProperty("DeletedDate");
  });
});

describe("with OpenID Connect, code-server has no password in use on ECS", () => {
  it.each(["show-password.sh", "rotate-password.sh"])("%s says so and stops, storing nothing", (script) => {
    const r = run("oidc", script, ["--developer", "dev1"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("signs developers in at https://login.example.com (auth.type oidc): code-server runs without a password");
    expect(r.stderr).toContain("nothing was changed");
    expect(r.calls).toEqual([]);
  });
});

describe("set-oidc-client-secret.sh", () => {
  const SECRET = "s3cr3t-FROM-the-provider~0123456789";
  const stored = secretName(oidcFleet, { name: "x" }, "password").replace(/x\/password$/, "oidc-client-secret");

  it("is rendered only where developers sign in through a provider", () => {
    expect(scriptsOf(oidcFleet)).toContain("set-oidc-client-secret.sh");
    expect(scriptsOf(ecsFleet)).not.toContain("set-oidc-client-secret.sh");
    expect(scriptsOf(hostFleet)).not.toContain("set-oidc-client-secret.sh");
  });

  it("stores the secret from standard input through a file, never argv, and starts nothing without --apply", () => {
    const r = run("oidc", "set-oidc-client-secret.sh", [], { input: `${SECRET}\n` });
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([
      expect.stringMatching(new RegExp(`^secretsmanager put-secret-value --secret-id ${stored} --secret-string file://`)),
    ]);
    expect(r.account.captured("secret-value")).toBe(SECRET);
    expect(r.account.secretValue(stored)).toBe(SECRET);
    expect(r.calls.join("\n") + r.stdout + r.stderr).not.toContain(SECRET);
    expect(r.stderr).toContain("each gate reads it when its task next starts");
  });

  it("with --apply starts a new deployment of every running developer's service, and leaves a stopped one to its next start", () => {
    const r = run("oidc", "set-oidc-client-secret.sh", ["--apply"], { input: `${SECRET}\n` });
    expect(r.status).toBe(0);
    expect(callsOf(r, "ecs update-service").map((c) => c.split(" ")[5])).toEqual(oidcFleet.developers.map((d) => d.name));
    const stopped = run("oidc", "set-oidc-client-secret.sh", ["--apply"], { input: `${SECRET}\n`, seed: everyServiceStopped });
    expect(stopped.status).toBe(0);
    expect(callsOf(stopped, "ecs update-service")).toEqual([]);
  });

  it.each([
    ["nothing on standard input", [], "", "no client secret given; nothing stored"],
    ["a secret with a space", [], "two words\n", "that is not a client secret (printable characters without spaces); nothing stored"],
    [
      "the secret as an argument, without repeating it",
      [SECRET],
      "",
      "an argument that is not an option was given (not shown); the secret is read from standard input, never from arguments",
    ],
    ["an unknown option", ["--secret"], "", "unknown argument: --secret"],
  ])("refuses %s, storing nothing", (_what, args, input, message) => {
    const r = run("oidc", "set-oidc-client-secret.sh", args, { input });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toContain(SECRET);
    expect(callsOf(r, "secretsmanager ")).toEqual([]);
  });
});

const hasShellcheck = spawnSync("shellcheck", ["--version"]).status === 0;
(hasShellcheck || process.env.CI === "true" ? describe : describe.skip)("shellcheck", () => {
  it("passes every rendered script of ECS alone, with Exec, a migration and OpenID Connect, and the maintenance program", () => {
    const files = Object.values(rendered).flatMap(({ scripts, maintenance }) => [
      ...readdirSync(scripts).map((f) => join(scripts, f)),
      maintenance,
    ]);
    const result = spawnSync("shellcheck", ["-x", "--severity=style", ...files], { encoding: "utf8" });
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  });
});
