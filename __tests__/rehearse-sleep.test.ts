/**
 * The sleep leg's pure parts (the leg itself needs root, an engine and a browser): the ALB
 * Lambda event a request becomes and the response an answer becomes; the AWS stand-in's rules and
 * the functions' environment from the synthesized stack; the proxy's routing by the rules; and the
 * stand-in answering the functions' own clients (a weights flip reaches the proxy's hook).
 */
import "./helpers/quiet-aws-sdk";
import { ServerResponse, IncomingMessage } from "node:http";
import { Socket } from "node:net";
import { makeClients } from "../src/lambdas/sleep-wake/aws";
import { loadConfig } from "../src/lambdas/sleep-wake/config";
import { pointRoute, readRoutes } from "../src/lambdas/sleep-wake/routes";
import { requestOf } from "../src/lambdas/wake/request";
import { redirect } from "../src/lambdas/wake/page";
import {
  alarmsOf,
  forwardsToWake,
  functionEnvironment,
  modifyRuleProblem,
  proxyRoutes,
  resolveReference,
  ruleHost,
  rulesOf,
  SLEEP_INSTANCE_ID,
} from "../rehearse/sleep/account";
import { SleepStandIn } from "../rehearse/sleep/clients";
import { documentOf } from "../rehearse/sleep/document";
import { scriptParameters } from "../src/lambdas/sleep-wake/host";
import { albEventOf, writeAlbResponse } from "../rehearse/sleep/lambda-target";
import { asTheStandInHoldsIt } from "../rehearse/sleep/plan";
import type { TerraformState } from "../src/terraform/fabricate-state";
import { routingTable } from "../src/routing";
import { editedFleet } from "./helpers/fleet";
import { synthStack } from "./helpers/synth";

const REGION = "ap-southeast-7";
const fleet = editedFleet((roster) => {
  roster.developers = (roster.developers as unknown[]).slice(0, 3);
  roster.sleep = { idleMinutes: 5 };
});
const config = synthStack(fleet);
const DOCUMENT = "code-server-dev-host-script";
const WAKE = resolveReference(REGION, "${aws_lb_target_group.sleep_wake-target-group-0.arn}");

describe("the wake group's Lambda target", () => {
  it("makes ALB's event of a request: query values kept encoded, headers in lower case with the last of a repeated one, a text body as is", () => {
    const event = albEventOf(
      {
        method: "GET",
        url: "/a/b?folder=%2Fhome%2Fcoder&x=1&flag",
        headers: { host: "dev1.dev.example.com:8443", "x-forwarded-for": ["1.2.3.4", "5.6.7.8"] },
        body: Buffer.alloc(0),
      },
      WAKE,
    );
    expect(event).toEqual({
      requestContext: { elb: { targetGroupArn: WAKE } },
      httpMethod: "GET",
      path: "/a/b",
      queryStringParameters: { folder: "%2Fhome%2Fcoder", x: "1", flag: "" },
      headers: { host: "dev1.dev.example.com:8443", "x-forwarded-for": "5.6.7.8" },
      body: "",
      isBase64Encoded: false,
    });
    // What the wake handler makes of it: the same path and query to come back to.
    expect(requestOf(event)).toMatchObject({ host: "dev1.dev.example.com", location: "/a/b?folder=%2Fhome%2Fcoder&x=1&flag", visit: true });
  });

  it("base64-encodes a body that is not text, and a websocket upgrade is no visit", () => {
    const event = albEventOf({ method: "GET", url: "/", headers: { upgrade: "websocket" }, body: Buffer.from([0, 255, 1]) }, WAKE);
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body!, "base64")).toEqual(Buffer.from([0, 255, 1]));
    expect(requestOf(event).visit).toBe(false);
  });

  it("writes the function's answer as ALB does: its status, its headers, its body's length", () => {
    const res = new ServerResponse(new IncomingMessage(new Socket()));
    const written: { status?: number; headers?: Record<string, string>; body?: Buffer } = {};
    res.writeHead = ((status: number, headers: Record<string, string>) => Object.assign(written, { status, headers })) as never;
    res.end = ((body: Buffer) => Object.assign(written, { body })) as never;
    writeAlbResponse(redirect("/x?y=1"), res);
    expect(written.status).toBe(302);
    expect(written.headers).toMatchObject({
      location: "/x?y=1",
      "cache-control": "no-store",
      "content-length": String(written.body!.length),
    });
    expect(written.body!.toString()).toBe("Your environment is ready");
  });
});

