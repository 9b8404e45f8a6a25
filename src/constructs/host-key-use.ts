/**
 * How the host may use the fleet key, in one place for the host role's IAM policy and the key
 * policy, which must agree: only through the services that keep the host's data encrypted with
 * it (`kms:ViaService`), and directly only to decrypt the data key of a Session Manager session
 * opened on the host itself (the SSM agent calls KMS itself, so no service is in between).
 *
 * The services, and why each one:
 * - Secrets Manager: reading the developers' secrets (Decrypt) and writing a generated password
 *   (GenerateDataKey).
 * - S3: reading the host files and writing the apply output in the host-files bucket, writing and
 *   reading back workspace archives in the archive bucket (both SSE-KMS with this key; multipart
 *   uploads need Decrypt too).
 * Not EC2: the host's one EC2 call on encrypted data is CreateSnapshot of the data volume, which
 * keeps the volume's own data key; CloudWatch Logs encrypts log events under its own grant in
 * the key policy, so writing logs needs nothing from the host's role.
 */
import type { AwsEnvironment } from "./aws-environment";

/** Services the host may use the fleet key through. */
export const HOST_KEY_SERVICES = ["secretsmanager", "s3"] as const;

/** Session Manager's encryption context key naming the node a session runs on. */
export const SESSION_TARGET_CONTEXT = "kms:EncryptionContext:aws:ssm:TargetId";

export interface HostKeyStatementsOptions {
  /** The stack's environment: the region of the service endpoints. */
  readonly aws: AwsEnvironment;
  /** `Resource` of the statements: the key's ARN in an IAM policy, `*` in the key policy. */
  readonly resource: string;
  /** The host's instance id: the only session target whose data keys it may decrypt. */
  readonly instanceId: string;
  /** Added to each statement: the host role's ARN, in the key policy. */
  readonly principal?: { readonly AWS: string };
}

/** The statements that allow the host's use of the fleet key, and nothing else. */
export function hostKeyStatements(options: HostKeyStatementsOptions): object[] {
  const { aws, resource, instanceId, principal } = options;
  const who = principal ? { Principal: principal } : {};
  return [
    {
      Sid: "HostUsesFleetKeyThroughServices",
      Effect: "Allow",
      ...who,
      Action: ["kms:Decrypt", "kms:GenerateDataKey"],
      Resource: resource,
      Condition: { StringEquals: { "kms:ViaService": HOST_KEY_SERVICES.map((service) => aws.serviceEndpoint(service)) } },
    },
    {
      Sid: "HostDecryptsItsSessionKeys",
      Effect: "Allow",
      ...who,
      Action: "kms:Decrypt",
      Resource: resource,
      Condition: { StringEquals: { [SESSION_TARGET_CONTEXT]: instanceId } },
    },
  ];
}
