/**
 * The wake function against mocked AWS clients: what it reads and writes for each kind of visit,
 * that a stranger's host costs no AWS call, that the rules are read once a minute, that a failed
 * call becomes a logged `wake-failed` and a page asking to try again (never an error), and that
 * the redirect stays on the developer's site.
 */
import "./helpers/quiet-aws-sdk";
import { DescribeAlarmsCommand, EnableAlarmActionsCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeInstancesCommand, type InstanceStateName, StartInstancesCommand } from "@aws-sdk/client-ec2";
import { DescribeServicesCommand, UpdateServiceCommand } from "@aws-sdk/client-ecs";
import {
  DescribeRulesCommand,
  DescribeTargetHealthCommand,
  ModifyRuleCommand,
  type TargetHealthStateEnum,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { type CommandStatus, DescribeInstanceInformationCommand, ListCommandsCommand, SendCommandCommand } from "@aws-sdk/client-ssm";
import { makeClients } from "../src/lambdas/sleep-wake/aws";
import { loadConfig } from "../src/lambdas/sleep-wake/config";
import { AGENT_ONLINE_MINUTES, FAILED, FAILED_START_RETRY_MINUTES } from "../src/lambdas/wake/decide";
import { page } from "../src/lambdas/wake/page";
import { wake, type WakeDeps } from "../src/lambdas/wake/handler";
import type { AlbEvent } from "../src/lambdas/wake/request";
import { RouteCache, ROUTES_TTL_MS } from "../src/lambdas/wake/state";
import { envOf, groupOf, HOST_ALARMS, INSTANCE, ruleOf, SCRIPT_DOCUMENT, WAKE_GROUP, weightsOf, mockedClients } from "./helpers/sleep-wake";

process.env.AWS_REGION = "ap-southeast-7";
const mocks = mockedClients();
const { elb, ecs, ec2, ssm, cloudwatch } = mocks;

let logged: string[];
let clock: number;

function depsOf(platform: "host" | "ecs"): WakeDeps {
  return {
    config: loadConfig(envOf(platform)),
    clients: makeClients(),
    now: () => new Date(clock),
    log: (line) => logged.push(line),
    routes: new RouteCache(),
    starts: new Map(),
  };
}

function visit(host: string, extra: Partial<AlbEvent> = {}): AlbEvent {
  return {
    requestContext: { elb: { targetGroupArn: WAKE_GROUP } },
    httpMethod: "GET",
    path: "/",
    queryStringParameters: {},
    headers: { host, accept: "text/html" },
    ...extra,
  };
}

const health = (name: string, state: TargetHealthStateEnum) =>
  elb
    .on(DescribeTargetHealthCommand, { TargetGroupArn: groupOf(name) })
    .resolves({ TargetHealthDescriptions: [{ TargetHealth: { State: state } }] });
const hostIs = (state: InstanceStateName) =>
  ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: INSTANCE, State: { Name: state } }] }] });
const writes = () =>
  elb.commandCalls(ModifyRuleCommand).length +
  ecs.commandCalls(UpdateServiceCommand).length +
  ec2.commandCalls(StartInstancesCommand).length +
  ssm.commandCalls(SendCommandCommand).length +
  cloudwatch.commandCalls(EnableAlarmActionsCommand).length;
const allCalls = () => mocks.callCount();
const IMPAIRED =
  "(service dev1) is unable to consistently start tasks successfully. For more information, see the Troubleshooting section.";

/** The host's recent script runs as SSM lists them: each one's script, developer ("" for all), status and age. */
function scriptHistory(...runs: [script: string, developer: string, status: CommandStatus, secondsAgo: number][]): void {
  ssm.on(ListCommandsCommand).resolves({
    Commands: runs.map(([script, developer, status, secondsAgo]) => ({
      Parameters: { script: [script], developer: [developer] },
      Status: status,
      RequestedDateTime: new Date(clock - secondsAgo * 1000),
    })),
  });
}

