/**
 * Every rendered script passes shellcheck, and the operator scripts guard their arguments:
 * unknown developers and missing arguments exit 2, keys never travel in argv, and a restore
 * never starts without a snapshot id and a confirmation.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { hostPaths, secretName } from "../src/naming";
import { renderApplyDocumentScript, renderBootstrap, renderHostFiles, renderOperatorScripts, type RenderedFile } from "../src/render";
import { fleetOf } from "./fixtures/rosters";

const fleet = fleetOf();
const hostScripts = renderHostFiles(fleet).filter((f) => f.path.endsWith(".sh"));
const operatorScripts = renderOperatorScripts(fleet);
const bootstrap: RenderedFile = { path: "bootstrap/user-data.sh", content: renderBootstrap(fleet), mode: 0o755 };
const applyDocumentScript: RenderedFile = { path: "ssm/apply-host-files.sh", content: renderApplyDocumentScript(fleet), mode: 0o755 };

const workDir = mkdtempSync(join(tmpdir(), "render-scripts-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

function writeAll(dir: string, files: readonly RenderedFile[]): string[] {
  return files.map((file) => {
    const path = join(dir, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.content, { mode: file.mode });
    return path;
  });
}

const hasShellcheck = spawnSync("shellcheck", ["--version"]).status === 0;

describe("shellcheck", () => {
  if (!hasShellcheck) {
    if (process.env.CI === "true") {
      it("is installed (CI=true requires it: apt-get install -y shellcheck)", () => {
        throw new Error("shellcheck is not on PATH");
      });
    } else {
      console.warn(
        "SKIPPING the shellcheck tests: shellcheck is not on PATH (apt-get install -y shellcheck); CI=true makes this a failure",
      );
      it.skip("shellcheck is not installed", () => undefined);
    }
    return;
  }

  it("passes every host script, operator script, the bootstrap and the apply document's script, following sourced files (-x)", () => {
    // Host and operator scripts land in different places, so check them in separate trees.
    const host = writeAll(join(workDir, "host"), hostScripts);
    const operator = writeAll(join(workDir, "operator"), [...operatorScripts, bootstrap, applyDocumentScript]);
    const result = spawnSync("shellcheck", ["-x", "--severity=style", ...host, ...operator], { encoding: "utf8" });
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  });
});

describe("script conventions", () => {
  it.each([...hostScripts, ...operatorScripts, applyDocumentScript].map((f) => [f.path, f] as const))(
    "%s is bash with set -euo pipefail, mode 0755",
    (_, file) => {
      expect(file.content.startsWith("#!/usr/bin/env bash\n")).toBe(true);
      expect(file.content).toMatch(/^set -euo pipefail$/m);
      expect(file.mode).toBe(0o755);
    },
  );

  it("operator scripts are not among the host files (they are not uploaded)", () => {
    const hostPaths = new Set(renderHostFiles(fleet).map((f) => f.path));
    for (const file of operatorScripts) expect(hostPaths.has(file.path)).toBe(false);
    expect(operatorScripts.map((f) => f.path)).toEqual([
      "scripts/restore.sh",
      "scripts/rotate-password.sh",
      "scripts/set-api-key.sh",
      "scripts/show-password.sh",
    ]);
  });
});

/** Operator scripts run with a stub `aws` that logs its argv and captures secret files. */
describe("operator scripts", () => {
  const dir = join(workDir, "ops");
  const bin = join(dir, "bin");
  const log = join(dir, "aws.log");
  const captured = join(dir, "captured-secret");
  writeAll(dir, operatorScripts);
  mkdirSync(bin, { recursive: true });
  // Canned answers for the calls restore.sh and the SSM helpers make; everything else prints nothing.
  writeFileSync(
    join(bin, "aws"),
    `#!/usr/bin/env bash
printf '%s\\n' "$*" >>${JSON.stringify(log)}
for arg in "$@"; do [[ $arg == file://* ]] && cp "\${arg#file://}" ${JSON.stringify(captured)}; done
case "$*" in
  *"ec2 describe-instances --filters"*) echo i-0123456789abcdef0 ;;
  *"ec2 describe-instances --instance-ids"*) printf 'ap-southeast-7a\\t/dev/sda1\\n' ;;
  *"ec2 describe-volumes --filters"*)
    printf 'vol-0aaaaaaaaaaaaaaa1\\t/dev/sda1\\t50\\t3000\\t125\\tarn:aws:kms:ap-southeast-7:111122223333:key/k\\n'
    printf 'vol-0bbbbbbbbbbbbbbb2\\t/dev/sdf\\t500\\t3000\\t125\\tarn:aws:kms:ap-southeast-7:111122223333:key/k\\n' ;;
  *"ec2 describe-volumes --volume-ids"*) printf 'Name\\tcode-server-dev-data\\nbackup-plan\\tcode-server-dev-data-volume\\n' ;;
  *"ec2 describe-snapshots"*) printf 'completed\\t400\\t2026-01-01T02:00:00Z\\n' ;;
  *"ec2 create-volume"*) echo vol-0ccccccccccccccc3 ;;
  *"get-secret-value --secret-id ${secretName(fleet, { name: "bob" }, "password")}"*)
    echo "An error occurred (ResourceNotFoundException) when calling the GetSecretValue operation" >&2
    exit 254 ;;
  *"get-secret-value --secret-id ${secretName(fleet, { name: "alice" }, "password")}"*) echo 'S3cret-Passw0rd!' ;;
  *"ssm send-command"*) echo 11111111-2222-3333-4444-555555555555 ;;
  *"ssm get-command-invocation"*"--query Status"*) echo Success ;;
  *"ssm get-command-invocation"*) echo "host output" ;;
esac
exit 0
`,
  );
  chmodSync(join(bin, "aws"), 0o755);

  const run = (script: string, args: readonly string[], input = "") => {
    writeFileSync(log, "");
    const result = spawnSync("bash", [join(dir, "scripts", script), ...args], {
      encoding: "utf8",
      input,
      env: { PATH: `${bin}:${process.env.PATH}`, HOME: dir, TMPDIR: dir, POLL_SECONDS: "0" },
    });
    return { ...result, aws: readFileSync(log, "utf8").split("\n").filter(Boolean) };
  };

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

  it("set-api-key.sh takes the key from stdin and stores it through a file, never argv", () => {
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

  it("set-api-key.sh refuses a key given as an argument, and an empty or malformed key", () => {
    expect(run("set-api-key.sh", ["--developer", "bob", "sk-ant-api03-xyz"]).status).toBe(2);
    const empty = run("set-api-key.sh", ["--developer", "bob"], "\n");
    expect(empty.status).toBe(1);
    expect(empty.stderr).toMatch(/no key given; nothing stored/);
    const quoted = run("set-api-key.sh", ["--developer", "bob"], "sk-ant-'; rm -rf /\n");
    expect(quoted.status).toBe(1);
    expect(quoted.aws).toEqual([]);
  });

  it("show-password.sh prints only the password on stdout, and explains a missing one", () => {
    const shown = run("show-password.sh", ["--developer", "alice"]);
    expect(shown.status).toBe(0);
    expect(shown.stdout).toBe("S3cret-Passw0rd!\n");
    const missing = run("show-password.sh", ["--developer", "bob"]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/bob has no password yet: the host generates one on its first apply/);
  });

  it("rotate-password.sh --no-apply stores a new 32-character password through a file", () => {
    const result = run("rotate-password.sh", ["--developer", "carol", "--no-apply"]);
    expect(result.status).toBe(0);
    expect(result.aws).toEqual([
      expect.stringContaining(`put-secret-value --secret-id ${secretName(fleet, { name: "carol" }, "password")} --secret-string file://`),
    ]);
    expect(readFileSync(captured, "utf8")).toMatch(/^(?=.*[A-Za-z])(?=.*[0-9])(?=.*[^A-Za-z0-9]).{32}$/);
  });

  it("rotate-password.sh finds the host by its Name tag and runs apply.sh there through SSM Run Command", () => {
    const result = run("rotate-password.sh", ["--developer", "carol"]);
    expect(result.status).toBe(0);
    expect(result.aws[0]).toContain(`ec2 describe-instances --filters Name=tag:Name,Values=${fleet.namePrefix}-host`);
    expect(result.aws).toContainEqual(
      expect.stringContaining(
        `ssm send-command --instance-ids i-0123456789abcdef0 --document-name AWS-RunShellScript --comment rotate-password.sh (${fleet.project}/${fleet.environment}) --parameters {"commands":["bash ${hostPaths(fleet).root}/scripts/apply.sh"]`,
      ),
    );
    expect(result.stderr).toMatch(/container restarted with the new password/);
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

    it("swaps in a volume from the snapshot, keeping the old one, and prints the terraform commands", () => {
      const result = run("restore.sh", [
        "--snapshot-id",
        "snap-0123456789abcdef0",
        "--confirm",
        "--volume-address",
        "aws_ebs_volume.data",
        "--attachment-address",
        "aws_volume_attachment.data",
      ]);
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
        '{"Key":"restored-from","Value":"snap-0123456789abcdef0"}',
      ]) {
        expect(create).toContain(part);
      }
      const stop = steps.findIndex((c) => c.includes("stop-containers.sh --unmount"));
      const detach = index("ec2 detach-volume --volume-id vol-0bbbbbbbbbbbbbbb2 --instance-id i-0123456789abcdef0");
      const attach = index("ec2 attach-volume --volume-id vol-0ccccccccccccccc3 --instance-id i-0123456789abcdef0 --device /dev/sdf");
      const start = steps.findIndex((c) => c.includes("start-containers.sh --data-volume-id vol-0ccccccccccccccc3"));
      expect(index("ec2 create-volume")).toBeLessThan(stop);
      expect(stop).toBeLessThan(detach);
      expect(detach).toBeLessThan(attach);
      expect(attach).toBeLessThan(start);
      expect(steps).toContainEqual(
        expect.stringMatching(
          /^ec2 create-tags --resources vol-0bbbbbbbbbbbbbbb2 --tags Key=replaced-by,Value=vol-0ccccccccccccccc3 Key=replaced-at,Value=\d{8}T\d{6}Z$/,
        ),
      );
      expect(steps.some((c) => /delete-volume|delete-snapshot/.test(c))).toBe(false);
      expect(result.stdout).toBe(
        [
          "terraform state rm 'aws_volume_attachment.data' 'aws_ebs_volume.data'",
          "terraform import 'aws_ebs_volume.data' vol-0ccccccccccccccc3",
          "terraform import 'aws_volume_attachment.data' /dev/sdf:vol-0ccccccccccccccc3:i-0123456789abcdef0",
          "",
        ].join("\n"),
      );
    });
  });
});
