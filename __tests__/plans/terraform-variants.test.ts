/**
 * Terraform's plans of what the default-roster checks in terraform-offline.test.ts do not cover,
 * offline: a roster with a schedule planned with every optional variable set; and the shared
 * provider process those plans use (src/terraform/provider-server.ts), which must not outlive a
 * killed test worker. One synth and one workdir for the file.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { synthInto } from "../../src/app";
import { editedFleet, PROJECT_ROOT } from "../helpers/fleet";
import {
  AWS_PROVIDER_VERSION,
  DEFAULT_PLAN_TYPES,
  offlineWorkdir,
  changesOf,
  type PlanJson,
  terraformOrSkip,
  type Workdir,
} from "../helpers/terraform";

const terraform = terraformOrSkip();
const maybe = terraform ? describe : describe.skip;
const TFVARS = readFileSync(join(PROJECT_ROOT, "terraform.tfvars.example"), "utf8");

maybe("a roster with a schedule, planned offline with every optional variable", () => {
  const out = mkdtempSync(join(tmpdir(), "synth-"));
  let workdir: Workdir;
  /** The default roster's addresses: the contract addresses.test.ts holds to the synthesized stack. */
  const defaultAddresses = new Set(
    readFileSync(join(__dirname, "..", "fixtures", "terraform-addresses.txt"), "utf8")
      .split("\n")
      .filter((line) => line && !line.startsWith("#")),
  );

  beforeAll(() => {
    const { stackDir } = synthInto(
      editedFleet((roster) => {
        roster.schedule = { timezone: "Asia/Bangkok", days: ["mon", "tue", "wed", "thu", "fri"], start: "08:00", stop: "20:00" };
      }),
      join(out, "cdktf.out"),
    );
    workdir = offlineWorkdir(terraform!, stackDir, { "test.tfvars": TFVARS });
    workdir.run(["init", "-input=false", "-no-color"]);
    workdir.shareProvider();
  });

  afterAll(() => {
    workdir?.dispose();
    rmSync(out, { recursive: true, force: true });
  });

  /** One plan for two questions: the variables' variant and the schedule's resources. */
  let variantPlan: PlanJson;
  const variant = () => {
    if (!variantPlan) {
      workdir.run([
        "plan",
        "-refresh=false",
        "-input=false",
        "-no-color",
        "-var-file=test.tfvars",
        '-var=admin_cidrs=["203.0.113.10/32"]',
        '-var=allowed_cidrs=["198.51.100.0/24","192.0.2.7/32"]',
        "-var=certificate_arn=arn:aws:acm:ap-southeast-7:123456789012:certificate/0a1b2c3d-0000-4000-8000-000000000000",
        "-out=variant.bin",
      ]);
      variantPlan = workdir.json<PlanJson>(["show", "-json", "variant.bin"]);
    }
    return variantPlan;
  };

  it("opens SSH for an explicit admin CIDR, and uses an existing certificate instead of requesting one", () => {
    const plan = variant();
    const ingress = (port: number) =>
      changesOf(plan).filter((r) => r.type === "aws_vpc_security_group_ingress_rule" && r.change.after!.from_port === port);
    expect(ingress(22).map((r) => r.change.after!.cidr_ipv4)).toEqual(["203.0.113.10/32"]);
    // The ALB answers the allowed blocks only, one rule per block and port, keyed by the block.
    for (const port of [443, 80]) {
      expect(ingress(port).map((r) => [r.address.replace(/^.*\[/, "["), r.change.after!.cidr_ipv4])).toEqual([
        ['["192.0.2.7/32"]', "192.0.2.7/32"],
        ['["198.51.100.0/24"]', "198.51.100.0/24"],
      ]);
    }
    expect(changesOf(plan).filter((r) => r.type.startsWith("aws_acm_"))).toEqual([]);
  });

  it("plans a roster with a schedule: the schedules, their group, role and failure alarm, only creating", () => {
    const plan = variant();
    expect(new Set(changesOf(plan).map((r) => r.change.actions.join(",")))).toEqual(new Set(["create"]));
    // The certificate's two types are left out by certificate_arn (the test above).
    expect([...new Set(changesOf(plan).map((r) => r.type))].sort()).toEqual(
      [
        ...DEFAULT_PLAN_TYPES.filter((type) => !type.startsWith("aws_acm_")),
        "aws_scheduler_schedule",
        "aws_scheduler_schedule_group",
      ].sort(),
    );
    // The ALB's and SSH's rules are keyed by the variables' blocks (the test above), so they are new addresses too.
    const added = changesOf(plan)
      .map((r) => r.address)
      .filter((address) => !defaultAddresses.has(address.replace(/\[.*$/, "")))
      .filter((address) => !address.startsWith("aws_vpc_security_group_ingress_rule."));
    expect(added.sort()).toEqual([
      "aws_cloudwatch_metric_alarm.schedule_failed-call",
      "aws_iam_role.schedule_role",
      "aws_iam_role_policy.schedule_role-policy",
      "aws_scheduler_schedule.schedule_alarms-off",
      "aws_scheduler_schedule.schedule_alarms-on",
      "aws_scheduler_schedule.schedule_start-host",
      "aws_scheduler_schedule.schedule_stop-host",
      "aws_scheduler_schedule_group.schedule_group",
    ]);
    const startHost = changesOf(plan).find((r) => r.address === "aws_scheduler_schedule.schedule_start-host")!.change.after!;
    expect([startHost.schedule_expression, startHost.schedule_expression_timezone]).toEqual([
      "cron(0 8 ? * MON,TUE,WED,THU,FRI *)",
      "Asia/Bangkok",
    ]);
  });

  it("stops a shared provider when the process that started it is killed, leaving no provider behind", () => {
    // A workdir of its own (the server's socket and log go there), with the installed providers.
    const dir = mkdtempSync(join(tmpdir(), "provider-server-"));
    try {
      symlinkSync(join(workdir.dir, ".terraform"), join(dir, ".terraform"));
      const starter = [
        `const { ProviderServer } = require(${JSON.stringify(join(PROJECT_ROOT, "src", "terraform", "provider-server.ts"))});`,
        `const server = ProviderServer.start(${JSON.stringify(dir)}, ${JSON.stringify(AWS_PROVIDER_VERSION)}, process.env);`,
        `console.log(server.pid);`,
        `process.kill(process.pid, "SIGKILL");`,
      ].join("\n");
      const run = spawnSync(process.execPath, ["--import", "tsx", "-e", starter], {
        encoding: "utf8",
        env: { ...process.env, TMPDIR: dir },
      });
      expect(run.signal).toBe("SIGKILL");
      const pid = Number(run.stdout.trim());
      expect(pid).toBeGreaterThan(1);
      const deadline = Date.now() + 10_000;
      while (existsSync(`/proc/${pid}`) && Date.now() < deadline) spawnSync("sleep", ["0.05"]);
      expect(existsSync(`/proc/${pid}`)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
