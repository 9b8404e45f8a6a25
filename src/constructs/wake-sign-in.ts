/**
 * With a company sign-in, what the wake function needs to sign a visitor in as the developer's
 * sleeping gate would (src/lambdas/wake/sign-in.ts): each developer's binding as an SSM parameter
 * (their email or subject: no secret), the settings that name the secrets, and the right to read
 * the fleet's client secret, the developers' cookie keys and those parameters, nothing else.
 */
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import type { SecretsmanagerSecret } from "@cdktf/provider-aws/lib/secretsmanager-secret";
import { SsmParameter } from "@cdktf/provider-aws/lib/ssm-parameter";
import { Construct } from "constructs";
import { DEVELOPER_PLACEHOLDER, oidcClientSecretName, secretName, signInBindingName } from "../naming";
import type { Fleet } from "../roster";
import { AwsEnvironment } from "./aws-environment";
import type { PolicyStatement } from "./node-lambda";
import { check, PropsError } from "./validation";

export interface WakeSignInProps {
  /** A fleet whose auth is `oidc`. */
  readonly fleet: Fleet;
  /** The fleet's client secret at the identity provider. */
  readonly clientSecret: SecretsmanagerSecret;
  /** The key the secrets are encrypted with. */
  readonly key: KmsKey;
}

export class WakeSignIn extends Construct {
  /** The wake function's SIGN_IN variable. */
  readonly environment: Readonly<Record<string, string>>;
  readonly statements: readonly PolicyStatement[];

  constructor(scope: Construct, id: string, props: WakeSignInProps) {
    super(scope, id);
    const { fleet, clientSecret, key } = props;
    const auth = fleet.auth;
    if (auth.type !== "oidc") throw new PropsError(this, "a sign-in for the wake function needs auth.type oidc");
    for (const developer of fleet.developers) {
      check(this, developer.identity !== undefined, () => `developer ${developer.name} has no identity, which auth.type oidc requires`);
      new SsmParameter(this, `binding-${developer.name}`, {
        name: signInBindingName(fleet, developer),
        type: "String",
        value: JSON.stringify(developer.identity),
        description: `Whom ${developer.name}'s address admits; read by the wake function while they sleep`,
        tags: { developer: developer.name },
      });
    }
    const placeholder = { name: DEVELOPER_PLACEHOLDER };
    this.environment = {
      SIGN_IN: JSON.stringify({
        issuer: auth.issuer,
        clientId: auth.clientId,
        clientSecretId: oidcClientSecretName(fleet),
        cookieKeyId: secretName(fleet, placeholder, "gate-cookie-key"),
        bindingName: signInBindingName(fleet, placeholder),
        ...(auth.maxSessionSeconds === undefined ? {} : { maxSessionSeconds: auth.maxSessionSeconds }),
      }),
    };
    this.statements = this.permissions(fleet, clientSecret, key);
  }

  private permissions(fleet: Fleet, clientSecret: SecretsmanagerSecret, key: KmsKey): PolicyStatement[] {
    const aws = AwsEnvironment.of(this);
    const cookieKeys = aws.arn({
      service: "secretsmanager",
      resource: `secret:${secretName(fleet, { name: "*" }, "gate-cookie-key")}-??????`,
    });
    return [
      { Sid: "ReadsTheSignInSecrets", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: [clientSecret.arn, cookieKeys] },
      {
        Sid: "DecryptsTheSignInSecrets",
        Effect: "Allow",
        Action: "kms:Decrypt",
        Resource: key.arn,
        Condition: { StringEquals: { "kms:ViaService": aws.serviceEndpoint("secretsmanager") } },
      },
      {
        Sid: "ReadsTheDevelopersBindings",
        Effect: "Allow",
        Action: "ssm:GetParameter",
        Resource: aws.arn({ service: "ssm", resource: `parameter${signInBindingName(fleet, { name: "*" })}` }),
      },
    ];
  }
}
