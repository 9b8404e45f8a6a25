/**
 * Artifacts layer: live delivery of the rendered host files (DESIGN.md invariant 1). Each file
 * is an S3 object; an SSM association runs the apply document on the host whenever their
 * content hash changes, so a roster edit reaches the running host with no instance replacement
 * and no change to user_data. The first boot takes the same path.
 */
import { createHash } from "node:crypto";
import type { Instance } from "@cdktf/provider-aws/lib/instance";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { S3Object } from "@cdktf/provider-aws/lib/s3-object";
import { SsmAssociation } from "@cdktf/provider-aws/lib/ssm-association";
import { SsmDocument } from "@cdktf/provider-aws/lib/ssm-document";
import { Fn, type ITerraformDependable } from "cdktf";
import { Construct } from "constructs";
import { FLEET_ENV_KEYS, HOST_FILES_PREFIX, hostPaths } from "../naming";
import type { Fleet } from "../roster";
import { escapeTemplate } from "./expressions";
import { PrivateBucket } from "./private-bucket";

/** A rendered host file (see src/render). */
export interface HostFile {
  readonly path: string;
  readonly content: string;
}

/** Name of the checksum file uploaded beside the host files; its own hash is the association's trigger. */
export const MANIFEST_FILE = "MANIFEST.sha256";
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

/** `sha256sum`-format manifest of the files, sorted by path: `<hex>  <path>` per line. */
export function manifest(files: readonly HostFile[]): string {
  return [...files]
    .sort((a, b) => a.path.localeCompare(b.path))
    .map((f) => `${sha256(f.content)}  ${f.path}\n`)
    .join("");
}

export function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

export interface ArtifactsLayerProps {
  readonly fleet: Fleet;
  readonly key: KmsKey;
  readonly files: readonly HostFile[];
  readonly instance: Instance;
  readonly hostRoleName: string;
  readonly dataVolumeId: string;
  readonly archiveBucketName: string;
  /** Things the first apply needs in place: the data volume attachment, log groups. */
  readonly applyDependsOn: ITerraformDependable[];
}

export class ArtifactsLayer extends Construct {
  readonly bucket: PrivateBucket;
  readonly document: SsmDocument;
  readonly association: SsmAssociation;
  /** sha256 of the manifest: changes exactly when a host file changes. */
  readonly contentHash: string;

  constructor(scope: Construct, id: string, props: ArtifactsLayerProps) {
    super(scope, id);
    const { fleet } = props;

    this.bucket = new PrivateBucket(this, "bucket", {
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
    });
    const bucket = this.bucket.bucket;

    const manifestText = manifest(props.files);
    this.contentHash = sha256(manifestText);
    const objects = [...props.files, { path: MANIFEST_FILE, content: manifestText }].map(
      (file) =>
        new S3Object(this, `file-${file.path.replace(/\//g, "--")}`, {
          bucket: bucket.id,
          key: `${HOST_FILES_PREFIX}${file.path}`,
          content: escapeTemplate(file.content),
          contentType: "text/plain; charset=utf-8",
        }),
    );

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

    this.document = new SsmDocument(this, "apply-document", {
      name: `${fleet.namePrefix}-apply-host-files`,
      documentType: "Command",
      documentFormat: "JSON",
      content: escapeTemplate(JSON.stringify(applyDocument(fleet))),
    });

    this.association = new SsmAssociation(this, "apply", {
      associationName: `${fleet.namePrefix}-apply-host-files`,
      name: this.document.name,
      targets: [{ key: "InstanceIds", values: [props.instance.id] }],
      parameters: {
        hostFilesHash: this.contentHash,
        artifactBucket: bucket.id,
        archiveBucket: props.archiveBucketName,
        dataVolumeId: props.dataVolumeId,
        region: fleet.region,
      },
      scheduleExpression: REAPPLY_SCHEDULE,
      complianceSeverity: "HIGH",
      maxConcurrency: "1",
      maxErrors: "0",
      // Deploys fail loudly when the host cannot reach the rendered state.
      waitForSuccessTimeoutSeconds: APPLY_TIMEOUT_SECONDS,
      outputLocation: { s3BucketName: bucket.id, s3KeyPrefix: SSM_OUTPUT_PREFIX.replace(/\/$/, "") },
      dependsOn: [...objects, ...props.applyDependsOn],
    });
  }
}