describe("the AWS stand-in's account, from the synthesized stack", () => {
  it("gives the functions their synthesized environment with Terraform's references resolved to the stand-in's ids, which loadConfig takes", () => {
    const env = functionEnvironment(config, "sleep_sleeper_function", REGION);
    expect(env.HOST_INSTANCE_ID).toBe(SLEEP_INSTANCE_ID);
    expect(JSON.parse(env.WAKE_TARGET_GROUPS)).toEqual([WAKE]);
    const loaded = loadConfig(env);
    expect(loaded).toMatchObject({ platform: "host", domain: fleet.domain, host: { scriptDocument: DOCUMENT } });
    expect(loaded.host!.alarmNames.length).toBeGreaterThan(0);
  });

  it("refuses a reference it cannot resolve", () => {
    expect(() => resolveReference(REGION, "${aws_s3_bucket.x.id}")).toThrow(/aws_s3_bucket.x/);
    expect(() => resolveReference(REGION, '${join(",", [a.b])}')).toThrow(/cannot resolve/);
  });

  it("holds each developer's rule forwarding to them, with the wake group at weight 0, and every named alarm", () => {
    const rules = rulesOf(config, REGION);
    expect([...rules.values()].map(ruleHost).sort()).toEqual(fleet.developers.map((d) => d.hostname).sort());
    for (const rule of rules.values()) expect(forwardsToWake(rule, WAKE)).toBe(false);
    expect([...alarmsOf(config).values()]).toEqual(expect.arrayContaining(fleet.developers.map((d) => `code-server-dev-idle-${d.name}`)));
  });

  it("routes a developer whose rule forwards to the wake group to the Lambda target, the others to their own port", () => {
    const rules = rulesOf(config, REGION);
    const [first, second] = [...rules.values()];
    const groups = first.Actions![0].ForwardConfig!.TargetGroups!;
    for (const group of groups) group.Weight = group.TargetGroupArn === WAKE ? 1 : 0;
    const routes = proxyRoutes(
      routingTable(fleet).map((r) => ({ developer: r.developer, host: r.host, port: r.port, container: r.container })),
      [...rules.values()],
      WAKE,
      40123,
    );
    expect(routes.find((r) => r.host === ruleHost(first))?.port).toBe(40123);
    const own = fleet.developers.find((d) => d.hostname === ruleHost(second))!;
    expect(routes.find((r) => r.host === ruleHost(second))?.port).toBe(own.port);
  });

  it("refuses a rule change ELB refuses: a forward with no weight above 0, a weight above 999", () => {
    const forward = (weights: number[]) => [
      { Type: "forward" as const, ForwardConfig: { TargetGroups: weights.map((w, i) => ({ TargetGroupArn: `g${i}`, Weight: w })) } },
    ];
    expect(modifyRuleProblem(forward([0, 1]))).toBeUndefined();
    expect(modifyRuleProblem(forward([0, 0]))).toMatch(/weight 0/);
    expect(modifyRuleProblem(forward([1000, 0]))).toMatch(/0 to 999/);
    expect(modifyRuleProblem([])).toMatch(/at least one action/);
  });
});

