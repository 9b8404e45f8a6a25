/**
 * The wake page: each developer's listener rule forwards to this function's target group while
 * they sleep. A visit starts what the developer needs (the host, then their container; or their
 * ECS service), shows a page that reloads itself, and once their target is healthy points their
 * rule back at them, turns their alarms back on and sends the browser on to code-server.
 *
 * A failed AWS call, or a start that cannot succeed (the host script failed, the host's agent never
 * came online, the ECS service cannot start its task: see decide.ts), is logged as
 * `{"event":"wake-failed"}` (for a metric filter and its alarm) and answered with a page asking to
 * try again later; the function itself never fails a visit.
 */
import { developerAlarms, setAlarmActions } from "../sleep-wake/alarms";
import { type Clients, describeError, makeClients } from "../sleep-wake/aws";
import { loadConfig, type SleepConfig } from "../sleep-wake/config";
import { runScript, startHost } from "../sleep-wake/host";
import { pointRoute, type Route } from "../sleep-wake/routes";
import { setDesiredCount } from "../sleep-wake/services";
import { decide, FAILED, type WakeAction } from "./decide";
import { type AlbResponse, notFound, page } from "./page";
import { type AlbEvent, developerOf, requestOf } from "./request";
import { SignIn } from "./sign-in";
import { awsGateStore, loadSignIn } from "./sign-in-settings";
import { readState, RouteCache } from "./state";

export interface WakeDeps {
  readonly config: SleepConfig;
  readonly clients: Clients;
  readonly now: () => Date;
  readonly log: (line: string) => void;
  /** The listener rules, read at most once a minute. */
  readonly routes: RouteCache;
  /** When this instance last started each developer's compute (epoch ms). */
  readonly starts: Map<string, number>;
  /**
   * With a company sign-in: who may wake whom. Without it every visitor may (code-server's password
   * still stands between a stranger and a workspace the wake starts).
   * @default - the fleet signs in with passwords
   */
  readonly signIn?: SignIn;
}

async function perform(deps: WakeDeps, route: Route, action: WakeAction): Promise<void> {
  const { clients, config } = deps;
  switch (action.kind) {
    case "enable-alarms":
      await setAlarmActions(clients.cloudwatch, developerAlarms(config, route.name), true);
      if (action.host) await setAlarmActions(clients.cloudwatch, config.host!.alarmNames, true);
      return;
    case "point-to-developer":
      deps.routes.update(await pointRoute(clients.elb, route, "developer"));
      return;
    case "start-host":
      // The host's own state (pending) keeps visits from starting it twice; the developer's start
      // that follows once it runs must not wait out START_INTERVAL_MS behind it.
      await startHost(clients.ec2, config.host!.instanceId);
      return;
    case "start-container":
      await runScript(clients.ssm, config.host!, "start-containers", route.name);
      break;
    case "start-service":
      await setDesiredCount(clients.ecs, config.namePrefix, route.name, 1);
      break;
  }
  deps.starts.set(route.name, deps.now().getTime());
}

/** The answer to one request. */
export async function wake(deps: WakeDeps, event: AlbEvent): Promise<AlbResponse> {
  const request = requestOf(event);
  const developer = developerOf(request.host, deps.config.domain);
  if (!developer) return notFound();
  try {
    const admission = deps.signIn ? await deps.signIn.admit(developer, request) : "allowed";
    if (admission !== "allowed") return admission;
    const now = deps.now();
    const state = await readState(deps, developer, request, now);
    const decision = decide(state, now);
    if (decision.problem) deps.log(JSON.stringify({ event: "wake-failed", developer, error: decision.problem }));
    for (const action of decision.actions) await perform(deps, state.route!, action);
    if (decision.actions.length > 0) {
      deps.log(JSON.stringify({ event: "wake", developer, actions: decision.actions.map((a) => a.kind) }));
    }
    return decision.response;
  } catch (err) {
    deps.log(JSON.stringify({ event: "wake-failed", developer, error: describeError(err) }));
    return page({ developer, message: FAILED, reload: false, status: 503 });
  }
}

let defaults: WakeDeps | undefined;

/** Made once per Lambda instance: the environment does not change while it lives. */
function defaultDeps(): WakeDeps {
  if (!defaults) {
    const config = loadConfig(process.env);
    const clients = makeClients();
    const signIn = loadSignIn(process.env);
    defaults = {
      config,
      clients,
      now: () => new Date(),
      log: (line) => console.log(line),
      routes: new RouteCache(),
      starts: new Map(),
      ...(signIn ? { signIn: new SignIn(signIn, awsGateStore(clients.ssm), config.domain) } : {}),
    };
  }
  return defaults;
}

export const handler = (event: AlbEvent): Promise<AlbResponse> => wake(defaultDeps(), event);
