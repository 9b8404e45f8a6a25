/**
 * The sleep leg's machinery: the sleeper's and the wake's own handlers with the functions'
 * synthesized environment, against the AWS stand-in; the wake group's Lambda target behind the
 * ALB stand-in, which routes each developer by their rule as the stand-in holds it; the host's
 * idle rule read from what publish-metrics.sh publishes.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Rule } from "@aws-sdk/client-elastic-load-balancing-v2";
import { makeClients } from "../../src/lambdas/sleep-wake/aws";
import { loadConfig } from "../../src/lambdas/sleep-wake/config";
import { runSleeper, type SleeperResult } from "../../src/lambdas/sleeper/handler";
import type { SleeperDeps } from "../../src/lambdas/sleeper/sleep";
import { wake, type WakeDeps } from "../../src/lambdas/wake/handler";
import { RouteCache } from "../../src/lambdas/wake/state";
import { containerName, hostPaths, metricNames } from "../../src/naming";
import type { RehearsalHost } from "../host";
import { layout } from "../lib/layout";
import { record } from "../lib/log";
import { run, sleep } from "../lib/run";
import { startProxy, type ProxyPorts } from "../proxy";
import { stackConfigOf, type RenderedRoster } from "../rosters";
import { alarmsOf, forwardsToWake, functionEnvironment, proxyRoutes, ruleHost, rulesOf, weightsOf } from "./account";
import { SleepStandIn } from "./clients";
import { documentOf } from "./document";
import { LambdaTarget } from "./lambda-target";

// The SDK warns once that its releases from 2027 need Node.js 22, which the Lambda runtime is.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

/** How long ago the stand-in's host started: longer than the sleeper's grace for a host that just started. */
export const HOST_UP_MINUTES = 60;

/** The event EventBridge sends the sleeper when a developer's idle alarm goes to ALARM. */
export function idleAlarmEvent(namePrefix: string, developer: string) {
  return {
    version: "0",
    source: "aws.cloudwatch",
    "detail-type": "CloudWatch Alarm State Change",
    detail: { alarmName: `${namePrefix}-idle-${developer}`, state: { value: "ALARM", reason: "Threshold Crossed" } },
  };
}

export class SleepLeg {
  /** The functions' log lines, prefixed with the function's name. */
  readonly logs: string[] = [];
  readonly standIn: SleepStandIn;
  readonly sleeper: SleeperDeps;
  readonly wake: WakeDeps;
  target!: LambdaTarget;

  constructor(
    readonly roster: RenderedRoster,
    private readonly host: RehearsalHost,
    private readonly ports: ProxyPorts,
  ) {
    const config = stackConfigOf(join(layout.render, roster.variant, "cdktf.out"));
    const region = roster.fleet.region;
    const sleeperConfig = loadConfig(functionEnvironment(config, "sleep_sleeper_function", region));
    const wakeConfig = loadConfig(functionEnvironment(config, "sleep_wake_function", region));
    const alarms = new Map([...alarmsOf(config).values()].map((name) => [name, true]));
    this.standIn = new SleepStandIn(
      rulesOf(config, region),
      alarms,
      {
        runOnHost: (script) => this.runOnHost(script),
        targetHealthy: (arn) => this.targetHealthy(arn),
        rulesChanged: (rules) => this.route(rules),
      },
      new Date(Date.now() - HOST_UP_MINUTES * 60_000),
      { name: sleeperConfig.host!.scriptDocument, content: documentOf(config, sleeperConfig.host!.scriptDocument) },
    );
    const log = (fn: string) => (line: string) => {
      this.logs.push(`${fn} ${line}`);
      record(`${fn}: ${line}`);
    };
    this.sleeper = {
      config: sleeperConfig,
      clients: makeClients(8),
      now: () => new Date(),
      sleep: async (ms) => void (await sleep(ms)),
      log: log("sleeper"),
    };
    this.wake = {
      config: wakeConfig,
      clients: makeClients(),
      now: () => new Date(),
      log: log("wake"),
      routes: new RouteCache(),
      starts: new Map(),
    };
  }

  get wakeGroup(): string {
    return this.wake.config.listeners[0].wakeTargetGroupArn;
  }

  /** Starts the Lambda target and routes the ALB stand-in by the stand-in's rules. */
  async start(): Promise<void> {
    this.target = await LambdaTarget.start(this.wakeGroup, (event) => wake(this.wake, event));
    await this.route([...this.standIn.rules.values()]);
  }

  async stop(): Promise<void> {
    await this.target?.stop();
    this.standIn.restore();
  }

  private async route(rules: readonly Rule[]): Promise<void> {
    const routes = proxyRoutes(this.roster.routes, rules, this.wakeGroup, this.target.port);
    await startProxy(this.roster.fleet.domain, routes, this.ports, this.roster.responseHeaders);
  }

