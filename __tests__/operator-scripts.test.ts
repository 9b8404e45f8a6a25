/**
 * The operator scripts (deployment/scripts/*.sh on a workstation) against a stub `aws` that logs
 * its argv, captures secret files and answers like AWS would: unknown developers and missing
 * arguments exit 2, `--option=value` works for every option, keys never travel in argv, nothing
 * is stored for a host that cannot apply it, a restore never starts without a snapshot id and a
 * confirmation and moves the backup plan's tag to the new volume, and adding back a removed
 * developer restores their secrets within the recovery window and prints the imports.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
import { renderOperatorScripts } from "../src/render";
import { stackId } from "../src/stacks/dev-environment-stack";
import { fleetOf } from "./fixtures/rosters";

const fleet = fleetOf();
const HOST = "i-0123456789abcdef0";
const dir = mkdtempSync(join(tmpdir(), "operator-scripts-"));
const bin = join(dir, "bin");
const log = join(dir, "aws.log");
const captured = join(dir, "captured-secret");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

for (const file of renderOperatorScripts(fleet)) {
  mkdirSync(dirname(join(dir, file.path)), { recursive: true });
  writeFileSync(join(dir, file.path), file.content, { mode: file.mode });
}
mkdirSync(bin, { recursive: true });
// The calls the scripts make, answered as AWS would. The host is ${HOST}, tagged with the fleet's
// host name; STUB_HOST_STATE and STUB_SSM_PING change what AWS says about it.
writeFileSync(
  join(bin, "aws"),
  `#!/usr/bin/env bash
printf '%s\\n' "$*" >>${JSON.stringify(log)}
for arg in "$@"; do [[ $arg == file://* ]] && cp "\${arg#file://}" ${JSON.stringify(captured)}; done
case "$*" in
  *"ec2 describe-instances --filters"*) echo ${HOST} ;;
  *"ec2 describe-instances --instance-ids ${HOST} --query Reservations[0].Instances[0].[State.Name"*)
    printf '%s\\t%s\\n' "\${STUB_HOST_STATE:-running}" "\${STUB_HOST_NAME:-${hostInstanceName(fleet)}}" ;;
  *"ec2 describe-instances --instance-ids ${HOST}"*) printf 'ap-southeast-7a\\t/dev/sda1\\n' ;;
  *"ec2 describe-instances --instance-ids"*)
    echo "An error occurred (InvalidInstanceID.NotFound) when calling the DescribeInstances operation: The instance ID '$5' does not exist" >&2
    exit 254 ;;
  *"ssm describe-instance-information"*) echo "\${STUB_SSM_PING:-Online}" ;;
  *"ec2 describe-volumes --filters"*)
    printf 'vol-0aaaaaaaaaaaaaaa1\\t/dev/sda1\\t50\\t3000\\t125\\tarn:aws:kms:ap-southeast-7:111122223333:key/k\\n'
    printf 'vol-0bbbbbbbbbbbbbbb2\\t/dev/sdf\\t500\\t3000\\t125\\tarn:aws:kms:ap-southeast-7:111122223333:key/k\\n' ;;
  *"ec2 describe-volumes --volume-ids"*) printf 'Name\\tcode-server-dev-data\\nbackup-plan\\tcode-server-dev-daily\\n' ;;
  *"ec2 describe-snapshots"*) printf 'completed\\t400\\t2026-01-01T02:00:00Z\\n' ;;
  *"ec2 create-volume"*) echo vol-0ccccccccccccccc3 ;;
  *"ec2 delete-tags"*) [[ -z \${STUB_DELETE_TAGS_FAIL:-} ]] || { echo "An error occurred (UnauthorizedOperation) when calling the DeleteTags operation" >&2; exit 254; } ;;
  *"get-secret-value --secret-id ${secretName(fleet, { name: "bob" }, "password")}"*)
    echo "An error occurred (ResourceNotFoundException) when calling the GetSecretValue operation" >&2
    exit 254 ;;
  *"get-secret-value --secret-id ${secretName(fleet, { name: "alice" }, "password")}"*) echo 'S3cret-Passw0rd!' ;;
  *"secretsmanager describe-secret --secret-id ${secretName(fleet, { name: "carol" }, "password")} "*)
    printf 'arn:aws:secretsmanager:ap-southeast-7:111122223333:secret:%s-AbCdEf\t2026-11-20T10:00:00+00:00\n' "\${6}" ;;
  *"secretsmanager describe-secret --secret-id ${secretName(fleet, { name: "carol" }, "anthropic-api-key")} "*)
    printf 'arn:aws:secretsmanager:ap-southeast-7:111122223333:secret:%s-GhIjKl\tNone\n' "\${6}" ;;
  *"secretsmanager describe-secret"*)
    echo "An error occurred (ResourceNotFoundException) when calling the DescribeSecret operation: Secrets Manager can't find the specified secret." >&2
    exit 254 ;;
  *"logs describe-log-groups --log-group-name-prefix ${logGroupNames(fleet).container({ name: "carol" })} "*)
    echo ${logGroupNames(fleet).container({ name: "carol" })} ;;
  *"logs describe-log-groups"*) ;;
  *"ssm send-command"*) echo 11111111-2222-3333-4444-555555555555 ;;
  *"ssm get-command-invocation"*"--query Status"*) echo Success ;;
  *"ssm get-command-invocation"*) echo "host output" ;;
esac
exit 0
`,
);
chmodSync(join(bin, "aws"), 0o755);

function run(script: string, args: readonly string[], input = "", env: Record<string, string> = {}) {
  writeFileSync(log, "");
  rmSync(captured, { force: true });
  const result = spawnSync("bash", [join(dir, "scripts", script), ...args], {
    encoding: "utf8",
    input,
    env: { PATH: `${bin}:${process.env.PATH}`, HOME: dir, TMPDIR: dir, POLL_SECONDS: "0", ...env },
  });
  return { ...result, aws: readFileSync(log, "utf8").split("\n").filter(Boolean) };
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
    ["rotate-password.sh", ["--developer=carol", "--no-apply=yes"], /unknown argument: --no-apply=yes \(--no-apply takes no value/],
    ["restore.sh", ["--snapshot-id="], /--snapshot-id needs a value/],
  ])("%s refuses %j with exit 2 before calling AWS", (script, args, message) => {
    const result = run(script, args);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
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
    expect(readFileSync(captured, "utf8")).toBe(key);
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
    const result = run("set-api-key.sh", ["--developer", "bob", "--apply"], "sk-ant-api03-abcDEF_123-xyz\n", {
      STUB_HOST_STATE: "stopped",
    });
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
    expect(readFileSync(captured, "utf8")).toMatch(/^(?=.*[A-Za-z])(?=.*[0-9])(?=.*[^A-Za-z0-9]).{32}$/);
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
      {},
      1,
      /there is no instance i-0fffffffffffffff0 in ap-southeast-7 \(.*InvalidInstanceID\.NotFound/,
    ],
    ["something that is not an instance id", ["--instance-id=web-1"], {}, 2, /not an instance id: web-1/],
    [
      "another fleet's or team's instance",
      ["--instance-id", HOST],
      { STUB_HOST_NAME: "billing-prod" },
      1,
      /is not this fleet's host: it is tagged Name=billing-prod/,
    ],
    ["a stopped host", [], { STUB_HOST_STATE: "stopped" }, 1, /the host i-0123456789abcdef0 is stopped, not running: start it/],
    [
      "a host whose SSM agent is offline",
      [],
      { STUB_SSM_PING: "ConnectionLost" },
      1,
      /SSM agent of i-0123456789abcdef0 is not online \(PingStatus: ConnectionLost\)/,
    ],
  ])("refuses %s and stores no password", (_what, args, env, status, message) => {
    const result = run("rotate-password.sh", ["--developer", "carol", ...args], "", env);
    expect(result.status).toBe(status);
    expect(result.stderr).toMatch(message);
    expect(stored(result.aws)).toEqual([]);
    expect(result.aws.filter((c) => c.includes("send-command"))).toEqual([]);
  });
});

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
    const attach = index(`ec2 attach-volume --volume-id vol-0ccccccccccccccc3 --instance-id ${HOST} --device /dev/sdf`);
    const start = steps.findIndex((c) => c.includes("start-containers.sh --data-volume-id vol-0ccccccccccccccc3"));
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
      `backups: the plan selects volumes tagged ${BACKUP_SELECTION_TAG}=${backupPlanName(fleet)}; vol-0ccccccccccccccc3 carries the tag, vol-0bbbbbbbbbbbbbbb2 no longer does`,
    );
    expect(steps).toContainEqual(
      expect.stringMatching(
        /^ec2 create-tags --resources vol-0bbbbbbbbbbbbbbb2 --tags Key=replaced-by,Value=vol-0ccccccccccccccc3 Key=replaced-at,Value=\d{8}T\d{6}Z$/,
      ),
    );
    expect(steps.some((c) => /delete-volume|delete-snapshot/.test(c))).toBe(false);
    expect(result.stdout).toBe(
      [
        `terraform -chdir=cdktf.out/stacks/${stackId(fleet)} state rm 'aws_volume_attachment.data' 'aws_ebs_volume.data'`,
        `terraform -chdir=cdktf.out/stacks/${stackId(fleet)} import 'aws_ebs_volume.data' vol-0ccccccccccccccc3`,
        `terraform -chdir=cdktf.out/stacks/${stackId(fleet)} import 'aws_volume_attachment.data' /dev/sdf:vol-0ccccccccccccccc3:i-0123456789abcdef0`,
        "",
      ].join("\n"),
    );
  });

  it("still starts the containers when the old volume keeps the backup tag, then says how to remove it and exits 1", () => {
    const result = run("restore.sh", ["--snapshot-id=snap-0123456789abcdef0", "--confirm"], "", { STUB_DELETE_TAGS_FAIL: "1" });
    expect(result.status).toBe(1);
    expect(result.aws.some((c) => c.includes("start-containers.sh --data-volume-id vol-0ccccccccccccccc3"))).toBe(true);
    expect(result.stderr).toContain(
      `remove the backup tag from the old volume: aws ec2 delete-tags --region ${fleet.region} --resources vol-0bbbbbbbbbbbbbbb2 --tags Key=${BACKUP_SELECTION_TAG}`,
    );
    expect(result.stderr).toContain("error: the old volume vol-0bbbbbbbbbbbbbbb2 still carries the backup tag");
    // The terraform commands are printed all the same: the new volume is in place.
    expect(result.stdout).toContain("import 'aws_ebs_volume.data_volume' vol-0ccccccccccccccc3");
  });

  it("creates no volume for a host whose SSM agent is offline", () => {
    const result = run("restore.sh", ["--snapshot-id=snap-0123456789abcdef0", "--confirm"], "", { STUB_SSM_PING: "Inactive" });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/not online \(PingStatus: Inactive\)/);
    expect(result.aws.filter((c) => c.includes("create-volume"))).toEqual([]);
  });
});

describe("readd-developer.sh", () => {
  const STACK = `cdktf.out/stacks/${stackId(fleet)}`;
  const importOf = (address: string, id: string) =>
    `terraform -chdir=${STACK} import -var-file=../../../terraform.tfvars '${address}' '${id}'`;

  it("restores a secret scheduled for deletion, leaves an active one alone, and prints the imports of both and of the kept log group", () => {
    const result = run("readd-developer.sh", ["--developer=carol"]);
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
  });

  it("prints nothing to import for a developer whose secrets and log group are gone, and says terraform creates them", () => {
    const result = run("readd-developer.sh", ["--developer", "bob"]);
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
