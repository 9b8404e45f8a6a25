/**
 * What the sleeper and the wake functions may do: exactly the calls of src/lambdas/sleep-wake on
 * the fleet's own listener rules, alarms, ECS services and host. The describe calls ELB, EC2 and
 * SSM offer take no resource (IAM accepts only "*" for them).
 */
import type { Instance } from "@cdktf/provider-aws/lib/instance";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import type { SsmDocument } from "@cdktf/provider-aws/lib/ssm-document";
import type { Construct } from "constructs";
import type { Fleet } from "../roster";
import { AwsEnvironment } from "./aws-environment";
import type { PolicyStatement } from "./node-lambda";

/** What the functions act on. */
export interface SleepTargets {
  readonly fleet: Pick<Fleet, "namePrefix">;
  /** Names of the load balancers whose listener rules route the developers. */
  readonly loadBalancerNames: readonly string[];
  /** The host, when the developers run on it, and the document that runs the host scripts on it. */
  readonly host?: { readonly instance: Instance; readonly scriptDocument: SsmDocument };
  /** The key of the host's encrypted volumes (a start makes EC2 create a grant on it). */
  readonly key: KmsKey;
}

function routing(scope: Construct, targets: SleepTargets): PolicyStatement[] {
  const aws = AwsEnvironment.of(scope);
  return [
    {
      Sid: "ReadsTheRulesAndTargets",
      Effect: "Allow",
      Action: ["elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetHealth"],
      Resource: "*",
    },
    {
      Sid: "FlipsTheDevelopersRules",
      Effect: "Allow",
      Action: "elasticloadbalancing:ModifyRule",
      Resource: targets.loadBalancerNames.map((name) =>
        aws.arn({ service: "elasticloadbalancing", resource: `listener-rule/app/${name}/*` }),
      ),
    },
    {
      Sid: "QuietsAndWakesTheFleetsAlarms",
      Effect: "Allow",
      Action: ["cloudwatch:DescribeAlarms", "cloudwatch:DisableAlarmActions", "cloudwatch:EnableAlarmActions"],
      Resource: aws.arn({ service: "cloudwatch", resource: `alarm:${targets.fleet.namePrefix}-*` }),
    },
  ];
}

function host(
  scope: Construct,
  targets: SleepTargets,
  { instance, scriptDocument }: NonNullable<SleepTargets["host"]>,
  role: "wake" | "sleeper",
): PolicyStatement[] {
  const aws = AwsEnvironment.of(scope);
  const instanceArn = aws.arn({ service: "ec2", resource: `instance/${instance.id}` });
  const statements: PolicyStatement[] = [
    {
      Sid: "ReadsTheHostAndItsCommands",
      Effect: "Allow",
      Action: ["ec2:DescribeInstances", "ssm:DescribeInstanceInformation", "ssm:ListCommands", "ssm:GetCommandInvocation"],
      Resource: "*",
    },
    {
      Sid: "RunsTheHostScriptsOnTheHost",
      Effect: "Allow",
      Action: "ssm:SendCommand",
      Resource: [instanceArn, scriptDocument.arn],
    },
  ];
  if (role === "sleeper") {
    statements.push({ Sid: "StopsTheHost", Effect: "Allow", Action: "ec2:StopInstances", Resource: instanceArn });
  } else {
    statements.push(
      { Sid: "StartsTheHost", Effect: "Allow", Action: "ec2:StartInstances", Resource: instanceArn },
      {
        // EC2 attaches the host's encrypted volumes at start only if the caller may have it create a grant on their key.
        Sid: "StartsTheHostWithItsEncryptedVolumes",
        Effect: "Allow",
        Action: "kms:CreateGrant",
        Resource: targets.key.arn,
        Condition: { Bool: { "kms:GrantIsForAWSResource": "true" } },
      },
    );
  }
  return statements;
}

function ecs(scope: Construct, targets: SleepTargets): PolicyStatement[] {
  const aws = AwsEnvironment.of(scope);
  return [
    {
      Sid: "ReadsAndScalesTheDevelopersServices",
      Effect: "Allow",
      Action: ["ecs:DescribeServices", "ecs:UpdateService"],
      Resource: aws.arn({ service: "ecs", resource: `service/${targets.fleet.namePrefix}/*` }),
    },
  ];
}

/** The statements of the wake or the sleeper function. */
export function sleepStatements(scope: Construct, targets: SleepTargets, role: "wake" | "sleeper"): PolicyStatement[] {
  return [...routing(scope, targets), ...(targets.host ? host(scope, targets, targets.host, role) : ecs(scope, targets))];
}
