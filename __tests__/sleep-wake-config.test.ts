/**
 * The sleeper's and the wake function's environment: what each platform needs, and an error that
 * names every wrong or missing variable at once with what it must hold.
 */
import { loadConfig } from "../src/lambdas/sleep-wake/config";
import { envOf, HOST_ALARMS, INSTANCE, LISTENER, SCRIPT_DOCUMENT, WAKE_GROUP } from "./helpers/sleep-wake";

const HOURS = { timezone: "Asia/Bangkok", days: ["fri", "mon"], start: "08:00", stop: "20:00" };

describe("a good environment", () => {
  it("host: the listeners paired with their wake groups and the host's settings", () => {
    const config = loadConfig(envOf("host"));
    expect(config).toEqual({
      platform: "host",
      namePrefix: "code-server-dev",
      domain: "dev.example.com",
      listeners: [{ listenerArn: LISTENER, wakeTargetGroupArn: WAKE_GROUP }],
      host: { instanceId: INSTANCE, scriptDocument: SCRIPT_DOCUMENT, alarmNames: HOST_ALARMS },
      wakeOutsideHours: false,
    });
  });

  it("ECS: no host settings needed", () => {
    expect(loadConfig(envOf("ecs")).host).toBeUndefined();
  });

  it("the working hours, days in week order, and whether visits outside them wake", () => {
    const config = loadConfig(envOf("ecs", { SCHEDULE: JSON.stringify(HOURS), WAKE_OUTSIDE_HOURS: "true" }));
    expect(config.schedule).toEqual({ ...HOURS, days: ["mon", "fri"] });
    expect(config.wakeOutsideHours).toBe(true);
  });

  it("stays well inside Lambda's 4 KB of environment with four load balancers", () => {
    const four = (arn: string) => JSON.stringify([0, 1, 2, 3].map((i) => arn.replace(/[0-9a-f]{16}$/, `${i}`.repeat(16))));
    const env = envOf("host", { LISTENERS: four(LISTENER), WAKE_TARGET_GROUPS: four(WAKE_GROUP), SCHEDULE: JSON.stringify(HOURS) });
    expect(loadConfig(env).listeners).toHaveLength(4);
    expect(Object.entries(env).reduce((n, [k, v]) => n + k.length + (v ?? "").length, 0)).toBeLessThan(2048);
  });
});

describe("a wrong environment", () => {
  const problems = (env: Record<string, string | undefined>) => {
    try {
      loadConfig(env);
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error("loadConfig accepted the environment");
  };

  it("names every missing variable at once", () => {
    const message = problems({ PLATFORM: "host" });
    for (const name of ["NAME_PREFIX", "DOMAIN", "LISTENERS", "WAKE_TARGET_GROUPS", "HOST_INSTANCE_ID", "HOST_SCRIPT_DOCUMENT"]) {
      expect(message).toContain(`${name} is not set`);
    }
  });

  it.each([
    ["PLATFORM", "fargate", 'PLATFORM is "fargate": it must be host or ecs'],
    ["LISTENERS", "arn:aws:elasticloadbalancing", "LISTENERS is not JSON"],
    ["LISTENERS", "[]", "LISTENERS must be a JSON array of at least one of HTTPS listener ARNs"],
    ["WAKE_TARGET_GROUPS", JSON.stringify([LISTENER]), "WAKE_TARGET_GROUPS holds"],
    ["HOST_INSTANCE_ID", "web-1", 'HOST_INSTANCE_ID is "web-1"'],
    [
      "HOST_SCRIPT_DOCUMENT",
      "AWS RunShellScript",
      'HOST_SCRIPT_DOCUMENT is "AWS RunShellScript": it must be the name of the fleet\'s SSM document',
    ],
    ["WAKE_OUTSIDE_HOURS", "yes", 'WAKE_OUTSIDE_HOURS is "yes": it must be true or false'],
    ["SCHEDULE", JSON.stringify({ ...HOURS, timezone: "Bangkok" }), 'SCHEDULE: "Bangkok" is not an IANA time zone'],
    ["SCHEDULE", JSON.stringify({ ...HOURS, start: "8am" }), "SCHEDULE must be"],
    ["SCHEDULE", JSON.stringify({ ...HOURS, days: [] }), "SCHEDULE must be"],
  ])("%s=%s", (name, value, expected) => {
    expect(problems(envOf("host", { [name]: value }))).toContain(expected);
  });

  it("wants one wake group per listener", () => {
    const two = JSON.stringify([LISTENER, LISTENER.replace("f2f7dc8efc522ab2", "0000000000000000")]);
    expect(problems(envOf("ecs", { LISTENERS: two }))).toContain("LISTENERS has 2 listeners but WAKE_TARGET_GROUPS 1 groups");
  });
});
