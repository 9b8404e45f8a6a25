/**
 * The sleeper against mocked AWS clients: an idle alarm puts its developer to sleep (alarms quiet,
 * rule to the wake page, compute stopped) and, on the host, the host once nobody is awake; the
 * working hours' end sleeps everyone; the reconcile sets right rules that point at stopped
 * compute. Sleeping a sleeping developer writes nothing; a foreign event is ignored, never thrown;
 * an AWS failure is thrown (for the function's Errors metric) and logged.
 */
import "./helpers/quiet-aws-sdk";
import { DisableAlarmActionsCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeInstancesCommand, type InstanceStateName, StopInstancesCommand } from "@aws-sdk/client-ec2";
import { DescribeServicesCommand, UpdateServiceCommand } from "@aws-sdk/client-ecs";
import {
  DescribeRulesCommand,
  DescribeTargetHealthCommand,
  ModifyRuleCommand,
  type TargetHealthStateEnum,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandsCommand,
  SendCommandCommand,
} from "@aws-sdk/client-ssm";
import { makeClients } from "../src/lambdas/sleep-wake/aws";
import { loadConfig } from "../src/lambdas/sleep-wake/config";
import { requestOf, runSleeper } from "../src/lambdas/sleeper/handler";
import { HOST_START_GRACE_MINUTES, type SleeperDeps } from "../src/lambdas/sleeper/sleep";
import { envOf, groupOf, HOST_ALARMS, INSTANCE, ruleArnOf, ruleOf, weightsOf, mockedClients } from "./helpers/sleep-wake";

process.env.AWS_REGION = "ap-southeast-7";
const mocks = mockedClients();
const { elb, ecs, ec2, ssm, cloudwatch } = mocks;

const NOW = Date.parse("2026-12-07T03:00:00Z");
let logged: string[];

function depsOf(platform: "host" | "ecs"): SleeperDeps {
  return {
    config: loadConfig(envOf(platform)),
    clients: makeClients(),
    now: () => new Date(NOW),
    sleep: () => Promise.resolve(),
    log: (line) => logged.push(line),
  };
}

const idle = (name: string, state = "ALARM", prefix = "code-server-dev") => ({
  source: "aws.cloudwatch",
  "detail-type": "CloudWatch Alarm State Change",
  detail: { alarmName: `${prefix}-idle-${name}`, state: { value: state } },
});
const rules = (...list: ReturnType<typeof ruleOf>[]) => elb.on(DescribeRulesCommand).resolves({ Rules: list });
const health = (name: string, state: TargetHealthStateEnum) =>
  elb
    .on(DescribeTargetHealthCommand, { TargetGroupArn: groupOf(name) })
    .resolves({ TargetHealthDescriptions: [{ TargetHealth: { State: state } }] });
const desired = (counts: Record<string, number>) =>
  ecs.on(DescribeServicesCommand).resolves({
    services: Object.entries(counts).map(([serviceName, desiredCount]) => ({ serviceName, desiredCount, status: "ACTIVE" })),
  });
const hostIs = (state: InstanceStateName, launchedMinutesAgo = 120) =>
  ec2.on(DescribeInstancesCommand).resolves({
    Reservations: [
      { Instances: [{ InstanceId: INSTANCE, State: { Name: state }, LaunchTime: new Date(NOW - launchedMinutesAgo * 60_000) }] },
    ],
  });
const writes = () =>
  cloudwatch.commandCalls(DisableAlarmActionsCommand).length +
  elb.commandCalls(ModifyRuleCommand).length +
  ecs.commandCalls(UpdateServiceCommand).length +
  ssm.commandCalls(SendCommandCommand).length +
  ec2.commandCalls(StopInstancesCommand).length;
const modified = () => elb.commandCalls(ModifyRuleCommand).map((c) => ({ rule: c.args[0].input.RuleArn, ...weightsOf(c.args[0].input) }));
/** The scripts sent, as `<script> <developer>` (no developer: all of them). */
const sentScripts = () =>
  ssm.commandCalls(SendCommandCommand).map((c) => {
    const { script, developer } = c.args[0].input.Parameters!;
    return `${script[0]}${developer[0] ? ` ${developer[0]}` : ""}`;
  });

beforeEach(() => {
  mocks.reset();
  logged = [];
  elb.on(ModifyRuleCommand).resolves({});
  cloudwatch.on(DisableAlarmActionsCommand).resolves({});
  ecs.on(UpdateServiceCommand).resolves({});
  ssm.on(SendCommandCommand).resolves({ Command: { CommandId: "c-1" } });
  ssm.on(ListCommandsCommand).resolves({ Commands: [] });
  ssm.on(GetCommandInvocationCommand).resolves({ Status: "Success" });
  ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: INSTANCE, PingStatus: "Online" }] });
  ec2.on(StopInstancesCommand).resolves({});
  health("dev1", "healthy");
  health("dev2", "healthy");
});

