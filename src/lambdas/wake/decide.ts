/**
 * What the wake function does with a visit, as a pure function of what it read: the AWS writes to
 * make and the answer to give. The handler reads the state, calls `decide` and makes the writes.
 */
import type { Schedule } from "../../roster/schedule";
import { nextStart, withinHours } from "../sleep-wake/hours";
import type { HostState } from "../sleep-wake/host";
import type { Route } from "../sleep-wake/routes";
import type { TargetState } from "../sleep-wake/services";
import { type AlbResponse, notFound, page, redirect } from "./page";

/** One Lambda instance starts a developer's compute at most once in this long. */
export const START_INTERVAL_MS = 30_000;

export const STARTING = "Starting your environment — this page reloads by itself";
export const STARTING_HOST = "Starting the host — this page reloads by itself";
export const FAILED = "Could not start; try again in a few minutes";
export const NOT_A_VISIT = "Your environment is asleep: open this address in a browser to wake it";

/**
 * A host that runs this long without its SSM agent online takes no command: a wake that waited on
 * it would wait forever. The agent connects a minute or two after boot; ten leaves a slow boot
 * (a large image, cloud-init's first run) its time.
 */
export const AGENT_ONLINE_MINUTES = 10;
/**
 * A developer's container start that failed is not sent again until this long after it was sent:
 * the page says so and stops reloading, and a visit after that tries once more (the failure may
 * have passed: an image pull, a full disk set right). SSM ends a start at the latest after its
 * document's 10-minute execution timeout, so every failure is shown for five minutes at least, and a
 * start that keeps failing runs at most once in this long however often the developer reloads.
 */
export const FAILED_START_RETRY_MINUTES = 15;

/** The developer's compute as the platform reports it. */
export type Compute =
  | {
      readonly platform: "ecs";
      readonly desiredCount: number;
      /** Why ECS cannot start the service's task (its deployment failed, its tasks keep stopping). @default - none known */
      readonly impaired?: string;
    }
  | {
      readonly platform: "host";
      readonly host: HostState;
      /** The host's SSM agent is connected (so a command reaches it). */
      readonly agentOnline: boolean;
      /** A start of the developer's container was sent a moment ago and has not failed. */
      readonly containerStartSent: boolean;
      /** When the host last started. @default - unknown: its agent is waited for without limit */
      readonly runningSince?: Date;
      /** The developer's newest container start, when it ended without success. @default - it did not fail */
      readonly failedStart?: { readonly status: string; readonly at: Date };
    };

export interface WakeState {
  /** The developer the request's host names. */
  readonly developer: string;
  /** Their listener rule; absent: no developer has that name. */
  readonly route?: Route;
  /** A GET or HEAD that is no websocket upgrade: what a person opening the address sends. */
  readonly visit: boolean;
  /** The request's path and query, to send the browser back to. */
  readonly location: string;
  /** The working hours, when the fleet has them and visits outside them do not wake. */
  readonly closedOutside?: Schedule;
  /** The developer's target group's best target; read unless the answer is already known. */
  readonly target?: TargetState;
  readonly compute?: Compute;
  /** Some of the host's alarms have their actions off (the host slept). */
  readonly hostAlarmsOff?: boolean;
  /** When this Lambda instance last started the developer's compute (epoch ms). */
  readonly lastStartAt?: number;
}

export type WakeAction =
  | { readonly kind: "enable-alarms"; readonly host: boolean }
  | { readonly kind: "point-to-developer" }
  | { readonly kind: "start-host" }
  | { readonly kind: "start-container" }
  | { readonly kind: "start-service" };

export interface Decision {
  readonly actions: readonly WakeAction[];
  readonly response: AlbResponse;
  /** Why the developer cannot be started (logged as a failed wake). */
  readonly problem?: string;
}

interface Start {
  readonly action?: WakeAction;
  readonly message: string;
  readonly problem?: string;
}

const minutesSince = (then: Date, now: Date) => (now.getTime() - then.getTime()) / 60_000;

/** On a running host: start the developer's container, wait for it, or give up on the host's agent or a failed start. */
function containerStartOf(compute: Extract<Compute, { platform: "host" }>, target: TargetState | undefined, now: Date): Start {
  if (!compute.agentOnline) {
    const since = compute.runningSince;
    if (since && minutesSince(since, now) >= AGENT_ONLINE_MINUTES) {
      return { message: FAILED, problem: `the host has run ${Math.floor(minutesSince(since, now))} minutes without its SSM agent online` };
    }
    return { message: STARTING_HOST };
  }
  const failed = compute.failedStart;
  if (failed && minutesSince(failed.at, now) < FAILED_START_RETRY_MINUTES) {
    return { message: FAILED, problem: `the developer's container start ended ${failed.status}` };
  }
  if (compute.containerStartSent || target === "initial") return { message: STARTING };
  return { action: { kind: "start-container" }, message: STARTING };
}

/** What a visit asks of the compute: a start, or a wait (with what to tell the visitor), or a problem. */
function startOf(compute: Compute, target: TargetState | undefined, now: Date): Start {
  if (compute.platform === "ecs") {
    if (compute.desiredCount === 0) return { action: { kind: "start-service" }, message: STARTING };
    return compute.impaired ? { message: FAILED, problem: compute.impaired } : { message: STARTING };
  }
  switch (compute.host) {
    case "stopped":
      return { action: { kind: "start-host" }, message: STARTING_HOST };
    // A stopping host cannot start yet; the page's next reloads start it once it has stopped.
    case "stopping":
    case "pending":
      return { message: STARTING_HOST };
    case "running":
      return containerStartOf(compute, target, now);
    case "shutting-down":
    case "terminated":
      return { message: FAILED, problem: `the host is ${compute.host}` };
  }
}

/** The writes and the answer for the state read at `now`. */
export function decide(state: WakeState, now: Date): Decision {
  const { developer, route } = state;
  if (!route) return { actions: [], response: notFound() };
  if (state.closedOutside && !withinHours(state.closedOutside, now)) {
    const { timezone } = state.closedOutside;
    const message = `Asleep until ${nextStart(state.closedOutside, now)} (${timezone})`;
    return { actions: [], response: page({ developer, message, reload: false, status: state.visit ? 200 : 503 }) };
  }
  if (state.target === "healthy") {
    const actions: WakeAction[] =
      route.to === "wake" ? [{ kind: "enable-alarms", host: state.hostAlarmsOff === true }, { kind: "point-to-developer" }] : [];
    const response = state.visit ? redirect(state.location) : page({ developer, message: STARTING, reload: true, status: 503 });
    return { actions, response };
  }
  if (!state.visit) return { actions: [], response: page({ developer, message: NOT_A_VISIT, reload: false, status: 503 }) };
  if (!state.compute) throw new Error("decide needs the developer's compute when their target is not healthy");
  const start = startOf(state.compute, state.target, now);
  if (start.problem)
    return { actions: [], response: page({ developer, message: FAILED, reload: false, status: 503 }), problem: start.problem };
  const limited = state.lastStartAt !== undefined && now.getTime() - state.lastStartAt < START_INTERVAL_MS;
  const actions = start.action && !limited ? [start.action] : [];
  return { actions, response: page({ developer, message: start.message, reload: true }) };
}
