/**
 * One synth for every path, from a copy of the project: the cdktf CLI's app run (cdktf.json's
 * `app` with CDKTF_OUTDIR, as the CLI runs it) leaves exactly the files `npm run synth` leaves,
 * deployment/ included; an edited source is used by the next synth (the build is never stale);
 * and a synth replaces only what it generates, keeping the operator's files.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { GENERATED_LIST, replaceDirectory } from "../src/replace-directory";
import { PROJECT_ROOT } from "./helpers/fleet";
import { launch } from "./helpers/launch";

const project = mkdtempSync(join(tmpdir(), "synth-paths-"));
for (const entry of [
  "main.ts",
  "src",
  "templates",
  "tools",
  "roster.yaml",
  "terraform.tfvars.example",
  "package.json",
  "cdktf.json",
  "tsconfig.json",
]) {
  cpSync(join(PROJECT_ROOT, entry), join(project, entry), { recursive: true });
}
symlinkSync(join(PROJECT_ROOT, "node_modules"), join(project, "node_modules"));
afterAll(() => rmSync(project, { recursive: true, force: true }));

/** Every file under `dir` with its content. */
function tree(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.set(relative(dir, path), readFileSync(path, "utf8"));
    }
  };
  walk(dir);
  return files;
}

const npmRunSynth = () => launch("main.ts", ["--export", "deployment"], { cwd: project });

/** cdktf.json's app command, run the way the cdktf CLI runs it (cdktf-cli 0.21, synth-stack.js). */
function cdktfAppRun() {
  const { app } = JSON.parse(readFileSync(join(project, "cdktf.json"), "utf8")) as { app: string };
  return spawnSync("sh", ["-c", app], {
    cwd: project,
    encoding: "utf8",
    env: { ...process.env, CDKTF_OUTDIR: join(project, "cdktf.out"), CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS: "true" },
  });
}

describe("the cdktf CLI's app run and npm run synth", () => {
  it("leave the same files in cdktf.out and deployment", () => {
    const synth = npmRunSynth();
    expect([synth.status, synth.stderr]).toEqual([0, ""]);
    const viaNpm = { out: tree(join(project, "cdktf.out")), deployment: tree(join(project, "deployment")) };
    rmSync(join(project, "cdktf.out"), { recursive: true });
    rmSync(join(project, "deployment"), { recursive: true });

    const cli = cdktfAppRun();
    expect([cli.status, cli.stderr]).toEqual([0, ""]);
    const viaCli = { out: tree(join(project, "cdktf.out")), deployment: tree(join(project, "deployment")) };
    expect([...viaCli.deployment.keys()].sort()).toEqual([...viaNpm.deployment.keys()].sort());
    expect(viaCli.deployment.has("scripts/set-api-key.sh")).toBe(true);
    expect(viaCli).toEqual(viaNpm);
  });
});

describe("npm run cdktf, the real cdktf CLI", () => {
  it("synthesizes through cdktf.json's app, refreshes deployment/ too, and logs no checkpoint error offline", () => {
    rmSync(join(project, "deployment"), { recursive: true, force: true });
    const run = spawnSync("npm", ["run", "-s", "cdktf", "--", "synth"], {
      cwd: project,
      encoding: "utf8",
      env: { ...process.env, CI: "1" },
    });
    expect(run.status).toBe(0);
    // Without CHECKPOINT_DISABLE, an offline cdktf logs "[ERROR] ... getaddrinfo ENOTFOUND checkpoint-api.hashicorp.com".
    expect(`${run.stdout}${run.stderr}`).not.toMatch(/checkpoint|ENOTFOUND/i);
    expect(existsSync(join(project, "deployment", "scripts", "set-api-key.sh"))).toBe(true);
    expect(existsSync(join(project, "cdktf.out", "stacks", "code-server-dev", "cdk.tf.json"))).toBe(true);
  });
});

