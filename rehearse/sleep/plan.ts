/**
 * Terraform's plan of the leg's roster against its deployment as the sleeper and the wake left
 * it, offline: the plan tests' fabricated deployment of the synthesized stack, with each
 * developer's rule forwarding where the stand-in's rule does and each alarm's actions as the
 * stand-in holds them. Run as a child process (`node --import tsx rehearse/sleep/plan.ts
 * <input.json>`): Terraform's plans run synchronously, and the leg's servers must keep answering.
 * Prints {"selfPlanned": [...], "afterSleepAndWake": [...]}: the addresses each plan changes.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { TerraformState } from "../../src/terraform/fabricate-state";
import { findTerraform } from "../../src/terraform/offline";
import { OfflinePlanner } from "../../src/terraform/plan-against-state";
import { PROJECT_ROOT } from "../lib/layout";
import { stackConfigOf } from "../rosters";

export interface PlanInput {
  readonly outdir: string;
  readonly region: string;
  /** By listener rule resource name: whether the stand-in's rule forwards to the wake group. */
  readonly asleep: Readonly<Record<string, boolean>>;
  /** By alarm name: whether the stand-in's alarm has its actions on. */
  readonly actionsEnabled: Readonly<Record<string, boolean>>;
  /** The wake target group's resource name. */
  readonly wakeGroup: string;
}

type Attributes = Record<string, unknown>;
type ForwardRule = { action: { forward: { target_group: { arn: string; weight: number }[] }[] }[] };

/** `state` with the rules and alarms as the stand-in holds them; throws when one is missing. */
export function asTheStandInHoldsIt(state: TerraformState, input: PlanInput): TerraformState {
  const copy = structuredClone(state);
  const attributesOf = (type: string, name: string) =>
    copy.resources.find((r) => r.type === type && r.name === name)?.instances[0]?.attributes as Attributes | undefined;
  const wakeArn = attributesOf("aws_lb_target_group", input.wakeGroup)?.arn;
  if (typeof wakeArn !== "string") throw new Error(`the fabricated state has no aws_lb_target_group.${input.wakeGroup}`);
  for (const [name, asleep] of Object.entries(input.asleep)) {
    const rule = attributesOf("aws_lb_listener_rule", name) as unknown as ForwardRule | undefined;
    if (!rule) throw new Error(`the fabricated state has no aws_lb_listener_rule.${name}`);
    for (const group of rule.action[0].forward[0].target_group) group.weight = (group.arn === wakeArn) === asleep ? 1 : 0;
  }
  const alarms = copy.resources.filter((r) => r.type === "aws_cloudwatch_metric_alarm");
  for (const [alarmName, enabled] of Object.entries(input.actionsEnabled)) {
    const alarm = alarms.find((r) => r.instances[0].attributes.alarm_name === alarmName);
    if (!alarm) throw new Error(`the fabricated state has no alarm ${alarmName}`);
    (alarm.instances[0].attributes as Attributes).actions_enabled = enabled;
  }
  return copy;
}

function main(inputFile: string): void {
  const input = JSON.parse(readFileSync(inputFile, "utf8")) as PlanInput;
  const terraform = findTerraform();
  if (!terraform) throw new Error("terraform is not on PATH");
  const config = stackConfigOf(input.outdir);
  const planner = new OfflinePlanner({
    terraform,
    tfvars: readFileSync(join(PROJECT_ROOT, "terraform.tfvars.example"), "utf8"),
    region: input.region,
    cacheDir: join(PROJECT_ROOT, ".build", "terraform"),
  });
  try {
    const deployed = planner.deployment(config);
    const after = planner.plannedChanges(config, asTheStandInHoldsIt(deployed.state, input));
    const listed = (changes: ReadonlyMap<string, { action: string }>) => [...changes].map(([address, c]) => `${c.action} ${address}`);
    console.log(JSON.stringify({ selfPlanned: listed(deployed.selfPlanned), afterSleepAndWake: listed(after) }));
  } finally {
    planner.dispose();
  }
}

if (require.main === module) main(process.argv[2]);