beforeEach(() => {
  mocks.reset();
  logged = [];
  clock = Date.parse("2026-12-07T03:00:00Z");
  elb.on(DescribeRulesCommand).resolves({ Rules: [ruleOf("dev1", false), ruleOf("dev2", true, 20)] });
  elb.on(ModifyRuleCommand).resolves({});
  cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
  cloudwatch.on(EnableAlarmActionsCommand).resolves({});
  ssm.on(SendCommandCommand).resolves({ Command: { CommandId: "c-1" } });
  ssm.on(ListCommandsCommand).resolves({ Commands: [] });
  ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: INSTANCE, PingStatus: "Online" }] });
  ec2.on(StartInstancesCommand).resolves({});
  ecs.on(UpdateServiceCommand).resolves({});
  hostIs("running");
  health("dev1", "unhealthy");
});

describe("who may be woken", () => {
  it.each(["evil.example.org", "dev.example.com", "a.b.dev.example.com", "-x.dev.example.com", ""])(
    "answers 404 for the host %j without any AWS call",
    async (host) => {
      const response = await wake(depsOf("host"), visit(host));
      expect(response.statusCode).toBe(404);
      expect(allCalls()).toBe(0);
    },
  );

  it("answers 404 for a well-formed name that has no rule, and reads the rules once a minute", async () => {
    const deps = depsOf("host");
    expect((await wake(deps, visit("ghost.dev.example.com"))).statusCode).toBe(404);
    expect((await wake(deps, visit("ghost2.dev.example.com"))).statusCode).toBe(404);
    expect(elb.commandCalls(DescribeRulesCommand)).toHaveLength(1);
    clock += ROUTES_TTL_MS;
    await wake(deps, visit("ghost.dev.example.com"));
    expect(elb.commandCalls(DescribeRulesCommand)).toHaveLength(2);
    expect(writes()).toBe(0);
  });

  it("reads every page of the rules", async () => {
    elb
      .on(DescribeRulesCommand)
      .resolvesOnce({ Rules: [ruleOf("dev2", true)], NextMarker: "m" })
      .resolves({ Rules: [ruleOf("dev1", false)] });
    const response = await wake(depsOf("host"), visit("DEV1.dev.example.com:443"));
    expect(response.statusCode).toBe(200);
    expect(elb.commandCalls(DescribeRulesCommand)[1].args[0].input.Marker).toBe("m");
  });
});

describe("host platform", () => {
  it("starts the developer's container with the host script", async () => {
    const response = await wake(depsOf("host"), visit("dev1.dev.example.com"));
    expect(response.statusCode).toBe(200);
    const sent = ssm.commandCalls(SendCommandCommand);
    expect(sent).toHaveLength(1);
    expect(sent[0].args[0].input).toMatchObject({
      InstanceIds: [INSTANCE],
      DocumentName: SCRIPT_DOCUMENT,
      Parameters: { script: ["start-containers"], developer: ["dev1"] },
    });
    expect(logged.map((l) => JSON.parse(l))).toContainEqual({ event: "wake", developer: "dev1", actions: ["start-container"] });
  });

  it("sends no second start while the first is under way, from this instance or another", async () => {
    const deps = depsOf("host");
    await wake(deps, visit("dev1.dev.example.com"));
    clock += 5000;
    await wake(deps, visit("dev1.dev.example.com"));
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
    scriptHistory(["start-containers", "dev1", "InProgress", 0]);
    clock += 60_000;
    await wake(deps, visit("dev1.dev.example.com"));
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
  });

  it("starts the container as soon as the host it started runs, without waiting out the start interval", async () => {
    const deps = depsOf("host");
    hostIs("stopped");
    await wake(deps, visit("dev1.dev.example.com"));
    expect(ec2.commandCalls(StartInstancesCommand)).toHaveLength(1);
    hostIs("running");
    clock += 5000;
    await wake(deps, visit("dev1.dev.example.com"));
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
  });

  it("starts again a developer whose last start was followed by the sleeper's stop", async () => {
    scriptHistory(["stop-containers", "dev1", "Success", 30], ["start-containers", "dev1", "Success", 90]);
    await wake(depsOf("host"), visit("dev1.dev.example.com"));
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
  });

  it("waits for a start sent after the last stop of everyone", async () => {
    scriptHistory(["start-containers", "dev1", "Success", 20], ["stop-containers", "", "Success", 60]);
    await wake(depsOf("host"), visit("dev1.dev.example.com"));
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
  });

  it("starts a stopped host, then waits for its agent", async () => {
    hostIs("stopped");
    await wake(depsOf("host"), visit("dev1.dev.example.com"));
    expect(ec2.commandCalls(StartInstancesCommand)[0].args[0].input).toEqual({ InstanceIds: [INSTANCE] });
    hostIs("running");
    ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    ec2.resetHistory();
    await wake(depsOf("host"), visit("dev1.dev.example.com"));
    expect(writes()).toBe(0);
  });

  it("once healthy: alarms on (the host's too after the host slept), rule back to the developer, redirect", async () => {
    health("dev1", "healthy");
    cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: HOST_ALARMS[0], ActionsEnabled: false }] });
    const response = await wake(
      depsOf("host"),
      visit("dev1.dev.example.com", { path: "/proxy/3000/", queryStringParameters: { a: "b%20c" } }),
    );
    expect(response.statusCode).toBe(302);
    expect(response.headers.location).toBe("/proxy/3000/?a=b%20c");
    const enabled = cloudwatch.commandCalls(EnableAlarmActionsCommand).map((c) => c.args[0].input.AlarmNames);
    expect(enabled).toEqual([
      ["code-server-dev-dev1-unhealthy", "code-server-dev-dev1-restarts", "code-server-dev-dev1-disk-share"],
      HOST_ALARMS,
    ]);
    const modified = elb.commandCalls(ModifyRuleCommand);
    expect(modified).toHaveLength(1);
    expect(weightsOf(modified[0].args[0].input)).toEqual({ developer: 1, wake: 0 });
    expect(modified[0].args[0].input.Actions![0].ForwardConfig!.TargetGroupStickinessConfig).toEqual({ Enabled: false });
  });
});