describe("the AWS stand-in answering the functions' own clients", () => {
  let standIn: SleepStandIn;
  let routed: string[][];
  let ran: string[];
  beforeEach(() => {
    routed = [];
    ran = [];
    const alarms = new Map([...alarmsOf(config).values()].map((name) => [name, true]));
    standIn = new SleepStandIn(
      rulesOf(config, REGION),
      alarms,
      {
        runOnHost: (script) => {
          ran.push(script);
          return Promise.resolve({ code: 0, output: "" });
        },
        targetHealthy: () => Promise.resolve(true),
        rulesChanged: (rules) => {
          routed.push(rules.filter((r) => forwardsToWake(r, WAKE)).map(ruleHost));
          return Promise.resolve();
        },
      },
      new Date(0),
      { name: DOCUMENT, content: documentOf(config, DOCUMENT) },
    );
  });
  afterEach(() => standIn.restore());

  it("reads the rules through the paginator as routes, and a weights flip reaches the proxy's hook", async () => {
    const clients = makeClients();
    const sleepConfig = loadConfig(functionEnvironment(config, "sleep_sleeper_function", REGION));
    const routes = await readRoutes(clients.elb, sleepConfig);
    expect([...routes.keys()].sort()).toEqual(fleet.developers.map((d) => d.name).sort());
    const dev1 = routes.get(fleet.developers[0].name)!;
    expect(dev1.to).toBe("developer");
    await pointRoute(clients.elb, dev1, "wake");
    expect(routed).toEqual([[fleet.developers[0].hostname]]);
    expect((await readRoutes(clients.elb, sleepConfig)).get(dev1.name)!.to).toBe("wake");
    expect(standIn.journal).toEqual([`elbv2 ModifyRule ${fleet.developers[0].hostname}`]);
  });

  it("refuses a call the functions do not make here, and an instance that is not the host", async () => {
    const clients = makeClients();
    await expect(clients.ecs.send(new (await import("@aws-sdk/client-ecs")).ListClustersCommand({}))).rejects.toThrow(/does not answer/);
    const { DescribeInstancesCommand } = await import("@aws-sdk/client-ec2");
    await expect(clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: ["i-0000000000000000f"] }))).rejects.toThrow(/do not exist/);
  });

  it("runs a sent command on the host and reports its end", async () => {
    const { SendCommandCommand, GetCommandInvocationCommand } = await import("@aws-sdk/client-ssm");
    const clients = makeClients();
    const sent = await clients.ssm.send(
      new SendCommandCommand({
        InstanceIds: [SLEEP_INSTANCE_ID],
        DocumentName: DOCUMENT,
        Parameters: scriptParameters("stop-containers", "dev1"),
      }),
    );
    await standIn.settled();
    expect(ran).toEqual([
      `developer='dev1'\nif [ -n "$developer" ]; then exec /opt/code-server/scripts/stop-containers.sh --developer "$developer"; fi\nexec /opt/code-server/scripts/stop-containers.sh`,
    ]);
    const invocation = await clients.ssm.send(
      new GetCommandInvocationCommand({ CommandId: sent.Command!.CommandId, InstanceId: SLEEP_INSTANCE_ID }),
    );
    expect(invocation.Status).toBe("Success");
  });
});

describe("the leg's plan input", () => {
  const state = () =>
    ({
      version: 4,
      terraform_version: "1.11.0",
      serial: 1,
      lineage: "x",
      outputs: {},
      resources: [
        {
          mode: "managed",
          type: "aws_lb_target_group",
          name: "wake",
          provider: "p",
          instances: [{ schema_version: 0, attributes: { arn: "W" } }],
        },
        {
          mode: "managed",
          type: "aws_lb_listener_rule",
          name: "rule-dev1",
          provider: "p",
          instances: [
            {
              schema_version: 0,
              attributes: {
                action: [
                  {
                    forward: [
                      {
                        target_group: [
                          { arn: "D", weight: 1 },
                          { arn: "W", weight: 0 },
                        ],
                      },
                    ],
                  },
                ],
              },
            },
          ],
        },
        {
          mode: "managed",
          type: "aws_cloudwatch_metric_alarm",
          name: "a",
          provider: "p",
          instances: [{ schema_version: 0, attributes: { alarm_name: "x-dev1-unhealthy", actions_enabled: true } }],
        },
      ],
    }) as const;
  const input = {
    outdir: "",
    region: REGION,
    wakeGroup: "wake",
    asleep: { "rule-dev1": true },
    actionsEnabled: { "x-dev1-unhealthy": false },
  };

  it("sets a sleeping developer's weights to the wake group and an alarm's actions as the stand-in holds them, leaving the state given alone", () => {
    const given = state() as unknown as TerraformState;
    const held = asTheStandInHoldsIt(given, input);
    expect(JSON.stringify(held.resources[1].instances[0].attributes)).toContain('[{"arn":"D","weight":0},{"arn":"W","weight":1}]');
    expect(held.resources[2].instances[0].attributes.actions_enabled).toBe(false);
    expect(given.resources[2].instances[0].attributes.actions_enabled).toBe(true);
  });

  it("refuses a rule or an alarm the fabricated state does not have", () => {
    const given = state() as unknown as TerraformState;
    expect(() => asTheStandInHoldsIt(given, { ...input, asleep: { "rule-dev9": true } })).toThrow(/rule-dev9/);
    expect(() => asTheStandInHoldsIt(given, { ...input, actionsEnabled: { nope: true } })).toThrow(/no alarm nope/);
  });
});