describe("events that are not the sleeper's", () => {
  it.each([
    ["an empty event", {}],
    ["another action", { action: "wake-all" }],
    ["another fleet's idle alarm", idle("dev1", "ALARM", "other-prod")],
    ["an idle alarm back to OK", idle("dev1", "OK")],
    ["another alarm of this fleet", { ...idle("x"), detail: { alarmName: "code-server-dev-dev1-unhealthy", state: { value: "ALARM" } } }],
  ])("ignores %s without any AWS call", async (_, event) => {
    await expect(runSleeper(depsOf("ecs"), event)).resolves.toMatchObject({ request: "ignored" });
    expect(mocks.callCount()).toBe(0);
    expect(JSON.parse(logged[0])).toMatchObject({ event: "ignored" });
  });

  it("ignores the idle alarm of a developer no rule routes", async () => {
    rules(ruleOf("dev1", true));
    await expect(runSleeper(depsOf("ecs"), idle("ghost"))).resolves.toMatchObject({ request: "ignored" });
    expect(writes()).toBe(0);
  });

  it("reads the request of each event it handles", () => {
    const config = { namePrefix: "code-server-dev" };
    expect(requestOf(idle("dev-1"), config)).toEqual({ kind: "idle", developer: "dev-1" });
    expect(requestOf({ action: "sleep-all" }, config)).toEqual({ kind: "sleep-all" });
    expect(requestOf({ action: "reconcile" }, config)).toEqual({ kind: "reconcile" });
  });
});

describe("ECS: an idle developer", () => {
  it("goes quiet, gets the wake page and stops", async () => {
    rules(ruleOf("dev1", true), ruleOf("dev2", true));
    desired({ dev1: 1, dev2: 1 });
    await expect(runSleeper(depsOf("ecs"), idle("dev1"))).resolves.toMatchObject({ request: "idle", slept: ["dev1"] });
    expect(cloudwatch.commandCalls(DisableAlarmActionsCommand)[0].args[0].input.AlarmNames).toEqual([
      "code-server-dev-dev1-not-running",
      "code-server-dev-dev1-task-cpu",
      "code-server-dev-dev1-task-memory",
    ]);
    expect(modified()).toEqual([{ rule: ruleArnOf("dev1"), developer: 0, wake: 1 }]);
    expect(ecs.commandCalls(UpdateServiceCommand)[0].args[0].input).toEqual({
      cluster: "code-server-dev",
      service: "dev1",
      desiredCount: 0,
    });
  });

  it("who already sleeps changes nothing", async () => {
    rules(ruleOf("dev1", false));
    desired({ dev1: 0 });
    await expect(runSleeper(depsOf("ecs"), idle("dev1"))).resolves.toMatchObject({ slept: [], alreadyAsleep: 1 });
    expect(writes()).toBe(0);
  });
});

describe("host: an idle developer", () => {
  it("stops their container alone while another is awake", async () => {
    rules(ruleOf("dev1", true), ruleOf("dev2", true));
    hostIs("running");
    const result = await runSleeper(depsOf("host"), idle("dev1"));
    expect(result).toMatchObject({ slept: ["dev1"], hostStopped: false });
    expect(cloudwatch.commandCalls(DisableAlarmActionsCommand)[0].args[0].input.AlarmNames).toEqual([
      "code-server-dev-dev1-unhealthy",
      "code-server-dev-dev1-restarts",
      "code-server-dev-dev1-disk-share",
    ]);
    expect(modified()).toEqual([{ rule: ruleArnOf("dev1"), developer: 0, wake: 1 }]);
    expect(sentScripts()).toEqual(["stop-containers dev1"]);
    expect(ec2.commandCalls(StopInstancesCommand)).toEqual([]);
  });

  it("the last one awake stops the host: every container, then the host's alarms go quiet, then the host", async () => {
    rules(ruleOf("dev1", true), ruleOf("dev2", false));
    health("dev2", "unhealthy");
    hostIs("running");
    await expect(runSleeper(depsOf("host"), idle("dev1"))).resolves.toMatchObject({ slept: ["dev1"], hostStopped: true });
    expect(sentScripts()).toEqual(["stop-containers dev1", "stop-containers"]);
    expect(cloudwatch.commandCalls(DisableAlarmActionsCommand).map((c) => c.args[0].input.AlarmNames)).toContainEqual(HOST_ALARMS);
    expect(ec2.commandCalls(StopInstancesCommand)[0].args[0].input).toEqual({ InstanceIds: [INSTANCE] });
  });

  it("keeps a host that started moments ago (a visit is waking someone)", async () => {
    rules(ruleOf("dev1", true), ruleOf("dev2", false));
    health("dev2", "unhealthy");
    hostIs("running", HOST_START_GRACE_MINUTES - 1);
    await expect(runSleeper(depsOf("host"), idle("dev1"))).resolves.toMatchObject({ hostStopped: false });
    expect(ec2.commandCalls(StopInstancesCommand)).toEqual([]);
    expect(logged.map((l) => JSON.parse(l))).toContainEqual(expect.objectContaining({ event: "host-kept" }));
  });

  it("keeps the host when its containers did not stop", async () => {
    rules(ruleOf("dev1", true));
    hostIs("running");
    ssm.on(GetCommandInvocationCommand).resolves({ Status: "Failed" });
    await expect(runSleeper(depsOf("host"), idle("dev1"))).rejects.toThrow(/stop-containers\.sh .* ended Failed/);
    expect(ec2.commandCalls(StopInstancesCommand)).toEqual([]);
  });
});

