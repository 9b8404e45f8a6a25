/**
 * Secrets layer: the fleet's customer-managed KMS key and, per developer, two empty Secrets
 * Manager secrets (code-server password, Anthropic API key). Terraform never sees a value:
 * the host fills a missing password on first use, operators set API keys with
 * `scripts/set-api-key.sh`.
 */
import { KmsAlias } from "@cdktf/provider-aws/lib/kms-alias";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { SecretsmanagerSecret } from "@cdktf/provider-aws/lib/secretsmanager-secret";
import { Construct } from "constructs";
import { type SecretKind, developerConstructIds, oidcClientSecretName, secretName } from "../naming";
import type { Fleet } from "../roster";
import { checkWholeRange } from "./validation";

/** The longest recovery and deletion windows AWS allows, in days: removing something loses nothing at once. */
const MAX_WINDOW_DAYS = 30;
/** The shortest, in days (Secrets Manager and KMS alike). */
const MIN_WINDOW_DAYS = 7;

export interface DeveloperSecrets {
  readonly password: SecretsmanagerSecret;
  readonly apiKey: SecretsmanagerSecret;
  /** The key the developer's sign-in gate seals its cookies with, when the fleet signs in with OpenID Connect. */
  readonly gateCookieKey?: SecretsmanagerSecret;
}

export interface SecretsLayerProps {
  /** The roster: two secrets per developer, named by `secretName`. */
  readonly fleet: Fleet;
  /**
   * Days a deleted secret (a removed developer's) can still be restored, 7 to 30.
   * @default 30
   */
  readonly secretRecoveryWindowDays?: number;
  /**
   * Days between scheduling the key's deletion and its deletion, 7 to 30.
   * @default 30
   */
  readonly keyDeletionWindowDays?: number;
}

export class SecretsLayer extends Construct {
  /** Encrypts secrets, log groups, EBS volumes, the SNS topic, the backup vault and the archive bucket. */
  readonly key: KmsKey;
  /** Keyed by developer name. */
  readonly developerSecrets: ReadonlyMap<string, DeveloperSecrets>;
  /** The identity provider's client secret, when the fleet signs in with OpenID Connect; set-oidc-client-secret.sh fills it. */
  readonly oidcClientSecret?: SecretsmanagerSecret;

  constructor(scope: Construct, id: string, props: SecretsLayerProps) {
    super(scope, id);
    const { fleet } = props;
    const secretRecoveryWindowDays = props.secretRecoveryWindowDays ?? MAX_WINDOW_DAYS;
    const keyDeletionWindowDays = props.keyDeletionWindowDays ?? MAX_WINDOW_DAYS;
    checkWholeRange(this, "secretRecoveryWindowDays", secretRecoveryWindowDays, MIN_WINDOW_DAYS, MAX_WINDOW_DAYS, "days");
    checkWholeRange(this, "keyDeletionWindowDays", keyDeletionWindowDays, MIN_WINDOW_DAYS, MAX_WINDOW_DAYS, "days");

    this.key = new KmsKey(this, "key", {
      description: `${fleet.namePrefix}: secrets, logs, volumes, alarms and backups of the code-server fleet`,
      enableKeyRotation: true,
      deletionWindowInDays: keyDeletionWindowDays,
      tags: { Name: fleet.namePrefix },
    });
    new KmsAlias(this, "key-alias", { name: `alias/${fleet.namePrefix}`, targetKeyId: this.key.keyId });

    const oidc = fleet.auth.type === "oidc";
    if (oidc) {
      this.oidcClientSecret = new SecretsmanagerSecret(this, "oidc-client-secret", {
        name: oidcClientSecretName(fleet),
        description: `Client secret of ${fleet.namePrefix} at the identity provider (${fleet.auth.issuer}). Set with scripts/set-oidc-client-secret.sh.`,
        kmsKeyId: this.key.arn,
        recoveryWindowInDays: secretRecoveryWindowDays,
      });
    }
    const secrets = new Map<string, DeveloperSecrets>();
    for (const developer of fleet.developers) {
      const secret = (kind: SecretKind, description: string) =>
        new SecretsmanagerSecret(this, developerConstructIds(developer).secrets[kind], {
          name: secretName(fleet, developer, kind),
          description,
          kmsKeyId: this.key.arn,
          recoveryWindowInDays: secretRecoveryWindowDays,
          tags: { developer: developer.name },
        });
      secrets.set(developer.name, {
        password: secret(
          "password",
          `code-server password of ${developer.name}. Empty until the host generates it; rotate with scripts/rotate-password.sh.`,
        ),
        apiKey: secret(
          "anthropic-api-key",
          `Anthropic API key of ${developer.name}. Set with scripts/set-api-key.sh; rotate every 90 days.`,
        ),
        ...(oidc
          ? {
              gateCookieKey: secret(
                "gate-cookie-key",
                `Key the sign-in gate of ${developer.name} seals its cookies with. Generated; a new value signs everyone out of this workspace.`,
              ),
            }
          : {}),
      });
    }
    this.developerSecrets = secrets;
  }
}