describe("ECS platform", () => {
  beforeEach(() => ecs.on(DescribeServicesCommand).resolves({ services: [{ serviceName: "dev1", status: "ACTIVE", desiredCount: 0 }] }));

  it("starts the developer's service with one task", async () => {
    await wake(depsOf("ecs"), visit("dev1.dev.example.com"));
    expect(ecs.commandCalls(UpdateServiceCommand)[0].args[0].input).toEqual({
      cluster: "code-server-dev",
      service: "dev1",
      desiredCount: 1,
    });
    expect(ec2.calls()).toEqual([]);
  });

  it("turns the developer's ECS alarms on when awake", async () => {
    health("dev1", "healthy");
    await wake(depsOf("ecs"), visit("dev1.dev.example.com"));
    expect(cloudwatch.commandCalls(EnableAlarmActionsCommand).map((c) => c.args[0].input.AlarmNames)).toEqual([
      ["code-server-dev-dev1-not-running", "code-server-dev-dev1-task-cpu", "code-server-dev-dev1-task-memory"],
    ]);
  });
});

describe("failures", () => {
  it("logs wake-failed and answers 503 with a page that shows no detail", async () => {
    ssm
      .on(SendCommandCommand)
      .rejects(Object.assign(new Error("User is not authorized to perform ssm:SendCommand on i-0123"), { name: "AccessDeniedException" }));
    const response = await wake(depsOf("host"), visit("dev1.dev.example.com"));
    expect(response.statusCode).toBe(503);
    expect(response.body).toContain(FAILED);
    expect(response.body).not.toMatch(/ssm|i-0|authorized/i);
    const failed = logged.map((l) => JSON.parse(l)).find((l) => l.event === "wake-failed");
    expect(failed).toEqual({ event: "wake-failed", developer: "dev1", error: expect.stringContaining("AccessDeniedException") });
  });
});

