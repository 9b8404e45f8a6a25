/**
 * The wake function's decisions, one by one, as a pure function of what it read: a stranger's
 * host, outside the working hours, awake, the host stopped or starting, the container or service
 * stopped or starting, a request that is no visit, and the rate limit on starts.
 */
import type { Schedule } from "../src/roster/schedule";
import {
  AGENT_ONLINE_MINUTES,
  type Compute,
  FAILED_START_RETRY_MINUTES,
  decide,
  FAILED,
  NOT_A_VISIT,
  START_INTERVAL_MS,
  STARTING,
  STARTING_HOST,
  type WakeState,
} from "../src/lambdas/wake/decide";
import { RETRY_AFTER_SECONDS } from "../src/lambdas/wake/page";
import { routeOf } from "./helpers/sleep-wake";

// Monday 7 December 2026, 10:00 in Bangkok (UTC+7, no daylight saving time).
const MONDAY_10 = new Date("2026-12-07T03:00:00Z");
const HOURS: Schedule = { timezone: "Asia/Bangkok", days: ["mon", "tue", "wed", "thu", "fri"], start: "08:00", stop: "20:00" };
const hostStopped: Compute = { platform: "host", host: "stopped", agentOnline: false, containerStartSent: false };
const hostUp: Compute = { platform: "host", host: "running", agentOnline: true, containerStartSent: false };

function asleep(extra: Partial<WakeState> = {}): WakeState {
  return { developer: "dev1", route: routeOf("dev1", false), visit: true, location: "/?folder=/home/coder", target: "none", ...extra };
}
const minutesAgo = (minutes: number) => new Date(MONDAY_10.getTime() - minutes * 60_000);
const kinds = (state: WakeState, now = MONDAY_10) => decide(state, now).actions.map((a) => a.kind);
const bodyOf = (state: WakeState, now = MONDAY_10) => decide(state, now).response.body;

describe("unknown host", () => {
  it("answers 404 with no detail and writes nothing", () => {
    const { actions, response } = decide({ developer: "nobody", visit: true, location: "/" }, MONDAY_10);
    expect(actions).toEqual([]);
    expect(response.statusCode).toBe(404);
    expect(response.body).toBe("Not found");
    expect(response.body).not.toContain("nobody");
  });
});

describe("outside the working hours", () => {
  const closed = { closedOutside: HOURS, compute: hostStopped };

  it("shows when the developer wakes, in the schedule's zone, and starts nothing", () => {
    const evening = new Date("2026-12-07T14:00:00Z"); // Monday 21:00 in Bangkok
    const { actions, response } = decide(asleep(closed), evening);
    expect(actions).toEqual([]);
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain("Asleep until tomorrow 08:00 (Asia/Bangkok)");
    expect(response.body).not.toContain('http-equiv="refresh"');
  });

  it("names the weekday after a Friday evening and today before the start", () => {
    expect(bodyOf(asleep(closed), new Date("2026-12-11T14:00:00Z"))).toContain("Asleep until Monday 08:00");
    expect(bodyOf(asleep(closed), new Date("2026-12-07T00:30:00Z"))).toContain("Asleep until today 08:00");
  });

  it("wakes as usual inside the hours", () => {
    expect(kinds(asleep(closed))).toEqual(["start-host"]);
  });

  it("counts the stop itself as outside", () => {
    expect(kinds(asleep(closed), new Date("2026-12-07T13:00:00Z"))).toEqual([]); // 20:00 in Bangkok
  });
});

describe("awake", () => {
  it("points the rule back at the developer, turns their alarms on and redirects to the same path and query", () => {
    const { actions, response } = decide(asleep({ target: "healthy" }), MONDAY_10);
    expect(actions).toEqual([{ kind: "enable-alarms", host: false }, { kind: "point-to-developer" }]);
    expect(response.statusCode).toBe(302);
    expect(response.headers.location).toBe("/?folder=/home/coder");
  });

  it("turns the host's alarms on too when the host slept", () => {
    expect(decide(asleep({ target: "healthy", hostAlarmsOff: true }), MONDAY_10).actions[0]).toEqual({ kind: "enable-alarms", host: true });
  });

  it("writes nothing when the rule already points at the developer", () => {
    const state = asleep({ route: routeOf("dev1", true), target: "healthy" });
    expect(kinds(state)).toEqual([]);
    expect(decide(state, MONDAY_10).response.statusCode).toBe(302);
  });

  it("flips the rule for a request that is no visit, and asks it to come again", () => {
    const { actions, response } = decide(asleep({ target: "healthy", visit: false }), MONDAY_10);
    expect(actions.map((a) => a.kind)).toEqual(["enable-alarms", "point-to-developer"]);
    expect(response.statusCode).toBe(503);
    expect(response.headers["retry-after"]).toBe(String(RETRY_AFTER_SECONDS));
  });
});

