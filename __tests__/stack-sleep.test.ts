/**
 * The stack with the roster's `sleep`: the functions' permissions reach only the fleet's own rules,
 * alarms, services and host; the alarms around sleeping say what they do while the host sleeps;
 * the wake page's answers are no 5xx of the fleet; and with working hours the schedule only puts
 * everyone to sleep at their end, leaving every start to a visit.
 */
import { defaultFleet, editedFleet } from "./helpers/fleet";
import { parseDocument, synthesize } from "./helpers/synth";
import { classifiedAlarms } from "../src/constructs/monitoring";
import type { ProviderBlock } from "../src/terraform/plan-json";

const SCHEDULE = { timezone: "Asia/Bangkok", days: ["mon", "tue", "wed", "thu", "fri"], start: "08:00", stop: "20:00" };
const sleeping = synthesize(
  editedFleet((roster) => {
    roster.sleep = { idleMinutes: 45 };
  }),
);
const scheduled = synthesize(
  editedFleet((roster) => {
    roster.sleep = { idleMinutes: 45, wakeOutsideHours: true };
    roster.schedule = SCHEDULE;
  }),
);
const onEcs = synthesize(
  editedFleet((roster) => {
    delete roster.host;
    roster.platform = "ecs";
    roster.sleep = { idleMinutes: 45 };
  }),
);

type Statement = { Sid: string; Action: string | string[]; Resource: string | string[] };
function statements(config: ProviderBlock, name: "wake" | "sleeper"): Map<string, Statement> {
  const policy = parseDocument(config.resource.aws_iam_role_policy[`sleep_${name}_policy`].policy as string);
  return new Map((policy.Statement as Statement[]).map((s) => [s.Sid, s]));
}
const actionsOf = (all: Map<string, Statement>) => [...all.values()].flatMap((s) => [s.Action].flat());
const env = (config: ProviderBlock, name: string) =>
  config.resource.aws_lambda_function[`sleep_${name}_function`].environment.variables as Record<string, string>;

describe("the sleep functions' permissions", () => {
  it("flip only the fleet's listener rules, and switch only the fleet's alarms", () => {
    for (const name of ["wake", "sleeper"] as const) {
      const all = statements(sleeping.config, name);
      expect(all.get("FlipsTheDevelopersRules")).toMatchObject({
        Action: "elasticloadbalancing:ModifyRule",
        Resource: [
          expect.stringMatching(/:elasticloadbalancing:ap-southeast-7:.*:listener-rule\/app\/\$\{aws_lb\.alb_load-balancer\.name\}\/\*$/),
        ],
      });
      expect(all.get("QuietsAndWakesTheFleetsAlarms")?.Resource).toMatch(/:cloudwatch:ap-southeast-7:.*:alarm:code-server-dev-\*$/);
      expect(all.get("RunsTheHostScriptsOnTheHost")?.Resource).toEqual([
        expect.stringMatching(/:ec2:ap-southeast-7:.*:instance\/\$\{aws_instance\.host\.id\}$/),
        "${aws_ssm_document.sleep_host-script_document.arn}",
      ]);
    }
  });

  it('grant no ssm: action on "*" in any role but the reads SSM cannot scope to a resource', () => {
    // DescribeInstanceInformation, ListCommands, ListCommandInvocations and GetCommandInvocation take no resource ARN.
    const unscopable = ["ssm:DescribeInstanceInformation", "ssm:ListCommands", "ssm:ListCommandInvocations", "ssm:GetCommandInvocation"];
    for (const { config } of [sleeping, scheduled, onEcs]) {
      const onEverything = Object.values(config.resource.aws_iam_role_policy as Record<string, { policy: string }>)
        .flatMap((p) => parseDocument(p.policy).Statement as Statement[])
        .filter((s) => [s.Resource].flat().includes("*"))
        .flatMap((s) => [s.Action].flat())
        .filter((a) => a.startsWith("ssm:"));
      expect(onEverything.filter((a) => !unscopable.includes(a))).toEqual([]);
    }
  });

  it("let the wake start the host and the sleeper stop it, never the other way round", () => {
    expect(actionsOf(statements(sleeping.config, "wake"))).toContain("ec2:StartInstances");
    expect(actionsOf(statements(sleeping.config, "wake"))).not.toContain("ec2:StopInstances");
    expect(actionsOf(statements(sleeping.config, "sleeper"))).toContain("ec2:StopInstances");
    expect(actionsOf(statements(sleeping.config, "sleeper"))).not.toContain("ec2:StartInstances");
  });

  it("let the wake read what tells a failed start from a slow one: the host's launch, agent and commands; the service", () => {
    expect(actionsOf(statements(sleeping.config, "wake"))).toEqual(
      expect.arrayContaining(["ec2:DescribeInstances", "ssm:DescribeInstanceInformation", "ssm:ListCommands"]),
    );
    expect(statements(onEcs.config, "wake").get("ReadsAndScalesTheDevelopersServices")?.Action).toContain("ecs:DescribeServices");
  });

  it("on ECS, reach only the services of the fleet's cluster and nothing of a host", () => {
    for (const name of ["wake", "sleeper"] as const) {
      const all = statements(onEcs.config, name);
      expect(all.get("ReadsAndScalesTheDevelopersServices")?.Resource).toMatch(/:ecs:ap-southeast-7:.*:service\/code-server-dev\/\*$/);
      expect(actionsOf(all).filter((a) => /^(ec2|ssm|kms):/.test(a))).toEqual([]);
      expect(env(onEcs.config, name)).not.toHaveProperty("HOST_INSTANCE_ID");
    }
  });
});