/**
 * The SSM Command document the association runs. Parameters are checked by pattern before they
 * reach the shell. It records the deploy-time values, syncs the host files into a staging
 * directory, checks them against the manifest and the expected hash, swaps them in and runs
 * `scripts/apply.sh`.
 */
export function applyDocument(fleet: Fleet) {
  const paths = hostPaths(fleet);
  const env = FLEET_ENV_KEYS;
  return {
    schemaVersion: "2.2",
    description: `Bring the ${fleet.namePrefix} code-server host to the rendered state in S3.`,
    parameters: {
      hostFilesHash: { type: "String", description: "sha256 of the host files manifest", allowedPattern: "^[0-9a-f]{64}$" },
      artifactBucket: {
        type: "String",
        description: "Bucket holding the host files",
        allowedPattern: "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
      },
      archiveBucket: {
        type: "String",
        description: "Bucket for archived workspaces",
        allowedPattern: "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
      },
      dataVolumeId: { type: "String", description: "EBS id of the data volume", allowedPattern: "^vol-[0-9a-f]{8,17}$" },
      region: { type: "String", description: "AWS region", allowedPattern: "^[a-z]{2}(-gov)?-[a-z]+-[0-9]$" },
    },
    mainSteps: [
      {
        action: "aws:runShellScript",
        name: "applyHostFiles",
        inputs: { timeoutSeconds: String(APPLY_TIMEOUT_SECONDS), runCommand: applyCommand(paths, env) },
      },
    ],
  };
}

function applyCommand(paths: ReturnType<typeof hostPaths>, env: typeof FLEET_ENV_KEYS): string[] {
  const etc = paths.fleetEnv.replace(/\/[^/]+$/, "");
  return [
    "#!/bin/bash",
    "set -euo pipefail",
    `install -d -m 0755 ${etc}`,
    `printf '%s\\n' '${env.region}={{ region }}' '${env.dataVolumeId}={{ dataVolumeId }}' '${env.artifactBucket}={{ artifactBucket }}' '${env.archiveBucket}={{ archiveBucket }}' '${env.hostFilesHash}={{ hostFilesHash }}' > ${paths.fleetEnv}.new`,
    `mv ${paths.fleetEnv}.new ${paths.fleetEnv}`,
    "if ! command -v aws >/dev/null 2>&1; then",
    "  snap install aws-cli --classic || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q awscli; }",
    "fi",
    `staging=$(mktemp -d ${paths.root}.staging.XXXXXX)`,
    `trap 'rm -rf "$staging"' EXIT`,
    `aws s3 sync --only-show-errors --delete --region '{{ region }}' 's3://{{ artifactBucket }}/${HOST_FILES_PREFIX}' "$staging/"`,
    `cd "$staging"`,
    `if [ "$(sha256sum ${MANIFEST_FILE} | cut -d' ' -f1)" != '{{ hostFilesHash }}' ]; then echo "host files in S3 are not the expected version {{ hostFilesHash }}" >&2; exit 1; fi`,
    `sha256sum --check --quiet --strict ${MANIFEST_FILE}`,
    `chmod -R u=rwX,go=rX "$staging"`,
    `find "$staging" -name '*.sh' -exec chmod 0755 {} +`,
    `rm -rf ${paths.root}.previous`,
    `if [ -d ${paths.root} ]; then mv ${paths.root} ${paths.root}.previous; fi`,
    `mv "$staging" ${paths.root}`,
    "trap - EXIT",
    `exec bash ${paths.root}/scripts/apply.sh`,
  ];
}