describe("the working hours' end", () => {
  it("ECS: every awake developer stops; the sleeping one is left alone", async () => {
    rules(ruleOf("dev1", true), ruleOf("dev2", false));
    desired({ dev1: 1, dev2: 0 });
    await expect(runSleeper(depsOf("ecs"), { action: "sleep-all" })).resolves.toMatchObject({ slept: ["dev1"], alreadyAsleep: 1 });
    expect(ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input.service)).toEqual(["dev1"]);
  });

  it("host: every rule to the wake page, then the host stops even though it started moments ago", async () => {
    rules(ruleOf("dev1", true), ruleOf("dev2", true));
    hostIs("running", 1);
    await expect(runSleeper(depsOf("host"), { action: "sleep-all" })).resolves.toMatchObject({ hostStopped: true });
    expect(modified().map((m) => m.developer)).toEqual([0, 0]);
    expect(sentScripts()).toEqual(["stop-containers"]);
    expect(ec2.commandCalls(StopInstancesCommand)).toHaveLength(1);
  });
});

describe("the reconcile", () => {
  it("ECS: points a rule at the wake page when the developer's service has no task", async () => {
    rules(ruleOf("dev1", true), ruleOf("dev2", true));
    desired({ dev1: 0, dev2: 1 });
    health("dev1", "unused");
    await expect(runSleeper(depsOf("ecs"), { action: "reconcile" })).resolves.toMatchObject({ slept: ["dev1"] });
    expect(modified()).toEqual([{ rule: ruleArnOf("dev1"), developer: 0, wake: 1 }]);
    expect(ecs.commandCalls(UpdateServiceCommand)).toEqual([]);
  });

  it("host: points every rule at the wake page while the host is stopped", async () => {
    rules(ruleOf("dev1", true), ruleOf("dev2", false));
    hostIs("stopped");
    await runSleeper(depsOf("host"), { action: "reconcile" });
    expect(modified()).toEqual([{ rule: ruleArnOf("dev1"), developer: 0, wake: 1 }]);
    expect(ec2.commandCalls(StopInstancesCommand)).toEqual([]);
  });

  it("changes nothing when all is as it should be", async () => {
    rules(ruleOf("dev1", true), ruleOf("dev2", false));
    desired({ dev1: 1, dev2: 0 });
    health("dev2", "unused");
    await runSleeper(depsOf("ecs"), { action: "reconcile" });
    expect(writes()).toBe(0);
  });

  it("stops a developer woken by a visit nobody stayed for", async () => {
    rules(ruleOf("dev1", false));
    desired({ dev1: 1 });
    await expect(runSleeper(depsOf("ecs"), { action: "reconcile" })).resolves.toMatchObject({ slept: ["dev1"] });
    expect(ecs.commandCalls(UpdateServiceCommand)[0].args[0].input.desiredCount).toBe(0);
  });
});

describe("AWS failures", () => {
  it("are thrown and logged as sleep-failed", async () => {
    rules(ruleOf("dev1", true));
    desired({ dev1: 1 });
    elb.on(ModifyRuleCommand).rejects(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }));
    await expect(runSleeper(depsOf("ecs"), idle("dev1"))).rejects.toThrow("Rate exceeded");
    expect(JSON.parse(logged.at(-1)!)).toEqual({ event: "sleep-failed", request: "idle", error: "ThrottlingException: Rate exceeded" });
  });
});