  /** The developer's rule as the stand-in holds it. */
  rule(developer: string): Rule {
    const host = this.host.developer(developer).hostname;
    const rule = [...this.standIn.rules.values()].find((r) => ruleHost(r) === host);
    if (!rule) throw new Error(`no rule for ${host} in the stand-in`);
    return rule;
  }

  asleep(developer: string): boolean {
    return forwardsToWake(this.rule(developer), this.wakeGroup);
  }

  /** The sleeper's run on the developer's idle alarm; resolves once the commands it sent have ended on the host. */
  async idleAlarm(developer: string): Promise<SleeperResult> {
    const result = await runSleeper(this.sleeper, idleAlarmEvent(this.sleeper.config.namePrefix, developer));
    await this.standIn.settled();
    return result;
  }

  /**
   * The document's shell script run as the agent runs it, with the host's scripts directory where
   * the rehearsal's host keeps it.
   */
  private async runOnHost(script: string): Promise<{ code: number | null; output: string }> {
    const dir = `${hostPaths(this.roster.fleet).root}/scripts`;
    const mapped = script.replaceAll(`${dir}/`, `${this.host.path(dir)}/`);
    const result = await run("bash", ["-c", mapped], { env: this.host.env(), timeoutSeconds: 600 });
    return { code: result.code, output: `${result.stdout}${result.stderr}` };
  }

  private async targetHealthy(targetGroupArn: string): Promise<boolean> {
    const rule = [...this.standIn.rules.values()].find((r) => weightsOf(r).has(targetGroupArn) && targetGroupArn !== this.wakeGroup);
    if (!rule) return false;
    const developer = ruleHost(rule).split(".")[0];
    return (await this.host.container(developer))?.health === "healthy";
  }
}

/** Where the host's view of the containers' cgroups is written (ROOT_PREFIX/proc and ROOT_PREFIX/sys/fs/cgroup). */
function cgroupViewDirs(host: RehearsalHost) {
  return { proc: host.path("/proc"), cgroup: host.path("/sys/fs/cgroup") };
}

/**
 * Writes, under ROOT_PREFIX, each running developer container's cgroup as a cgroup v2 host shows
 * it (`/proc/<pid>/cgroup` "0::<path>", `<path>/cpu.stat` usage_usec), from this machine's cgroup
 * v1 CPU accounting of the container (cpuacct.usage, in nanoseconds).
 */
export async function writeCgroupView(host: RehearsalHost): Promise<void> {
  const dirs = cgroupViewDirs(host);
  rmSync(dirs.proc, { recursive: true, force: true });
  for (const developer of host.fleet.developers) {
    const inspect = await host.docker(["inspect", "--format", "{{.State.Pid}} {{.Id}}", containerName(developer)]);
    const [pid, id] = inspect.stdout.trim().split(" ");
    if (inspect.code !== 0 || !pid || pid === "0") continue;
    const v1 = readFileSync(`/proc/${pid}/cgroup`, "utf8")
      .split("\n")
      .map((line) => line.split(":"))
      .find(([, controllers]) => controllers?.split(",").includes("cpuacct"));
    if (!v1) throw new Error(`${containerName(developer)} (pid ${pid}) is in no cpuacct cgroup`);
    const nanoseconds = Number(readFileSync(`/sys/fs/cgroup/cpuacct${v1[2]}/cpuacct.usage`, "utf8").trim());
    mkdirSync(join(dirs.proc, pid), { recursive: true });
    writeFileSync(join(dirs.proc, pid, "cgroup"), `0::/rehearsal/${id}\n`);
    mkdirSync(join(dirs.cgroup, "rehearsal", id), { recursive: true });
    writeFileSync(join(dirs.cgroup, "rehearsal", id, "cpu.stat"), `usage_usec ${Math.floor(nanoseconds / 1000)}\n`);
  }
}

/** One run of publish-metrics.sh: the Active value it published for each running developer. */
export async function sampleActive(host: RehearsalHost): Promise<Map<string, number>> {
  await writeCgroupView(host);
  const result = await host.runScript("scripts/publish-metrics.sh");
  if (result.code !== 0) throw new Error(`publish-metrics.sh exited ${result.code}: ${result.stderr.trim().split("\n").pop()}`);
  const lines = readFileSync(join(host.state, "aws", "cloudwatch", "metric-data.jsonl"), "utf8")
    .trim()
    .split("\n");
  const { MetricData } = JSON.parse(lines[lines.length - 1]) as {
    MetricData: { MetricName: string; Value: number; Dimensions: { Value: string }[] }[];
  };
  return new Map(MetricData.filter((d) => d.MetricName === metricNames(host.fleet).active).map((d) => [d.Dimensions[0].Value, d.Value]));
}