describe("host platform", () => {
  it("starts a stopped host and says so", () => {
    expect(kinds(asleep({ compute: hostStopped }))).toEqual(["start-host"]);
    expect(bodyOf(asleep({ compute: hostStopped }))).toContain(STARTING_HOST);
  });

  it.each([
    ["pending", { ...hostStopped, host: "pending" }],
    ["running, agent not online", { ...hostUp, agentOnline: false }],
    ["stopping", { ...hostStopped, host: "stopping" }],
  ] as [string, Compute][])("waits while the host is %s", (_, compute) => {
    const { actions, response } = decide(asleep({ compute }), MONDAY_10);
    expect(actions).toEqual([]);
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain(STARTING_HOST);
    expect(response.body).toContain('<meta http-equiv="refresh" content="5">');
  });

  it("starts the container on a running host", () => {
    expect(kinds(asleep({ compute: hostUp }))).toEqual(["start-container"]);
    expect(bodyOf(asleep({ compute: hostUp }))).toContain(STARTING);
  });

  it("waits while a container start is under way or the target is first checked", () => {
    expect(kinds(asleep({ compute: { ...hostUp, containerStartSent: true } }))).toEqual([]);
    expect(kinds(asleep({ compute: hostUp, target: "initial" }))).toEqual([]);
  });

  it("cannot start a terminated host: a failure, with no detail on the page", () => {
    const decision = decide(asleep({ compute: { ...hostStopped, host: "terminated" } }), MONDAY_10);
    expect(decision.actions).toEqual([]);
    expect(decision.problem).toBe("the host is terminated");
    expect(decision.response.statusCode).toBe(503);
    expect(decision.response.body).toContain(FAILED);
    expect(decision.response.body).not.toContain("terminated");
  });
});

describe("a wake that cannot succeed", () => {
  function expectFailed(state: WakeState, problem: RegExp): void {
    const decision = decide(state, MONDAY_10);
    expect(decision.actions).toEqual([]);
    expect(decision.problem).toMatch(problem);
    expect(decision.response.statusCode).toBe(503);
    expect(decision.response.body).toContain(FAILED);
    // No reload: a failure the page cannot cure is not asked again every five seconds.
    expect(decision.response.body).not.toContain('http-equiv="refresh"');
  }

  it.each(["Failed", "TimedOut", "Cancelled"])("gives up on a container start that ended %s, and sends none", (status) => {
    const compute: Compute = { ...hostUp, failedStart: { status, at: minutesAgo(2) } };
    expectFailed(asleep({ compute }), new RegExp(`container start ended ${status}`));
  });

  it("sends the start again once the failure is old enough, on a new visit", () => {
    const justBefore: Compute = { ...hostUp, failedStart: { status: "Failed", at: minutesAgo(FAILED_START_RETRY_MINUTES - 0.1) } };
    expectFailed(asleep({ compute: justBefore }), /ended Failed/);
    const after: Compute = { ...hostUp, failedStart: { status: "Failed", at: minutesAgo(FAILED_START_RETRY_MINUTES) } };
    expect(kinds(asleep({ compute: after }))).toEqual(["start-container"]);
  });

  it("gives up on a host whose agent has not come online within the limit, and waits before it", () => {
    const late: Compute = { ...hostUp, agentOnline: false, runningSince: minutesAgo(AGENT_ONLINE_MINUTES) };
    expectFailed(asleep({ compute: late }), /run 10 minutes without its SSM agent online/);
    const booting: Compute = { ...hostUp, agentOnline: false, runningSince: minutesAgo(AGENT_ONLINE_MINUTES - 1) };
    expect(decide(asleep({ compute: booting }), MONDAY_10).problem).toBeUndefined();
    expect(bodyOf(asleep({ compute: booting }))).toContain(STARTING_HOST);
  });

  it("gives up on an ECS service that cannot start its task", () => {
    expectFailed(
      asleep({ compute: { platform: "ecs", desiredCount: 1, impaired: "the service's deployment failed" } }),
      /^the service's deployment failed$/,
    );
  });

  it("starts an impaired ECS service that sleeps again: the new visit is the retry", () => {
    expect(kinds(asleep({ compute: { platform: "ecs", desiredCount: 0, impaired: "the service's deployment failed" } }))).toEqual([
      "start-service",
    ]);
  });
});

describe("ECS platform", () => {
  it("starts a service with no task", () => {
    expect(kinds(asleep({ compute: { platform: "ecs", desiredCount: 0 } }))).toEqual(["start-service"]);
  });

  it("waits while the task starts", () => {
    const { actions, response } = decide(asleep({ compute: { platform: "ecs", desiredCount: 1 } }), MONDAY_10);
    expect(actions).toEqual([]);
    expect(response.body).toContain(STARTING);
  });
});

describe("refused and limited", () => {
  it("answers a request that is no visit with 503 and Retry-After, starting nothing", () => {
    const { actions, response } = decide(asleep({ visit: false, compute: hostStopped }), MONDAY_10);
    expect(actions).toEqual([]);
    expect(response.statusCode).toBe(503);
    expect(response.headers["retry-after"]).toBe(String(RETRY_AFTER_SECONDS));
    expect(response.body).toContain(NOT_A_VISIT);
  });

  it("starts at most once per interval, and still shows the page", () => {
    const compute: Compute = { platform: "ecs", desiredCount: 0 };
    const justNow = MONDAY_10.getTime() - START_INTERVAL_MS + 1000;
    const limited = decide(asleep({ compute, lastStartAt: justNow }), MONDAY_10);
    expect(limited.actions).toEqual([]);
    expect(limited.response.statusCode).toBe(200);
    expect(limited.response.body).toContain(STARTING);
    expect(kinds(asleep({ compute, lastStartAt: MONDAY_10.getTime() - START_INTERVAL_MS }))).toEqual(["start-service"]);
  });
});

describe("the page", () => {
  it("is self-contained, never cached, and names only the developer", () => {
    const { headers, body } = decide(asleep({ compute: hostUp }), MONDAY_10).response;
    expect(headers["cache-control"]).toBe("no-store");
    expect(headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(body).not.toMatch(/<script|src=|href=|https?:/i);
    expect(body).toContain("<h1>dev1</h1>");
    expect(body).not.toMatch(/arn:|i-0|targetgroup/);
  });
});
