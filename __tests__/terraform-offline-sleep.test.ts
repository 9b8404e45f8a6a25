/**
 * A roster with `sleep` passes `terraform init`, `validate` and `plan` offline on both platforms,
 * with code-server's password and with the company's sign-in: one synth and one plan per case.
 * The plan creates the wake function behind a Lambda target group on each serving load balancer,
 * the sleeper with its events, and an idle alarm per developer who sleeps; each developer's rule
 * forwards to their own group (weight 1) beside the wake group (weight 0), and Terraform ignores
 * exactly those weights after creating it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { parseRoster } from "../src/roster";
import { withOidc } from "./helpers/ecs-oidc";
import { DEFAULT_ROSTER_TEXT } from "./helpers/fleet";
import { offlineSynthesis } from "./helpers/offline-synthesis";
import { changesOf, type PlanJson, terraformOrSkip, type Workdir } from "./helpers/terraform";

const terraform = terraformOrSkip();
const maybe = terraform ? describe : describe.skip;

/** The default roster sleeping after 30 idle minutes, one developer never, on `platform`. */
function sleepRoster(platform: "host" | "ecs"): string {
  const roster = parse(DEFAULT_ROSTER_TEXT) as Record<string, unknown> & { developers: Record<string, unknown>[] };
  if (platform === "ecs") {
    delete roster.host;
    roster.platform = "ecs";
  }
  roster.sleep = { idleMinutes: 30 };
  roster.developers = roster.developers.map((d, i) => (i === 1 ? { ...d, idleMinutes: 0 } : d));
  return stringify(roster);
}

const CASES: [string, string][] = [
  ["host, password", sleepRoster("host")],
  ["host, oidc", withOidc(sleepRoster("host"))],
  ["ecs, password", sleepRoster("ecs")],
  ["ecs, oidc", withOidc(sleepRoster("ecs"))],
];

type Values = Record<string, unknown>;