describe("a wake that cannot succeed", () => {
  const failures = () => logged.map((l) => JSON.parse(l)).filter((l) => l.event === "wake-failed");

  async function expectFailed(deps: WakeDeps, error: RegExp): Promise<void> {
    const response = await wake(deps, visit("dev1.dev.example.com"));
    expect(response.statusCode).toBe(503);
    expect(response.body).toContain(FAILED);
    expect(failures()).toEqual([{ event: "wake-failed", developer: "dev1", error: expect.stringMatching(error) }]);
    expect(writes()).toBe(0);
  }

  it.each(["Failed", "TimedOut", "Cancelled"] as CommandStatus[])(
    "logs wake-failed for the developer's start that ended %s, sends no other until it is old enough, then one",
    async (status) => {
      scriptHistory(["start-containers", "dev1", status, 120]);
      const deps = depsOf("host");
      await expectFailed(deps, new RegExp(`container start ended ${status}`));
      clock += (FAILED_START_RETRY_MINUTES * 60 - 120) * 1000;
      await wake(deps, visit("dev1.dev.example.com"));
      expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
    },
  );

  it("waits on a start still running after minutes, without sending a second", async () => {
    scriptHistory(["start-containers", "dev1", "InProgress", 4 * 60]);
    await wake(depsOf("host"), visit("dev1.dev.example.com"));
    expect(writes()).toBe(0);
    expect(failures()).toEqual([]);
  });

  it("logs wake-failed for a host whose agent stays offline", async () => {
    ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    const launched = (minutes: number) =>
      ec2.on(DescribeInstancesCommand).resolves({
        Reservations: [
          { Instances: [{ InstanceId: INSTANCE, State: { Name: "running" }, LaunchTime: new Date(clock - minutes * 60_000) }] },
        ],
      });
    launched(2);
    await wake(depsOf("host"), visit("dev1.dev.example.com"));
    expect(failures()).toEqual([]);
    launched(AGENT_ONLINE_MINUTES + 1);
    await expectFailed(depsOf("host"), /without its SSM agent online/);
  });

  it("logs wake-failed for an ECS service whose deployment failed", async () => {
    ecs.on(DescribeServicesCommand).resolves({
      services: [
        {
          serviceName: "dev1",
          status: "ACTIVE",
          desiredCount: 1,
          deployments: [{ status: "PRIMARY", rolloutState: "FAILED", rolloutStateReason: "circuit breaker: rolled back" }],
        },
      ],
    });
    await expectFailed(depsOf("ecs"), /deployment failed: circuit breaker/);
  });

  it("logs wake-failed for an ECS service whose tasks keep stopping since it was last steady, not before", async () => {
    const events = (...messages: string[]) =>
      ecs.on(DescribeServicesCommand).resolves({
        services: [{ serviceName: "dev1", status: "ACTIVE", desiredCount: 1, events: messages.map((message) => ({ message })) }],
      });
    events("(service dev1) has started 1 tasks: (task a).", "(service dev1) has reached a steady state.", IMPAIRED);
    await wake(depsOf("ecs"), visit("dev1.dev.example.com"));
    expect(failures()).toEqual([]);
    events(IMPAIRED, "(service dev1) has started 1 tasks: (task b).", "(service dev1) has reached a steady state.");
    await expectFailed(depsOf("ecs"), /cannot start the service's task/);
  });
});

describe("what counts as a visit", () => {
  it.each([
    ["a page navigation", { "sec-fetch-mode": "navigate" }, 1],
    ["a client that sends no fetch metadata", {}, 1],
    ["a service worker's update check", { "sec-fetch-mode": "same-origin", "sec-fetch-dest": "serviceworker" }, 0],
    ["a script's fetch", { "sec-fetch-mode": "cors" }, 0],
  ])("%s starts %d containers", async (_what, headers, starts) => {
    await wake(depsOf("host"), visit("dev1.dev.example.com", { headers: { host: "dev1.dev.example.com", ...headers } }));
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(starts);
  });
});

describe("the redirect stays on the site", () => {
  it.each([
    ["//evil.example.org/x", "/evil.example.org/x"],
    ["/\\evil.example.org", "/evil.example.org"],
    ["/a\\b", "/a%5Cb"],
    ["/a b", "/"],
    ["relative", "/"],
  ])("sends %j to %j", async (path, location) => {
    health("dev1", "healthy");
    const response = await wake(depsOf("host"), visit("dev1.dev.example.com", { path }));
    expect(response.headers.location).toBe(location);
  });
});

describe("the page", () => {
  it("escapes what it interpolates", () => {
    const html = page({ developer: "<dev1>", message: `"a" & 'b'`, reload: false }).body;
    expect(html).toContain("<h1>&lt;dev1&gt;</h1><p>&quot;a&quot; &amp; &#39;b&#39;</p>");
    expect(html).not.toContain("<dev1>");
  });
});