describe("the build", () => {
  const afterCleanup: (() => void)[] = [];
  afterAll(() => afterCleanup.forEach((undo) => undo()));

  it("is rebuilt when a source changes, so the next synth uses the edit", () => {
    expect(npmRunSynth().status).toBe(0);
    const bundles = () => readdirSync(join(project, ".build", "dist")).filter((f) => /^main-[0-9a-f]+\.js$/.test(f));
    const [before] = bundles();
    const source = join(project, "src", "replace-directory.ts");
    const header = "# Anything else here is yours and survives a synth.";
    writeFileSync(source, readFileSync(source, "utf8").replace(header, "# EDITED: the next synth must say this."));

    const run = npmRunSynth();
    expect(run.status).toBe(0);
    expect(readFileSync(join(project, "deployment", GENERATED_LIST), "utf8")).toContain("# EDITED: the next synth must say this.");
    expect(bundles()).toHaveLength(1);
    expect(bundles()).not.toContain(before);
  });

  it("renders an edited template on the next synth (compiled templates are kept by their text)", () => {
    expect(npmRunSynth().status).toBe(0);
    const template = join(project, "templates", "docker", "docker-compose.yml.hbs");
    writeFileSync(template, `${readFileSync(template, "utf8")}# EDITED template\n`);
    expect(npmRunSynth().status).toBe(0);
    expect(readFileSync(join(project, "deployment", "docker", "docker-compose.yml"), "utf8")).toMatch(/# EDITED template\n$/);
  });

  it("refuses to run a stale build when esbuild is not there to rebuild it", () => {
    const source = join(project, "main.ts");
    const original = readFileSync(source, "utf8");
    writeFileSync(source, `${original}\n// edited\n`);
    // Put the source back afterwards, so the next test finds its build fresh.
    afterCleanup.push(() => writeFileSync(source, original));
    // An install without devDependencies: esbuild cannot be found.
    const withoutEsbuild = `
      const Module = require("module");
      const resolve = Module._resolveFilename;
      Module._resolveFilename = (request, ...rest) => {
        if (request === "esbuild") throw Object.assign(new Error("Cannot find module 'esbuild'"), { code: "MODULE_NOT_FOUND" });
        return resolve(request, ...rest);
      };
      require("./tools/launch.js").ensureBuilt("main.ts").then(
        (bundle) => console.log("ran", bundle),
        (err) => { console.error(err.message); process.exit(1); },
      );`;
    const run = spawnSync(process.execPath, ["-e", withoutEsbuild], { cwd: project, encoding: "utf8" });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(
      /build of main\.ts .* is missing or older than the sources, and esbuild .* is not installed to rebuild it: run npm ci/,
    );
  });
});

describe("a synth keeps the operator's files", () => {
  const operatorFiles = {
    "deployment/terraform/terraform.tfvars": 'hosted_zone_id = "Z1"\n',
    "deployment/terraform/backend_override.tf": 'terraform {\n  backend "s3" {}\n}\n',
    "deployment/terraform/team_override.tf.json": "{}\n",
    "deployment/terraform/.terraform/providers/marker": "init was here\n",
    "deployment/terraform/.terraform.lock.hcl": "# lock\n",
    "deployment/terraform/terraform.tfstate": '{"version": 4}\n',
    "deployment/terraform/reviewed.tfplan": "plan\n",
    "deployment/config/notes.txt": "the operator's notes\n",
    "cdktf.out/stacks/code-server-dev/terraform.tfvars": 'alarm_emails = ["a@example.com"]\n',
    "cdktf.out/stacks/code-server-dev/.terraform/marker": "init was here\n",
    "cdktf.out/stacks/code-server-dev/reviewed.tfplan": "plan\n",
  };

  it("across a synth of another roster, while generated files that are gone are removed", () => {
    expect(npmRunSynth().status).toBe(0);
    expect(existsSync(join(project, "deployment", "config", "dev5", "config.yaml.tmpl"))).toBe(true);
    for (const [path, content] of Object.entries(operatorFiles)) {
      mkdirSync(join(project, path, ".."), { recursive: true });
      writeFileSync(join(project, path), content);
    }
    const roster = join(project, "without-dev5.yaml");
    writeFileSync(roster, readFileSync(join(project, "roster.yaml"), "utf8").replace(/^ {2}- \{ name: dev5, .*\n/m, ""));
    const run = launch("main.ts", ["--export", "deployment"], { cwd: project, env: { ROSTER_FILE: roster } });
    expect([run.status, run.stderr]).toEqual([0, ""]);

    for (const [path, content] of Object.entries(operatorFiles))
      expect([path, readFileSync(join(project, path), "utf8")]).toEqual([path, content]);
    expect(existsSync(join(project, "deployment", "config", "dev5"))).toBe(false);
    expect(readFileSync(join(project, "deployment", "docker", "docker-compose.yml"), "utf8")).not.toContain("dev5");
  });
});

describe("the exported terraform.tfvars.example", () => {
  it("gives commands and paths that are right from where it sits", () => {
    expect(npmRunSynth().status).toBe(0);
    const dir = join(project, "deployment", "terraform");
    const text = readFileSync(join(dir, "terraform.tfvars.example"), "utf8");
    const varFile = /terraform plan -var-file=(\S+) -out=reviewed\.tfplan/.exec(text)![1];
    expect(join(dir, varFile)).toBe(join(project, "terraform.tfvars"));
    expect(text).toContain("In this directory (deployment/terraform)");
    // The values are the project's example's, unchanged.
    const values = (t: string) => t.slice(t.indexOf("\n\n"));
    expect(values(text)).toBe(values(readFileSync(join(project, "terraform.tfvars.example"), "utf8")));
  });

  it("and secrets.json.example names the operator scripts by paths that exist from the project root", () => {
    const text = readFileSync(join(project, "deployment", "config", "secrets.json.example"), "utf8");
    const scripts = [
      ...text.matchAll(/(deployment\/scripts\/[\w-]+\.sh) --developer \w+ \(on your workstation, from the project root\)/g),
    ].map((m) => m[1]);
    expect(new Set(scripts)).toEqual(new Set(["deployment/scripts/show-password.sh", "deployment/scripts/set-api-key.sh"]));
    for (const script of scripts) expect([script, existsSync(join(project, script))]).toEqual([script, true]);
  });

  it("and the project's own example points from the project root at the stack directory synth writes", () => {
    const text = readFileSync(join(project, "terraform.tfvars.example"), "utf8");
    const [, stackDir, varFile] = /terraform -chdir=(\S+) plan -var-file=(\S+) -out=reviewed\.tfplan/.exec(text)!;
    expect(existsSync(join(project, stackDir, "cdk.tf.json"))).toBe(true);
    expect(join(project, stackDir, varFile)).toBe(join(project, "terraform.tfvars"));
  });
});

describe("replaceDirectory on a tree written before it listed what it generates", () => {
  it("keeps what looks like an operator's Terraform file and replaces the rest", async () => {
    const target = join(project, "legacy");
    mkdirSync(join(target, ".terraform"), { recursive: true });
    writeFileSync(join(target, ".terraform", "marker"), "init");
    writeFileSync(join(target, "terraform.tfvars"), "x = 1\n");
    writeFileSync(join(target, "prod_override.tf"), "# override\n");
    writeFileSync(join(target, "old-generated.tf"), "# from an old synth\n");
    const result = await replaceDirectory(target, (staging) => writeFileSync(join(staging, "main.tf"), "# new\n"));
    expect(tree(target)).toEqual(
      new Map([
        [".terraform/marker", "init"],
        ["terraform.tfvars", "x = 1\n"],
        ["prod_override.tf", "# override\n"],
        ["main.tf", "# new\n"],
        [GENERATED_LIST, expect.stringMatching(/\nmain\.tf\n$/)],
      ]),
    );
    expect([...result.kept].sort()).toEqual([".terraform", "prod_override.tf", "terraform.tfvars"]);
  });

  it("keeps an operator's file at a path the generator now claims as <path>.local", async () => {
    const target = join(project, "claimed");
    await replaceDirectory(target, (staging) => writeFileSync(join(staging, "main.tf"), "# v1\n"));
    writeFileSync(join(target, "notes.md"), "mine\n");
    const result = await replaceDirectory(target, (staging) => {
      writeFileSync(join(staging, "main.tf"), "# v2\n");
      writeFileSync(join(staging, "notes.md"), "generated\n");
    });
    expect(result.displaced).toEqual(["notes.md"]);
    expect(readFileSync(join(target, "notes.md.local"), "utf8")).toBe("mine\n");
    expect(readFileSync(join(target, "notes.md"), "utf8")).toBe("generated\n");
  });
});