describe("the sleep functions' settings", () => {
  it("name the host's own sleeping alarms for the host's sleep, none of a developer's", () => {
    const hostAlarms = JSON.parse(env(sleeping.config, "sleeper").HOST_ALARMS) as string[];
    expect(hostAlarms.sort()).toEqual(
      ["alb-5xx", "data-disk", "host-cpu", "host-memory", "root-disk"].map((a) => `code-server-dev-${a}`).sort(),
    );
    expect(env(sleeping.config, "wake")).toMatchObject({ PLATFORM: "host", NAME_PREFIX: "code-server-dev", DOMAIN: "dev.example.com" });
    expect(env(sleeping.config, "wake")).not.toHaveProperty("SCHEDULE");
  });

  it("carry the working hours and whether a visit outside them wakes anyone", () => {
    expect(JSON.parse(env(scheduled.config, "wake").SCHEDULE)).toEqual(SCHEDULE);
    expect(env(scheduled.config, "wake").WAKE_OUTSIDE_HOURS).toBe("true");
  });
});

describe("the alarms around sleeping", () => {
  it("keep notifying while the host sleeps (a failed wake or sleep), or notify nobody (idle)", () => {
    const declared = Object.fromEntries(classifiedAlarms(sleeping.stack).map((a) => [a.alarmName, a.sleepsWithHost]));
    expect(declared).toMatchObject({ "code-server-dev-wake-failed": false, "code-server-dev-sleeper-failed": false });
    for (const d of defaultFleet().developers) expect(declared[`code-server-dev-idle-${d.name}`]).toBe(false);
    const wakeFailed = sleeping.config.resource.aws_cloudwatch_metric_alarm["sleep_wake-failed"];
    expect(wakeFailed.alarm_actions).toEqual(["${aws_sns_topic.notifications_alarms.arn}"]);
  });

  it("leave the wake page's answers out of the load balancer's 5xx count", () => {
    const alarm = sleeping.config.resource.aws_cloudwatch_metric_alarm["monitoring_alarm-alb-5xx"];
    const queries = alarm.metric_query as { id: string; expression?: string; metric?: { dimensions: Record<string, string> } }[];
    expect(queries.find((q) => q.id === "total")?.expression).toBe("FILL(elb, 0) + FILL(target, 0) - FILL(wake, 0)");
    expect(queries.find((q) => q.id === "wake")?.metric?.dimensions.TargetGroup).toBe(
      "${aws_lb_target_group.sleep_wake-target-group-0.arn_suffix}",
    );
  });
});

describe("the activity signal on ECS", () => {
  type Container = Record<string, unknown> & { name: string };
  const containersOf = (config: ProviderBlock) =>
    Object.values(config.resource.aws_ecs_task_definition as Record<string, ProviderBlock>).map(
      (t) => JSON.parse(t.container_definitions as string) as Container[],
    );

  it("runs an activity container in each task that sleeps: code-server's Node.js, not essential, no capabilities, a read-only root, the task's log group", () => {
    const tasks = containersOf(onEcs.config).filter((containers) => containers.some((c) => c.name === "code-server"));
    expect(tasks).toHaveLength(defaultFleet().developers.length);
    for (const containers of tasks) {
      const activity = containers.find((c) => c.name === "activity")!;
      const codeServer = containers.find((c) => c.name === "code-server")!;
      expect(activity).toMatchObject({
        image: codeServer.image,
        user: "1000:1000",
        essential: false,
        readonlyRootFilesystem: true,
        linuxParameters: { capabilities: { add: [], drop: ["ALL"] } },
        entryPoint: ["/usr/lib/code-server/lib/node", "-e", expect.stringContaining('Name: "Active"')],
        command: ["8080", expect.stringMatching(/^dev\d+$/), "code-server/dev/containers", "code-server"],
        logConfiguration: { logDriver: "awslogs", options: expect.objectContaining({ "awslogs-stream-prefix": "activity" }) },
      });
      expect(activity.logConfiguration).toEqual({ ...(codeServer.logConfiguration as object), options: expect.any(Object) });
    }
  });

  it("has none in a task of a roster that does not sleep", () => {
    const plain = synthesize(
      editedFleet((roster) => {
        delete roster.host;
        roster.platform = "ecs";
      }),
    );
    for (const containers of containersOf(plain.config)) expect(containers.map((c) => c.name)).not.toContain("activity");
  });
});

