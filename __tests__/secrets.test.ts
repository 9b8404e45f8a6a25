/**
 * SecretsLayer: the fleet's customer-managed key and two empty secrets per developer, named so
 * that scripts can find them, recoverable for the longest window AWS allows.
 */
import { KmsAlias } from "@cdktf/provider-aws/lib/kms-alias";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { SecretsmanagerSecret } from "@cdktf/provider-aws/lib/secretsmanager-secret";
import { Testing } from "cdktf";
import { SecretsLayer, type SecretsLayerProps } from "../src/constructs/secrets";
import { secretName } from "../src/naming";
import { defaultFleet, editedFleet } from "./helpers/fleet";
import { refToOnly, synthLayer } from "./helpers/layer";
import { resources } from "./helpers/synth";

const fleet = defaultFleet();
let layer!: SecretsLayer;
const { json, config } = synthLayer((scope) => {
  layer = new SecretsLayer(scope, "secrets", { fleet });
});
const keyArn = refToOnly(config, "aws_kms_key", "arn");

describe("key", () => {
  it("is customer-managed with yearly rotation and the longest deletion window", () => {
    expect(json).toHaveResourceWithProperties(KmsKey, {
      enable_key_rotation: true,
      deletion_window_in_days: 30,
      tags: { Name: "code-server-dev" },
    });
    expect(json).toHaveResourceWithProperties(KmsAlias, {
      name: "alias/code-server-dev",
      target_key_id: refToOnly(config, "aws_kms_key", "key_id"),
    });
  });
});

describe("developer secrets", () => {
  it("are one password and one API-key secret per developer, KMS-encrypted, tagged, recoverable for 30 days", () => {
    expect(resources(config, "aws_secretsmanager_secret")).toHaveLength(2 * fleet.developers.length);
    for (const developer of fleet.developers) {
      for (const kind of ["password", "anthropic-api-key"] as const) {
        expect(json).toHaveResourceWithProperties(SecretsmanagerSecret, {
          name: secretName(fleet, developer, kind),
          kms_key_id: keyArn,
          recovery_window_in_days: 30,
          tags: { developer: developer.name },
        });
      }
    }
    expect([...layer.developerSecrets.keys()]).toEqual(fleet.developers.map((d) => d.name));
  });

  it("are named <project>/<environment>/<developer>/<kind>", () => {
    const acme = editedFleet((r) => {
      r.project = "acme";
      r.environment = "staging";
      r.developers = [{ name: "somchai", port: 9000 }];
    });
    const { config: other } = synthLayer((scope) => new SecretsLayer(scope, "secrets", { fleet: acme }));
    expect(
      resources(other, "aws_secretsmanager_secret")
        .map(([, s]) => s.name)
        .sort(),
    ).toEqual(["acme/staging/somchai/anthropic-api-key", "acme/staging/somchai/password"]);
  });

  it("hold no value: Terraform creates no secret version", () => {
    expect(config.resource.aws_secretsmanager_secret_version).toBeUndefined();
    expect(json).not.toMatch(/secret_string|secret_binary/);
  });

  it("take shorter windows when asked", () => {
    const { json: short } = synthLayer(
      (scope) => new SecretsLayer(scope, "secrets", { fleet, secretRecoveryWindowDays: 7, keyDeletionWindowDays: 7 }),
    );
    expect(short).toHaveResourceWithProperties(SecretsmanagerSecret, { recovery_window_in_days: 7 });
    expect(short).toHaveResourceWithProperties(KmsKey, { deletion_window_in_days: 7 });
  });
});

describe("props validation", () => {
  test.each<[Partial<SecretsLayerProps>, RegExp]>([
    [
      { secretRecoveryWindowDays: 0 },
      /^SecretsLayer stack\/secrets: secretRecoveryWindowDays 0 must be a whole number of days from 7 to 30$/,
    ],
    [
      { secretRecoveryWindowDays: 31 },
      /^SecretsLayer stack\/secrets: secretRecoveryWindowDays 31 must be a whole number of days from 7 to 30$/,
    ],
    [{ keyDeletionWindowDays: 6 }, /^SecretsLayer stack\/secrets: keyDeletionWindowDays 6 must be a whole number of days from 7 to 30$/],
    [
      { keyDeletionWindowDays: 7.5 },
      /^SecretsLayer stack\/secrets: keyDeletionWindowDays 7\.5 must be a whole number of days from 7 to 30$/,
    ],
  ])("refuses %j", (overrides, message) => {
    expect(() => Testing.synthScope((scope) => new SecretsLayer(scope, "secrets", { fleet, ...overrides }))).toThrow(message);
  });
});
