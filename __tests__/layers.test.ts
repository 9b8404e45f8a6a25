/**
 * Layer-level tests with Testing.synthScope: each layer on its own, for roster variations the
 * default stack does not exercise (more zones, Graviton, older regions, S3 state).
 */
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { Subnet } from "@cdktf/provider-aws/lib/subnet";
import { Testing } from "cdktf";
import { stackProps } from "../src/app";
import { accessLogPrincipal } from "../src/modules/alb";
import { ComputeLayer } from "../src/modules/compute";
import { EnvironmentInputs, VARIABLES } from "../src/modules/inputs";
import { NetworkLayer } from "../src/modules/network";
import { SecretsLayer } from "../src/modules/secrets";
import { DevEnvironmentStack } from "../src/stacks/dev-environment-stack";
import { editedFleet } from "./helpers/fleet";
import type { Config } from "./helpers/synth";

const parse = (json: string) => JSON.parse(json);

describe("EnvironmentInputs", () => {
  const config = parse(Testing.synthScope((scope) => new EnvironmentInputs(scope, "inputs")));

  it("declares every plan-time variable with a type and a description, and no other", () => {
    expect(Object.keys(config.variable).sort()).toEqual(Object.keys(VARIABLES).sort());
    for (const [name, v] of Object.entries<Config>(config.variable)) {
      expect([name, typeof v.type, v.description?.length > 20, v.nullable]).toEqual([name, "string", true, false]);
    }
  });

  it("requires only the values that have no sensible default: the hosted zone and the alarm e-mails", () => {
    const required = Object.entries<Config>(config.variable)
      .filter(([, v]) => !("default" in v))
      .map(([n]) => n);
    expect(required.sort()).toEqual(["alarm_emails", "hosted_zone_id"]);
  });
});

describe("NetworkLayer", () => {
  it("makes one public subnet per roster zone, keyed by zone", () => {
    const fleet = editedFleet((r) => (r.availabilityZones = ["ap-southeast-7a", "ap-southeast-7b", "ap-southeast-7c"]));
    const config = parse(
      Testing.synthScope((scope) => new NetworkLayer(scope, "network", { fleet, vpcCidr: "10.0.0.0/16", adminCidrs: [] })),
    );
    const subnets = Object.values<Config>(config.resource.aws_subnet);
    expect(subnets.map((s) => [s.availability_zone, s.cidr_block])).toEqual([
      ["ap-southeast-7a", '${cidrsubnet("10.0.0.0/16", 4, 0)}'],
      ["ap-southeast-7b", '${cidrsubnet("10.0.0.0/16", 4, 1)}'],
      ["ap-southeast-7c", '${cidrsubnet("10.0.0.0/16", 4, 2)}'],
    ]);
    expect(subnets.every((s) => s.map_public_ip_on_launch === false)).toBe(true);
  });
});

describe("SecretsLayer", () => {
  it("names secrets <project>/<environment>/<developer>/<kind>", () => {
    const fleet = editedFleet((r) => {
      r.project = "acme";
      r.environment = "staging";
      r.developers = [{ name: "somchai", port: 9000 }];
    });
    const config = parse(Testing.synthScope((scope) => new SecretsLayer(scope, "secrets", { fleet })));
    expect(
      Object.values<Config>(config.resource.aws_secretsmanager_secret)
        .map((s) => s.name)
        .sort(),
    ).toEqual(["acme/staging/somchai/anthropic-api-key", "acme/staging/somchai/password"]);
    expect(Object.values<Config>(config.resource.aws_kms_alias)[0].name).toBe("alias/acme-staging");
  });
});

describe("ComputeLayer", () => {
  const compute = (instanceType: string) => {
    const fleet = editedFleet((r) => {
      r.host = { instanceType };
      r.developers = r.developers.slice(0, 2);
    });
    return parse(
      Testing.synthScope((scope) => {
        const subnet = new Subnet(scope, "subnet", { vpcId: "vpc-1", cidrBlock: "10.0.0.0/24" });
        const sg = new SecurityGroup(scope, "sg", {});
        const key = new KmsKey(scope, "key", {});
        new ComputeLayer(scope, "compute", {
          fleet,
          subnet,
          securityGroup: sg,
          key,
          amiId: "",
          dataVolumeSizeGb: 500,
          terminationProtection: true,
          userData: "#!/bin/sh\n",
          alarmTopicArn: "arn:aws:sns:ap-southeast-7:123456789012:alarms",
        });
      }),
    );
  };

  it("looks up the arm64 Ubuntu image for a Graviton host and sets no CPU credits on a non-burstable one", () => {
    const config = compute("m7g.2xlarge");
    expect(Object.values<Config>(config.data.aws_ssm_parameter)[0].name).toContain("/current/arm64/hvm/");
    expect(Object.values<Config>(config.resource.aws_instance)[0].credit_specification).toBeUndefined();
  });

  it("sets unlimited CPU credits on a burstable host so reservations hold", () => {
    expect(Object.values<Config>(compute("t3a.2xlarge").resource.aws_instance)[0].credit_specification).toEqual({
      cpu_credits: "unlimited",
    });
  });
});

describe("ALB access-log principal", () => {
  it("is the ELB account in regions older than August 2022 and the log-delivery service in newer ones", () => {
    expect(accessLogPrincipal("ap-southeast-1")).toEqual({ AWS: "arn:aws:iam::114774131450:root" });
    expect(accessLogPrincipal("ap-southeast-7")).toEqual({ Service: "logdelivery.elasticloadbalancing.amazonaws.com" });
  });
});

describe("state backend", () => {
  it("keeps local state in the project root, outside cdktf.out", () => {
    const stack = new DevEnvironmentStack(Testing.app(), "stack", stackProps(editedFleet(() => undefined)));
    expect(JSON.parse(Testing.synth(stack)).terraform.backend).toEqual({ local: { path: "../../../terraform.code-server-dev.tfstate" } });
  });

  it("uses an encrypted S3 backend with S3-native locking and no DynamoDB table when the roster asks", () => {
    const fleet = editedFleet((r) => (r.state = { backend: "s3", bucket: "acme-tfstate" }));
    const backend = JSON.parse(Testing.synth(new DevEnvironmentStack(Testing.app(), "stack", stackProps(fleet)))).terraform.backend;
    expect(backend).toEqual({
      s3: { bucket: "acme-tfstate", key: "code-server/dev/terraform.tfstate", region: "ap-southeast-7", encrypt: true, use_lockfile: true },
    });
  });
});