maybe.each(CASES)("offline terraform of a sleeping roster (%s)", (_case, rosterText) => {
  const fleet = parseRoster(rosterText);
  const synthesis = offlineSynthesis(terraform!, () => fleet, { hcl: false });
  let config: { resource: Record<string, Record<string, Values>> };
  let workdir: Workdir;
  let plan: PlanJson;
  const planned = (type: string) => changesOf(plan).filter((c) => c.type === type);
  const after = (address: string) => changesOf(plan).find((c) => c.address === address)!.change.after as Values;

  beforeAll(() => {
    workdir = synthesis.json;
    config = JSON.parse(readFileSync(join(workdir.dir, "cdk.tf.json"), "utf8"));
    workdir.run(["init", "-input=false", "-no-color"]);
    workdir.shareProvider();
  });

  it("validates and plans offline, only creating", () => {
    expect(workdir.run(["validate", "-no-color"]).output).toContain("The configuration is valid");
    workdir.run(["plan", "-refresh=false", "-input=false", "-no-color", "-var-file=test.tfvars", "-out=plan.bin"]);
    plan = workdir.json<PlanJson>(["show", "-json", "plan.bin"]);
    expect(new Set(changesOf(plan).map((c) => c.change.actions.join(",")))).toEqual(new Set(["create"]));
  });

  it("creates the wake (20 at once, 10 s) and the sleeper (one at a time, 300 s), logging to encrypted groups kept a while", () => {
    const functions = Object.fromEntries(
      planned("aws_lambda_function").map((c) => [(c.change.after as Values).function_name, c.change.after]),
    );
    expect(functions[`${fleet.namePrefix}-wake`]).toMatchObject({ reserved_concurrent_executions: 20, timeout: 10 });
    expect(functions[`${fleet.namePrefix}-sleeper`]).toMatchObject({ reserved_concurrent_executions: 1, timeout: 300 });
    const logGroups = planned("aws_cloudwatch_log_group").map((c) => c.change.after as Values);
    for (const name of ["wake", "sleeper"]) {
      const group = logGroups.find((g) => g.name === `/aws/lambda/${fleet.namePrefix}-${name}`);
      expect(group).toMatchObject({ retention_in_days: expect.any(Number) });
      expect(config.resource.aws_cloudwatch_log_group[`sleep_${name}_logs`].kms_key_id).toMatch(/aws_kms_key/);
    }
  });

  it("puts the wake behind a Lambda target group on each serving load balancer, which the load balancer may invoke", () => {
    const groups = planned("aws_lb_target_group").filter((c) => (c.change.after as Values).target_type === "lambda");
    const shards = fleet.platform === "ecs" ? new Set(fleet.developers.map((d) => Math.floor((d.priority - 1) / 50))).size : 1;
    expect(groups).toHaveLength(shards);
    const permissions = planned("aws_lambda_permission").filter(
      (c) => (c.change.after as Values).principal === "elasticloadbalancing.amazonaws.com",
    );
    expect(permissions).toHaveLength(shards);
    expect(
      planned("aws_lb_target_group_attachment").filter((c) => c.address.startsWith("aws_lb_target_group_attachment.sleep_")),
    ).toHaveLength(shards);
  });

  it("forwards each developer's rule to their own group (1) and the wake group (0), ignoring only those weights afterwards", () => {
    const rules = Object.entries(config.resource.aws_lb_listener_rule);
    expect(rules).toHaveLength(fleet.developers.length);
    for (const [, rule] of rules) {
      const [action, ...more] = rule.action as { forward: { target_group: { arn: string; weight: number }[] } }[];
      expect(more).toEqual([]);
      expect(action.forward.target_group.map((g) => [g.arn.replace(/\.arn}$/, "").replace(/^\${/, ""), g.weight])).toEqual([
        [expect.stringMatching(/^aws_lb_target_group\.alb_(shard-\d+_)?tg-/), 1],
        [expect.stringMatching(/^aws_lb_target_group\.sleep_wake-target-group-\d+$/), 0],
      ]);
      expect(rule.lifecycle).toEqual({ ignore_changes: ["action[0].forward[0].target_group"] });
    }
  });

  it("gives every developer who sleeps an idle alarm on Active over their idle minutes that notifies nobody, and missing data is no idleness", () => {
    const idle = planned("aws_cloudwatch_metric_alarm")
      .map((c) => c.change.after as Values)
      .filter((a) => String(a.alarm_name).startsWith(`${fleet.namePrefix}-idle-`));
    const sleepers = fleet.developers.filter((d) => d.idleMinutes > 0);
    expect(idle.map((a) => a.alarm_name).sort()).toEqual(sleepers.map((d) => `${fleet.namePrefix}-idle-${d.name}`).sort());
    for (const alarm of idle) {
      expect(alarm).toMatchObject({
        metric_name: "Active",
        period: 60,
        evaluation_periods: 30,
        datapoints_to_alarm: 30,
        treat_missing_data: "notBreaching",
        alarm_actions: null,
        ok_actions: null,
      });
    }
  });

  it("sends the idle alarms' ALARM and a reconcile every 5 minutes to the sleeper", () => {
    const rules = planned("aws_cloudwatch_event_rule").map((c) => c.change.after as Values);
    const idle = rules.find((r) => r.name === `${fleet.namePrefix}-idle`)!;
    expect(JSON.parse(String(idle.event_pattern))).toEqual({
      source: ["aws.cloudwatch"],
      "detail-type": ["CloudWatch Alarm State Change"],
      detail: { alarmName: [{ prefix: `${fleet.namePrefix}-idle-` }], state: { value: ["ALARM"] } },
    });
    expect(rules.find((r) => r.name === `${fleet.namePrefix}-sleep-reconcile`)).toMatchObject({ schedule_expression: "rate(5 minutes)" });
    expect(after("aws_cloudwatch_event_target.sleep_reconcile-target")).toMatchObject({ input: '{"action":"reconcile"}' });
  });

  it("with a company sign-in, plans a binding parameter per developer for the wake, and none with passwords", () => {
    const bindings = planned("aws_ssm_parameter")
      .map((c) => c.change.after as Values)
      .filter((p) => String(p.name).endsWith("/sign-in"));
    const expected =
      fleet.auth.type === "oidc" ? fleet.developers.map((d) => `/${fleet.project}/${fleet.environment}/${d.name}/sign-in`) : [];
    expect(bindings.map((p) => p.name).sort()).toEqual(expected.sort());
    for (const binding of bindings) expect(binding.type).toBe("String");
  });

  it("on the host, plans the fleet's own document for the host scripts, and none on ECS", () => {
    const documents = planned("aws_ssm_document")
      .map((c) => c.change.after as Values)
      .filter((d) => String(d.name).endsWith("-host-script"));
    if (fleet.platform === "ecs") return expect(documents).toEqual([]);
    expect(documents).toEqual([expect.objectContaining({ name: `${fleet.namePrefix}-host-script`, document_type: "Command" })]);
    const content = JSON.parse(String(documents[0].content)) as { parameters: Record<string, { allowedValues?: string[] }> };
    expect(content.parameters.script.allowedValues).toEqual(["start-containers", "stop-containers"]);
  });
});