describe("sleep with working hours", () => {
  const schedules = Object.values(scheduled.config.resource.aws_scheduler_schedule);

  it("puts everyone to sleep through the sleeper a minute before the stop, and starts nothing on the clock", () => {
    expect(schedules.map((s) => s.name)).toEqual(["code-server-dev-sleep-all"]);
    expect(schedules[0]).toMatchObject({
      schedule_expression: "cron(59 19 ? * MON,TUE,WED,THU,FRI *)",
      schedule_expression_timezone: "Asia/Bangkok",
      target: { arn: "${aws_lambda_function.sleep_sleeper_function.arn}", input: '{"action":"sleep-all"}' },
    });
    const policy = parseDocument(scheduled.config.resource.aws_iam_role_policy["schedule_role-policy"].policy as string);
    expect(policy.Statement).toEqual([
      {
        Sid: "PutsEveryoneToSleep",
        Effect: "Allow",
        Action: "lambda:InvokeFunction",
        Resource: "${aws_lambda_function.sleep_sleeper_function.arn}",
      },
    ]);
  });
});

describe("waking with a company sign-in", () => {
  const signingIn = synthesize(
    editedFleet((roster) => {
      roster.sleep = { idleMinutes: 45 };
      roster.auth = { type: "oidc", issuer: "https://login.example.com", clientId: "code-server-fleet", maxSessionHours: 10 };
      roster.developers = roster.developers.map((d: { name: string }) => ({ ...d, email: `${d.name}@example.com` }));
    }),
  );
  const parameters = signingIn.config.resource.aws_ssm_parameter as Record<string, { name: string; type: string; value: string }>;

  it("binds each developer's address to their identity in a plain parameter the wake function reads", () => {
    const bindings = Object.values(parameters).filter((p) => p.name.endsWith("/sign-in"));
    expect(bindings.map((p) => [p.name, p.type, JSON.parse(p.value)])).toEqual(
      defaultFleet().developers.map((d) => [`/code-server/dev/${d.name}/sign-in`, "String", { email: `${d.name}@example.com` }]),
    );
  });

  it("gives the wake function the names of the secrets it signs in with, never a value", () => {
    const signIn = JSON.parse(env(signingIn.config, "wake").SIGN_IN) as Record<string, unknown>;
    expect(signIn).toEqual({
      issuer: "https://login.example.com",
      clientId: "code-server-fleet",
      clientSecretId: "code-server/dev/oidc-client-secret",
      cookieKeyId: "code-server/dev/{developer}/gate-cookie-key",
      bindingName: "/code-server/dev/{developer}/sign-in",
      maxSessionSeconds: 36000,
    });
    expect(env(signingIn.config, "sleeper").SIGN_IN).toBeUndefined();
  });

  it("lets only the wake read the client secret, the cookie keys and the bindings, through Secrets Manager", () => {
    const wake = statements(signingIn.config, "wake");
    expect(wake.get("ReadsTheSignInSecrets")).toMatchObject({
      Action: "secretsmanager:GetSecretValue",
      Resource: [
        "${aws_secretsmanager_secret.secrets_oidc-client-secret.arn}",
        expect.stringMatching(/:secretsmanager:ap-southeast-7:.*:secret:code-server\/dev\/\*\/gate-cookie-key-\?{6}$/),
      ],
    });
    expect(wake.get("ReadsTheDevelopersBindings")?.Resource).toMatch(/:ssm:ap-southeast-7:.*:parameter\/code-server\/dev\/\*\/sign-in$/);
    expect(wake.get("DecryptsTheSignInSecrets")).toMatchObject({ Action: "kms:Decrypt", Condition: expect.anything() });
    expect(actionsOf(statements(signingIn.config, "sleeper"))).not.toEqual(expect.arrayContaining(["secretsmanager:GetSecretValue"]));
    expect(actionsOf(statements(sleeping.config, "wake"))).not.toContain("secretsmanager:GetSecretValue");
  });
});
