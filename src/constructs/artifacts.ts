/**
 * Artifacts layer: live delivery of the rendered host files. Each file
 * is an S3 object; an SSM association runs the apply document on the host whenever their
 * content hash changes, so a roster edit reaches the running host with no instance replacement
 * and no change to user_data. The first boot takes the same path.
 *
 * Beside the files go a modes list (S3 keeps no file modes) and a sha256 manifest of both; the
 * manifest's own hash is the association's parameter, so the host installs exactly the files
 * and modes of this deploy or nothing.
 */
import { createHash } from "node:crypto";
import type { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import type { Instance } from "@cdktf/provider-aws/lib/instance";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { S3Object } from "@cdktf/provider-aws/lib/s3-object";
import type { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SsmAssociation } from "@cdktf/provider-aws/lib/ssm-association";
import { SsmDocument } from "@cdktf/provider-aws/lib/ssm-document";
import { Fn, type ITerraformDependable } from "cdktf";
import { Construct } from "constructs";
import {
  GUIDE_LINKS,
  APPLY_DOCUMENT_PARAMETERS,
  type ApplyDocumentParameter,
  HOST_FILES_MANIFEST,
  HOST_FILES_MODES,
  HOST_FILES_PREFIX,
  applyDocumentName,
  hostFileId,
} from "../naming";
import { FILE_MODES, type RenderedFile, byPath, octal, renderedFile } from "../rendered-file";
import type { Fleet } from "../roster";
import { notifyOnEvent } from "./event-notification";
import { escapeTemplate } from "./expressions";
import { PrivateBucket, type ServerAccessLogTarget } from "./private-bucket";
import { PropsError, check, checkPattern } from "./validation";

/** Where SSM writes the output of each apply run, in the artifact bucket. */
export const SSM_OUTPUT_PREFIX = "ssm-output/";
/**
 * The association also runs on this schedule, not only when the host files change: a failed
 * extension download is retried and manual drift on the host is put back. An apply with
 * nothing to change touches no container.
 */
export const REAPPLY_SCHEDULE = "rate(1 hour)";
/** How long `terraform apply` waits for the host to finish applying (first boot installs Docker and pulls the image). */
export const APPLY_TIMEOUT_SECONDS = 1800;
/** The host file the apply document runs once the files are in place. */
export const APPLY_SCRIPT = "scripts/apply.sh";

/** What SSM accepts for each document parameter: checked by SSM before the value reaches the shell. */
const PARAMETER_RULES: Readonly<Record<ApplyDocumentParameter, { readonly description: string; readonly allowedPattern: string }>> = {
  region: { description: "AWS region", allowedPattern: "^[a-z]{2}(-gov)?-[a-z]+-[0-9]$" },
  dataVolumeId: { description: "EBS id of the data volume", allowedPattern: "^vol-[0-9a-f]{8,17}$" },
  artifactBucket: { description: "Bucket holding the host files", allowedPattern: "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$" },
  archiveBucket: { description: "Bucket for archived workspaces", allowedPattern: "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$" },
  hostFilesHash: { description: "sha256 of the host files manifest", allowedPattern: "^[0-9a-f]{64}$" },
};

export function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** Every object uploaded for `files`, sorted by path, and the hash the host checks them by. */
export interface HostFileObjects {
  /** The files, the modes list (`<octal mode> <path>` per file) and the manifest (`sha256sum` format, listing both). */
  readonly objects: readonly RenderedFile[];
  /** sha256 of the manifest: changes exactly when a file's content or mode changes. */
  readonly contentHash: string;
}

/** A host file built beside the configuration rather than rendered (the sign-in gate's bundle): uploaded from its file. */
export interface BuiltHostFile {
  /** Its path among the host files. */
  readonly path: string;
  readonly sha256Hex: string;
  /** Its file, relative to the Terraform directory (`StackFiles`). */
  readonly source: string;
}

/** The objects of `files` and a manifest and modes list that also cover `built` (uploaded apart, from their files). */
export function hostFileObjects(files: readonly RenderedFile[], built: readonly BuiltHostFile[] = []): HostFileObjects {
  const sorted = [...files].sort(byPath);
  const entries = [
    ...sorted.map((f) => ({ path: f.path, mode: f.mode, sha256Hex: sha256(f.content) })),
    ...built.map((f) => ({ path: f.path, mode: FILE_MODES.regular, sha256Hex: f.sha256Hex })),
  ].sort(byPath);
  const modes = renderedFile(HOST_FILES_MODES, entries.map((f) => `${octal(f.mode)} ${f.path}\n`).join(""), FILE_MODES.regular);
  const listed = [...entries, { path: modes.path, sha256Hex: sha256(modes.content) }].sort(byPath);
  const manifest = renderedFile(HOST_FILES_MANIFEST, listed.map((f) => `${f.sha256Hex}  ${f.path}\n`).join(""), FILE_MODES.regular);
  return { objects: [...[...sorted, modes].sort(byPath), manifest], contentHash: sha256(manifest.content) };
}

/** SSM document parameter markers, `{{ name }}`, as they appear in a script. */
const PARAMETER_MARKER = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;

export interface ArtifactsLayerProps {
  /**
   * The roster: its name prefix (`<project>-<environment>`) names the host-files bucket, the apply
   * document, its association and the failed-apply rule; its region is passed to the host.
   */
  readonly fleet: Fleet;
  /** Encrypts the host-files bucket (the files name secrets but hold none; SSM output may be sensitive). */
  readonly key: KmsKey;
  /** The rendered host files (`renderHostFiles`). Must include `scripts/apply.sh`, which the document runs. */
  readonly files: readonly RenderedFile[];
  /**
   * Host files built beside the configuration, uploaded from their files and listed in the manifest.
   * @default - none
   */
  readonly builtFiles?: readonly BuiltHostFile[];
  /**
   * The apply document's script (`renderApplyDocumentScript`). Its only `{{ name }}` markers are
   * the document's parameters, which SSM fills in before it runs.
   */
  readonly applyScript: string;
  /** The host the association targets. */
  readonly instance: Instance;
  /** Name of the host's IAM role: it may read the host files and write the apply output. */
  readonly hostRoleName: string;
  /** EBS volume id of the data volume, passed to the host as `DATA_VOLUME_ID`. */
  readonly dataVolumeId: string;
  /** Bucket name of the workspace archive, passed to the host as `ARCHIVE_BUCKET`. */
  readonly archiveBucketName: string;
  /**
   * What the first apply needs in place (the data volume attachment, log groups).
   * @default - only the host files themselves
   */
  readonly applyDependsOn?: readonly ITerraformDependable[];
  /**
   * Where the host-files bucket's S3 server access logs go.
   * @default - none
   */
  readonly serverAccessLogs?: ServerAccessLogTarget;
  /**
   * The topic told when an apply on the host fails (the association's run on the instance).
   * @default - none: a failed apply is seen only in the SSM console and its output
   */
  readonly applyFailureTopic?: SnsTopic;
}

/**
 * The events State Manager sends when a run of the apply association on the host ends Failed
 * (the hourly run and every run after a roster change), for the alarm topic.
 */
export function applyFailedEventPattern(associationId: string) {
  return {
    source: ["aws.ssm"],
    "detail-type": ["EC2 State Manager Instance Association State Change"],
    detail: { "association-id": [associationId], status: ["Failed"] },
  };
}

export class ArtifactsLayer extends Construct {
  readonly bucket: PrivateBucket;
  readonly document: SsmDocument;
  readonly association: SsmAssociation;
  /** Matches a failed apply on the host; present when `applyFailureTopic` is given. */
  readonly applyFailedRule?: CloudwatchEventRule;
  /** sha256 of the manifest: changes exactly when a host file or its mode changes. */
  readonly contentHash: string;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: ArtifactsLayerProps,
  ) {
    super(scope, id);
    const { fleet } = props;
    this.validate(props);

    this.bucket = new PrivateBucket(this, "host-files", {
      namePrefix: `${fleet.namePrefix}-host-`,
      kmsKeyArn: props.key.arn,
      lifecycleRules: [
        {
          id: "old-host-files",
          status: "Enabled",
          filter: [{ prefix: HOST_FILES_PREFIX }],
          noncurrentVersionExpiration: [{ noncurrentDays: 90 }],
        },
        { id: "ssm-output", status: "Enabled", filter: [{ prefix: SSM_OUTPUT_PREFIX }], expiration: [{ days: 30 }] },
      ],
      serverAccessLogs: props.serverAccessLogs,
    });
    const { objects, contentHash } = hostFileObjects(props.files, props.builtFiles);
    this.contentHash = contentHash;
    const uploads = [...this.upload(objects), ...this.uploadBuilt(props.builtFiles ?? [])];
    this.hostReadsFiles();
    this.document = new SsmDocument(this, "apply-document", {
      name: applyDocumentName(fleet),
      documentType: "Command",
      documentFormat: "JSON",
      content: escapeTemplate(JSON.stringify(applyDocument(fleet, props.applyScript))),
    });
    this.association = this.applyAssociation(uploads);
    this.applyFailedRule = this.notifyFailedApplies();
  }

  /** Each host file and the manifests as an S3 object under HOST_FILES_PREFIX. */
  private upload(objects: ReturnType<typeof hostFileObjects>["objects"]): S3Object[] {
    const bucket = this.bucket.bucket;
    return objects.map(
      (file) =>
        new S3Object(this, hostFileId(file.path), {
          bucket: bucket.id,
          key: `${HOST_FILES_PREFIX}${file.path}`,
          content: escapeTemplate(file.content),
          contentType: "text/plain; charset=utf-8",
        }),
    );
  }

  /** Each built host file as an S3 object under HOST_FILES_PREFIX, from its file beside the configuration. */
  private uploadBuilt(files: readonly BuiltHostFile[]): S3Object[] {
    return files.map(
      (file) =>
        new S3Object(this, hostFileId(file.path), {
          bucket: this.bucket.bucket.id,
          key: `${HOST_FILES_PREFIX}${file.path}`,
          source: file.source,
          sourceHash: file.sha256Hex,
          contentType: "text/plain; charset=utf-8",
        }),
    );
  }

  /** The host role reads the host files and writes the apply's output, nothing else of the bucket. */
  private hostReadsFiles(): void {
    const { props } = this;
    const bucket = this.bucket.bucket;
    new IamRolePolicy(this, "host-read-files", {
      name: "host-files",
      role: props.hostRoleName,
      policy: Fn.jsonencode({
        Version: "2012-10-17",
        Statement: [
          { Sid: "ReadHostFiles", Effect: "Allow", Action: "s3:GetObject", Resource: `${bucket.arn}/${HOST_FILES_PREFIX}*` },
          {
            Sid: "ListHostFiles",
            Effect: "Allow",
            Action: "s3:ListBucket",
            Resource: bucket.arn,
            Condition: { StringLike: { "s3:prefix": [`${HOST_FILES_PREFIX}*`] } },
          },
          { Sid: "WriteApplyOutput", Effect: "Allow", Action: "s3:PutObject", Resource: `${bucket.arn}/${SSM_OUTPUT_PREFIX}*` },
        ],
      }),
    });
  }

  /** The association that runs the apply document on the host when the files' hash changes, and hourly. */
  private applyAssociation(uploads: readonly S3Object[]): SsmAssociation {
    const { props } = this;
    const { fleet } = props;
    const bucket = this.bucket.bucket;
    const parameters: Record<ApplyDocumentParameter, string> = {
      region: fleet.region,
      dataVolumeId: props.dataVolumeId,
      artifactBucket: bucket.id,
      archiveBucket: props.archiveBucketName,
      hostFilesHash: this.contentHash,
    };
    return new SsmAssociation(this, "apply", {
      associationName: `${fleet.namePrefix}-apply-host-files`,
      name: this.document.name,
      targets: [{ key: "InstanceIds", values: [props.instance.id] }],
      parameters,
      scheduleExpression: REAPPLY_SCHEDULE,
      complianceSeverity: "HIGH",
      maxConcurrency: "1",
      maxErrors: "0",
      // Deploys fail loudly when the host cannot reach the rendered state.
      waitForSuccessTimeoutSeconds: APPLY_TIMEOUT_SECONDS,
      outputLocation: { s3BucketName: bucket.id, s3KeyPrefix: SSM_OUTPUT_PREFIX.replace(/\/$/, "") },
      dependsOn: [...uploads, ...(props.applyDependsOn ?? [])],
    });
  }

  /** A failed run of the association reaches the alarm topic, when there is one. */
  private notifyFailedApplies(): CloudwatchEventRule | undefined {
    const { props } = this;
    const { fleet } = props;
    const bucket = this.bucket.bucket;
    if (!props.applyFailureTopic) return undefined;
    // An event rule, not a metric alarm: State Manager publishes no metric of association runs.
    return notifyOnEvent(this, "apply-failed", {
      name: `${fleet.namePrefix}-apply-failed`,
      description: `A run of ${applyDocumentName(fleet)} on the host failed: the host is not at the rendered state.`,
      eventPattern: applyFailedEventPattern(this.association.associationId),
      topic: props.applyFailureTopic,
      inputPaths: { instance: "$.detail.instance-id", status: "$.detail.status", detail: "$.detail.detailed-status", time: "$.time" },
      message:
        `${fleet.namePrefix}: applying the host files failed on <instance> at <time> (<status> <detail>). ` +
        `Its output is under s3://${bucket.id}/${SSM_OUTPUT_PREFIX} and in the association's history in the SSM console; ` +
        `the next hourly run retries. See ${GUIDE_LINKS.troubleshooting}.`,
    }).rule;
  }

  private validate(props: ArtifactsLayerProps): void {
    const paths = props.files.map((f) => f.path);
    check(this, paths.includes(APPLY_SCRIPT), () => `files has no ${APPLY_SCRIPT}, which the apply document runs`);
    for (const reserved of [HOST_FILES_MANIFEST, HOST_FILES_MODES]) {
      check(this, !paths.includes(reserved), () => `files has ${JSON.stringify(reserved)}, a name reserved for the delivery metadata`);
    }
    const byId = new Map<string, string>();
    for (const path of paths) {
      const other = byId.get(hostFileId(path));
      if (other !== undefined) {
        throw new PropsError(
          this,
          other === path
            ? `files has ${JSON.stringify(path)} twice`
            : `files ${JSON.stringify(other)} and ${JSON.stringify(path)} would both be S3 object ${hostFileId(path)}; rename one`,
        );
      }
      byId.set(hostFileId(path), path);
    }
    checkPattern(this, "applyScript", props.applyScript, /^#!/, "a script (it must start with #!)");
    const declared = new Set<string>(APPLY_DOCUMENT_PARAMETERS);
    for (const [marker, name] of props.applyScript.matchAll(PARAMETER_MARKER)) {
      check(
        this,
        declared.has(name),
        () => `applyScript has ${marker}, which is not a parameter of the apply document (${APPLY_DOCUMENT_PARAMETERS.join(", ")})`,
      );
    }
  }
}

/**
 * The SSM Command document the association runs: its parameters, each checked by pattern
 * before it reaches the shell, and one step that runs `script`.
 */
export function applyDocument(fleet: Fleet, script: string) {
  return {
    schemaVersion: "2.2",
    description: `Bring the ${fleet.namePrefix} code-server host to the rendered state in S3.`,
    parameters: Object.fromEntries(APPLY_DOCUMENT_PARAMETERS.map((name) => [name, { type: "String", ...PARAMETER_RULES[name] }])),
    mainSteps: [
      {
        action: "aws:runShellScript",
        name: "applyHostFiles",
        inputs: { timeoutSeconds: String(APPLY_TIMEOUT_SECONDS), runCommand: script.replace(/\n$/, "").split("\n") },
      },
    ],
  };
}
