/**
 * Sleep when idle in Terraform's own plans, offline: after the sleeper and the wake have flipped
 * developers' listener rules (their weights in the deployed state), a plan of the unchanged
 * configuration changes nothing (on ECS also after their services went to 0 tasks and their
 * alarms quiet); and turning sleep on updates each developer's rule in place, which the review
 * names as something that developer notices.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { synthInto } from "../../src/app";
import { impactsOf } from "../../src/review/impacts";
import { parseRoster } from "../../src/roster";
import type { TerraformState } from "../../src/terraform/fabricate-state";
import { OfflinePlanner } from "../../src/terraform/plan-against-state";
import type { TerraformJson } from "../../src/terraform/plan-json";
import { DEFAULT_ROSTER_TEXT, PROJECT_ROOT } from "../helpers/fleet";
import { sleepingAlarmNamesOf } from "../helpers/synth";
import { terraformOrSkip } from "../helpers/terraform";

const terraform = terraformOrSkip();
const maybe = terraform ? describe : describe.skip;
const TFVARS = readFileSync(join(PROJECT_ROOT, "terraform.tfvars.example"), "utf8");

type Group = { arn: string; weight: number };
type RuleAttributes = { action: { forward: { target_group: Group[] }[] }[] };

/** `state` with every developer's rule flipped to the wake group, as the sleeper leaves it. */
function asleep(state: TerraformState): TerraformState {
  const copy = JSON.parse(JSON.stringify(state)) as TerraformState;
  const rules = copy.resources.filter((r) => r.type === "aws_lb_listener_rule");
  expect(rules.length).toBeGreaterThan(0);
  for (const rule of rules) {
    const attributes = rule.instances[0].attributes as unknown as RuleAttributes;
    const groups = attributes.action[0].forward[0].target_group;
    expect(groups.map((g) => g.weight).sort()).toEqual([0, 1]);
    for (const group of groups) group.weight = 1 - group.weight;
  }
  return copy;
}

/**
 * `state` as the sleeper and the schedule leave an ECS deployment at run time: besides the rules,
 * every service at 0 tasks and every alarm that sleeps with its developer or the schedule quiet.
 */
function asleepOnEcs(state: TerraformState, sleepingAlarms: readonly string[]): TerraformState {
  const copy = asleep(state);
  const services = copy.resources.filter((r) => r.type === "aws_ecs_service");
  const alarms = copy.resources.filter(
    (r) => r.type === "aws_cloudwatch_metric_alarm" && sleepingAlarms.includes(r.instances[0].attributes.alarm_name as string),
  );
  expect(services.length).toBeGreaterThan(0);
  expect(alarms.map((a) => a.instances[0].attributes.alarm_name).sort()).toEqual([...sleepingAlarms].sort());
  for (const service of services) {
    expect(service.instances[0].attributes.desired_count).toBe(1);
    (service.instances[0].attributes as Record<string, unknown>).desired_count = 0;
  }
  for (const alarm of alarms) {
    expect(alarm.instances[0].attributes.actions_enabled).toBe(true);
    (alarm.instances[0].attributes as Record<string, unknown>).actions_enabled = false;
  }
  return copy;
}

maybe("a deployment that sleeps when idle", () => {
  const out = mkdtempSync(join(tmpdir(), "sleep-plans-"));
  const synth = (text: string, dir: string) => {
    const fleet = parseRoster(text);
    const { stackDir } = synthInto(fleet, join(out, dir));
    return { fleet, config: JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8")) as TerraformJson };
  };
  const sleepText = stringify({ ...(parse(DEFAULT_ROSTER_TEXT) as object), sleep: { idleMinutes: 30 } });
  let planner: OfflinePlanner;
  beforeAll(() => {
    planner = new OfflinePlanner({
      terraform: terraform!,
      tfvars: TFVARS,
      region: "ap-southeast-7",
      cacheDir: join(PROJECT_ROOT, ".build", "terraform"),
    });
  });
  afterAll(() => {
    planner?.dispose();
    rmSync(out, { recursive: true, force: true });
  });

  it("plans no change to any rule after everyone has slept, as after a wake", () => {
    const { config } = synth(sleepText, "sleep");
    const deployed = planner.deployment(config);
    const rulesIn = (changes: ReadonlyMap<string, unknown>) => [...changes.keys()].filter((a) => a.startsWith("aws_lb_listener_rule."));
    expect(rulesIn(deployed.selfPlanned)).toEqual([]);
    const slept = asleep(deployed.state);
    expect(Object.fromEntries(planner.plannedChanges(config, slept))).toEqual(Object.fromEntries(deployed.selfPlanned));
    expect(Object.fromEntries(planner.plannedChanges(config, asleep(slept)))).toEqual(Object.fromEntries(deployed.selfPlanned));
  });

  it("plans no change on ECS after everyone has slept: rules at the wake page, services at 0 tasks, alarms quiet", () => {
    const roster = parse(sleepText) as Record<string, unknown>;
    delete roster.host;
    const { fleet, config } = synth(stringify({ ...roster, platform: "ecs" }), "ecs-sleep");
    const deployed = planner.deployment(config);
    const slept = asleepOnEcs(deployed.state, sleepingAlarmNamesOf(fleet));
    expect(Object.fromEntries(planner.plannedChanges(config, slept))).toEqual(Object.fromEntries(deployed.selfPlanned));
  });

  it("updates each developer's rule in place when sleep is turned on, and the review says what each developer will notice", () => {
    const base = synth(DEFAULT_ROSTER_TEXT, "base");
    const next = synth(sleepText, "next");
    const state = planner.deployedState(base.config);
    const { plan } = planner.plan(next.config, state);
    const rules = (plan.resource_changes ?? []).filter((c) => c.type === "aws_lb_listener_rule");
    expect(rules.map((c) => c.change.actions)).toEqual(next.fleet.developers.map(() => ["update"]));
    const changes = rules.map((c) => ({
      address: c.address,
      resource: c.address,
      type: c.type,
      layer: "alb",
      developer: next.fleet.developers.find((d) => c.address.endsWith(`rule-${d.name}`))!.name,
      action: "update" as const,
      createFirst: false,
      forcedBy: [],
      attributes: [],
      alsoWithoutTheChange: false,
    }));
    const impacts = impactsOf(changes, plan, []);
    expect(impacts.map((i) => i.developer)).toEqual(next.fleet.developers.map((d) => d.name));
    for (const impact of impacts)
      expect(impact.notice).toMatch(/now sleeps .* opening their URL while it sleeps shows a page that starts it/);
  });
});
