/**
 * main.ts as users run it: ROSTER_FILE, exit codes, messages, and the promise that a bad roster
 * writes nothing (an earlier cdktf.out stays exactly as it was).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { parse, stringify } from "yaml";
import { DEFAULT_ROSTER_TEXT, PROJECT_ROOT } from "./helpers/fleet";
import { launch } from "./helpers/launch";

const work = mkdtempSync(join(tmpdir(), "cli-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const outdir = join(work, "cdktf.out");
const stackFile = join(outdir, "stacks", "code-server-dev", "cdk.tf.json");

/** main.ts as `npm run synth` and the cdktf CLI run it. */
function main(args: string[], env: Record<string, string> = {}) {
  return launch("main.ts", args, { env });
}

describe("main.ts", () => {
  let first: string;

  beforeAll(() => {
    const run = main(["--outdir", outdir]);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    first = readFileSync(stackFile, "utf8");
  });

  it("synthesizes the default roster and says how to review the change and apply exactly the reviewed plan", () => {
    expect(JSON.parse(first).resource.aws_instance.host.instance_type).toBe("t3.2xlarge");
    const run = main(["--outdir", outdir]);
    const stackDir = relative(PROJECT_ROOT, join(outdir, "stacks", "code-server-dev"));
    expect(run.stdout).toContain("npm run review -- --base HEAD");
    expect(run.stdout).toContain(
      `terraform -chdir=${stackDir} plan -var-file=${relative(join(outdir, "stacks", "code-server-dev"), join(PROJECT_ROOT, "terraform.tfvars"))} -out=reviewed.tfplan`,
    );
    expect(run.stdout).toContain(`terraform -chdir=${stackDir} apply reviewed.tfplan`);
  });

  it("reads the roster named by ROSTER_FILE", () => {
    const roster = join(work, "two.yaml");
    writeFileSync(
      roster,
      "domain: team.example.org\nhost: { instanceType: t3.large }\ndevelopers:\n  - { name: ann, port: 9001 }\n  - { name: bo, port: 9002 }\n",
    );
    const other = join(work, "other.out");
    const run = main(["--outdir", other], { ROSTER_FILE: roster });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`Synthesized 2 developers from ${roster}`);
    const config = JSON.parse(readFileSync(join(other, "stacks", "code-server-dev", "cdk.tf.json"), "utf8")) as {
      resource: { aws_route53_record: Record<string, { name: string }> };
    };
    expect(Object.values(config.resource.aws_route53_record).map((r) => r.name)).toEqual(
      expect.arrayContaining(["ann.team.example.org", "bo.team.example.org"]),
    );
  });

  it("says each Fargate size on ECS, with how many and which developers, and none on the host", () => {
    const roster = parse(DEFAULT_ROSTER_TEXT);
    delete roster.host;
    roster.platform = "ecs";
    roster.developerDefaults = { ...roster.developerDefaults, cpus: 1, cpuLimit: 1, memoryGiB: 2, memoryLimitGiB: 2 };
    for (const d of roster.developers.slice(6)) Object.assign(d, { cpuLimit: 2, memoryLimitGiB: 4 });
    const file = join(work, "ecs.yaml");
    writeFileSync(file, stringify(roster));
    const run = main(["--outdir", join(work, "ecs.out")], { ROSTER_FILE: file });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout.split("\n")).toContain("Fargate sizes: 1 vCPU / 2 GiB × 6 (dev1 … dev6), 2 vCPU / 4 GiB × 2 (dev7, dev8)");
    expect(main(["--outdir", outdir]).stdout).not.toContain("Fargate");
  });

  it("rejects a bad roster with exit 1, every problem on stderr, and leaves cdktf.out untouched", () => {
    const bad = join(work, "bad.yaml");
    writeFileSync(bad, "domain: dev.example.com\nhost: { instanceType: t3.2xlarge }\ndevelopers:\n  - { name: Dev_1, port: 8443 }\n");
    const before = statSync(stackFile).mtimeMs;
    const run = main(["--outdir", outdir], { ROSTER_FILE: bad });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`${bad}:4: developers[0].name: a developer name must be a DNS label`);
    expect(run.stderr).toContain('(found "Dev_1")');
    expect(run.stdout).toBe("");
    expect(readFileSync(stackFile, "utf8")).toBe(first);
    expect(statSync(stackFile).mtimeMs).toBe(before);
  });

  it("names a missing roster file and how to point at another", () => {
    const run = main(["--outdir", join(work, "never")], { ROSTER_FILE: join(work, "missing.yaml") });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/missing\.yaml: .*file not found.*set ROSTER_FILE/);
    expect(existsSync(join(work, "never"))).toBe(false);
  });

  it("refuses an unknown option with exit 2 and the usage", () => {
    const run = main(["--exprot", "deployment"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("usage: main.ts");
  });

  it("keeps each stack's Terraform working files when it replaces cdktf.out", () => {
    const dotTerraform = join(outdir, "stacks", "code-server-dev", ".terraform");
    mkdirSync(dotTerraform, { recursive: true });
    writeFileSync(join(dotTerraform, "marker"), "init was here");
    expect(main(["--outdir", outdir]).status).toBe(0);
    expect(readFileSync(join(dotTerraform, "marker"), "utf8")).toBe("init was here");
    expect(readFileSync(stackFile, "utf8")).toBe(first);
  });

  it("writes the same configuration with cdktf's token stack traces switched back on", () => {
    const traced = join(work, "traced.out");
    expect(main(["--outdir", traced], { CDKTF_STACK_TRACES: "1" }).status).toBe(0);
    expect(readFileSync(join(traced, "stacks", "code-server-dev", "cdk.tf.json"), "utf8")).toBe(first);
  });

  it("exports the deployment layout with executable scripts", () => {
    const deployment = join(work, "deployment");
    const run = main(["--outdir", join(work, "export.out"), "--export", deployment]);
    expect(run.status).toBe(0);
    for (const file of [
      "terraform/main.tf",
      "terraform/variables.tf",
      "terraform/outputs.tf",
      "terraform/terraform.tfvars.example",
      "docker/docker-compose.yml",
      "scripts/setup.sh",
      "scripts/start-containers.sh",
      "scripts/stop-containers.sh",
      "scripts/backup.sh",
      "config/alb-rules.json",
      "config/secrets.json.example",
    ]) {
      expect([file, existsSync(join(deployment, file))]).toEqual([file, true]);
    }
    expect(statSync(join(deployment, "scripts", "setup.sh")).mode & 0o111).toBe(0o111);
    // The exported HCL shares the project's local state file, whatever directory it lands in.
    const statePath = /backend "local" \{\s*path = "([^"]+)"/.exec(readFileSync(join(deployment, "terraform", "main.tf"), "utf8"))![1];
    expect(resolve(deployment, "terraform", statePath)).toBe(join(PROJECT_ROOT, "terraform.code-server-dev.tfstate"));
  });

  it("writes nothing that points at notes outside the repository (the spec, the design notes)", () => {
    const deployment = join(work, "deployment");
    const files = [
      join(work, "export.out", "stacks", "code-server-dev", "cdk.tf.json"),
      ...readdirSync(deployment, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => join(entry.parentPath, entry.name)),
    ];
    expect(files.length).toBeGreaterThan(30);
    const pointing = files.filter((file) => /SPEC\.md|DESIGN\.md|\bSPEC \d|\bthe spec\b/i.test(readFileSync(file, "utf8")));
    expect(pointing).toEqual([]);
  });
});

describe("npm run bench's arguments", () => {
  it("--help prints the usage and exits 0 without benchmarking; an unknown option exits 2 with it", () => {
    const help = launch("bench/bench.ts", ["--help"]);
    expect([help.status, help.stderr]).toEqual([0, ""]);
    expect(help.stdout).toMatch(/^usage: npm run bench \[-- --runs <n>\]\n/);
    const bad = launch("bench/bench.ts", ["--run", "3"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^Unknown option '--run'.*\nusage: npm run bench/s);
    expect(bad.stdout).toBe("");
  });
});
