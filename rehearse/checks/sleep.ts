/**
 * Sleep when idle, on the host: a roster with `sleep.idleMinutes` on a host of its own with four
 * developers. The host's idle rule decides who is idle (publish-metrics.sh's Active, as the
 * stand-in CLI records it); CloudWatch's idle alarm is AWS's, so the leg turns "Active was 0"
 * into the alarm's event and runs the sleeper's own handler with it; the wake's own handler
 * answers the sleeping developers' requests behind the ALB stand-in. Both call the AWS stand-in
 * of rehearse/sleep/clients.ts, whose SSM runs the host scripts on the host. Ends with
 * Terraform's plan of the roster against the deployment as the functions left it.
 */
import { randomBytes } from "node:crypto";
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { developerAlarms } from "../../src/lambdas/sleep-wake/alarms";
import { NOT_A_VISIT, STARTING, STARTING_HOST } from "../../src/lambdas/wake/decide";
import { containerName } from "../../src/naming";
import { workbenchLoaded } from "../browser";
import { removeContainersAndNetworks } from "../engine";
import { layout, PROJECT_ROOT } from "../lib/layout";
import { sleep } from "../lib/run";
import { proxyRequest } from "../proxy";
import type { Rehearsal } from "../rehearsal";
import type { RosterEdit } from "../rosters";
import { forwardsToWake, SLEEP_INSTANCE_ID } from "../sleep/account";
import { sampleActive, SleepLeg } from "../sleep/leg";
import type { PlanInput } from "../sleep/plan";
import { check, expect, tail } from "./check";

/** Who does what: idle from the start, a workbench left open, a job running with no tab. */
const IDLE = ["dev1", "dev4"];
const OPEN_TAB = "dev2";
const BUSY = "dev3";
const IDLE_MINUTES = 5;
/** code-server's heartbeat counts for this long after the last request (activity.sh). */
const HEARTBEAT_WINDOW_SECONDS = 90;
const WORKSPACE = "/home/coder/workspace";
const BUSY_PID = "/home/coder/.rehearsal-busy.pid";

const fourSleepy: RosterEdit = (roster) => {
  roster.developers = roster.developers.slice(0, 4);
  roster.sleep = { idleMinutes: IDLE_MINUTES };
};

interface Wake {
  readonly developer: string;
  readonly hostAsleep: boolean;
  readonly seconds: number;
  /** The page the browser saw first: the wake page's text. */
  readonly firstPage: string;
}

interface State {
  leg: SleepLeg;
  /** The file written in each developer's workspace before they slept. */
  readonly files: Map<string, string>;
  workbench?: Page;
  readonly wakes: Wake[];
}
let state: State | undefined;

function started(): State {
  expect(state, "the sleep leg did not start (see its first check)");
  return state;
}

/** Samples Active every 10 s until `done` holds of a sample, or `timeoutSeconds` pass; the last sample. */
async function sampleUntil(r: Rehearsal, done: (active: Map<string, number>) => boolean, timeoutSeconds: number) {
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const active = await sampleActive(r.host);
    if (done(active) || Date.now() > deadline) return active;
    await sleep(10_000);
  }
}

const shown = (active: Map<string, number>) => [...active].map(([name, value]) => `${name} ${value}`).join(", ");

/** Opens a sleeping developer's URL on their workspace and waits for the workbench with the file written before the sleep. */
async function visit(r: Rehearsal, current: State, developer: string): Promise<Wake> {
  const hostAsleep = current.leg.standIn.instance.state !== "running";
  const browser = await r.browser();
  const { page, websocketFrames } = await browser.page();
  try {
    const url = browser.url(r.hostname(developer), `/?folder=${WORKSPACE}`);
    const begun = Date.now();
    const first = await page.goto(url, { waitUntil: "domcontentloaded", timeout: 60_000 });
    const firstPage = (await page.locator("body").innerText()).trim().replace(/\s+/g, " ");
    expect(
      first?.status() === 200 && firstPage.includes(hostAsleep ? STARTING_HOST : STARTING),
      `${url} first answered ${first?.status()} "${firstPage.slice(0, 200)}", not the wake page`,
    );
    await workbenchLoaded(page, websocketFrames);
    const seconds = (Date.now() - begun) / 1000;
    const file = current.files.get(developer)!;
    await page
      .locator(".explorer-folders-view .monaco-list-row", { hasText: file })
      .first()
      .waitFor({ state: "visible", timeout: 30_000 })
      .catch(() => {
        throw new Error(`${developer}'s workbench at ${page.url()} does not show ${file} in its explorer`);
      });
    return { developer, hostAsleep, seconds, firstPage };
  } finally {
    await page.close();
  }
}

/**
 * Unregisters the service workers code-server's pages registered for a developer's origin: the
 * browser checks a worker's script for updates now and then, a GET that would wake a sleeping
 * developer nobody visits (seen here: such a check woke one a minute after their tab closed).
 */
async function forgetServiceWorkers(r: Rehearsal, name: string): Promise<number> {
  const browser = await r.browser();
  const { page } = await browser.page();
  try {
    await page.goto(browser.url(r.hostname(name), "/healthz"), { waitUntil: "domcontentloaded", timeout: 30_000 });
    const forgotten = await page.evaluate(
      "navigator.serviceWorker.getRegistrations().then((all) => Promise.all(all.map((w) => w.unregister())).then(() => all.length))",
    );
    return Number(forgotten);
  } finally {
    await page.close();
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/** The offline plan of the leg's roster against its deployment as the stand-in holds it (a child process: Terraform's plans block). */
function planAsHeld(current: State): Promise<{ selfPlanned: string[]; afterSleepAndWake: string[] }> {
  const { leg } = current;
  const wakeGroup = /targetgroup\/([^/]+)\//.exec(leg.wakeGroup)![1];
  const input: PlanInput = {
    outdir: join(layout.render, leg.roster.variant, "cdktf.out"),
    region: leg.roster.fleet.region,
    wakeGroup,
    asleep: Object.fromEntries([...leg.standIn.rules].map(([id, rule]) => [id, forwardsToWake(rule, leg.wakeGroup)])),
    actionsEnabled: Object.fromEntries(leg.standIn.alarms),
  };
  const dir = join(layout.root, "sleep");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "plan-input.json");
  writeFileSync(file, JSON.stringify(input));
  return new Promise((resolve, reject) => {
    const child = spawn("node", ["--import", "tsx", "rehearse/sleep/plan.ts", file], {
      cwd: PROJECT_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
    child.on("close", (code) =>
      code === 0 ? resolve(JSON.parse(out.trim().split("\n").pop()!)) : reject(new Error(`the plan exited ${code}:\n${tail(err)}`)),
    );
  });
}

export const SLEEP = [
  check(
    `sleep: a host of its own with four developers and sleep.idleMinutes ${IDLE_MINUTES}; the sleeper's and the wake's handlers run with their synthesized environment against the AWS stand-in, the wake group's Lambda target behind the ALB stand-in`,
    async (r) => {
      const roster = await r.roster("sleep", fourSleepy);
      await removeContainersAndNetworks();
      await r.host.create(roster);
      await r.host.deploy(roster);
      const apply = await r.host.apply();
      expect(apply.code === 0, `the first apply exited ${apply.code}:\n${tail(apply.stderr)}`);
      const leg = new SleepLeg(roster, r.host, r.ports);
      state = { leg, files: new Map(), wakes: [] };
      await leg.start();
      for (const { name } of roster.fleet.developers) {
        const file = `before-sleep-${randomBytes(4).toString("hex")}.txt`;
        const written = await r.host.exec(name, `mkdir -p ${WORKSPACE} && echo kept > ${WORKSPACE}/${file}`);
        expect(written.code === 0, `writing ${file} in ${name}'s workspace failed: ${written.stderr}`);
        state.files.set(name, file);
      }
      return `${roster.fleet.developers.map((d) => d.name).join(", ")} applied in ${apply.seconds.toFixed(1)}s; the functions' environment from the synthesized stack (${leg.sleeper.config.listeners.length} listener, host ${SLEEP_INSTANCE_ID}, ${leg.sleeper.config.host!.alarmNames.length} host alarms); ${leg.standIn.rules.size} rules, ${leg.standIn.alarms.size} alarms in the stand-in; the Lambda target on 127.0.0.1:${leg.target.port}; a file written in each workspace`;
    },
  ),

  check(
    `sleep: the host's idle rule: ${IDLE.join(" and ")}, untouched for ${HEARTBEAT_WINDOW_SECONDS} s, publish Active 0; ${OPEN_TAB} with its workbench open and ${BUSY} running a job with no tab open publish Active 1`,
    async (r) => {
      const current = started();
      const browser = await r.browser();
      const passwords = new Map<string, string>();
      for (const { name } of r.host.fleet.developers) passwords.set(name, await r.host.password(name));
      current.workbench = (await browser.openWorkbench(r.hostname(OPEN_TAB), passwords.get(OPEN_TAB)!)).page;
      // Their sessions, for the wakes: logging in is the last request each idle developer gets.
      for (const name of [...IDLE, BUSY]) {
        const { page, outcome } = await browser.login(r.hostname(name), passwords.get(name)!, true);
        await page.close();
        expect(outcome.accepted, `${name}'s login was refused: ${outcome.accepted ? "" : outcome.message}`);
      }
      let workers = 0;
      for (const { name } of r.host.fleet.developers) workers += await forgetServiceWorkers(r, name);
      const busy = await r.host.docker([
        "exec",
        "--detach",
        containerName({ name: BUSY }),
        "sh",
        "-c",
        `echo $$ > ${BUSY_PID}; while :; do :; done`,
      ]);
      expect(busy.code === 0, `the job in ${BUSY}'s container did not start: ${busy.stderr}`);
      const begun = Date.now();
      const active = await sampleUntil(r, (a) => IDLE.every((name) => a.get(name) === 0), HEARTBEAT_WINDOW_SECONDS + 90);
      const waited = (Date.now() - begun) / 1000;
      expect(
        IDLE.every((name) => active.get(name) === 0),
        `after ${waited.toFixed(0)}s Active is ${shown(active)}: ${IDLE.join(" and ")} not idle`,
      );
      expect(active.get(OPEN_TAB) === 1 && active.get(BUSY) === 1, `Active is ${shown(active)}: ${OPEN_TAB} and ${BUSY} should be 1`);
      const healthz = await r.host.exec(BUSY, "curl -fsS http://127.0.0.1:8080/healthz");
      return `after ${waited.toFixed(0)}s Active ${shown(active)}; ${BUSY}'s /healthz ${healthz.stdout.trim()} (active by its CPU); ${workers} service workers of the logins unregistered`;
    },
  ),

  check(
    `sleep: ${IDLE.join(" and ")}'s idle alarms run the sleeper's handler: their alarms quiet, their rules to the wake group, their containers stopped by stop-containers.sh through SSM; the host keeps running for ${OPEN_TAB} and ${BUSY}`,
    async (r) => {
      const { leg } = started();
      const outcomes: string[] = [];
      for (const name of IDLE) {
        const result = await leg.idleAlarm(name);
        expect(result.slept.join() === name && !result.hostStopped, `the sleeper on ${name}'s alarm: ${JSON.stringify(result)}`);
        const container = await r.host.container(name);
        expect(container?.status === "exited", `${containerName({ name })} is ${container?.status} after the sleep`);
        expect(leg.asleep(name), `${name}'s rule does not forward to the wake group: ${JSON.stringify(leg.rule(name).Actions)}`);
        const loud = developerAlarms(leg.sleeper.config, name).filter((alarm) => leg.standIn.alarms.get(alarm) !== false);
        expect(loud.length === 0, `${name}'s alarms with actions still on: ${loud.join(", ")}`);
        outcomes.push(`${name}: ${container.status}, ${developerAlarms(leg.sleeper.config, name).length} alarms quiet`);
      }
      expect(leg.standIn.instance.state === "running", "the host stopped although two developers are awake");
      const failed = leg.standIn.commands.filter((c) => c.status !== "Success");
      expect(failed.length === 0, `SSM commands that failed: ${failed.map((c) => `${c.line}: ${tail(c.output, 4)}`).join("\n")}`);
      // Not a visit (no GET): the wake group's function answers it through the ALB stand-in, and wakes nobody.
      const posted = await proxyRequest("https", r.hostname(IDLE[0]), "/", r.ports, { method: "POST", body: "" });
      expect(
        posted.status === 503 && posted.body.includes(NOT_A_VISIT) && leg.asleep(IDLE[0]),
        `a POST to the sleeping ${IDLE[0]} got ${posted.status} ${posted.body.slice(0, 200)}`,
      );
      const running = await r.host.docker(["ps", "--format", "{{.Names}}", "--filter", "name=^code-server-"]);
      return `${outcomes.join("; ")}; SSM ran ${leg.standIn.commands.map((c) => c.line).join(", ")}; a POST to ${IDLE[0]} gets the wake function's 503 "${NOT_A_VISIT}"; running: ${running.stdout.trim().split("\n").join(", ")}`;
    },
  ),

  check(
    `sleep: once ${OPEN_TAB}'s tab is closed and ${BUSY}'s job has ended they publish Active 0, and their alarms put everyone to sleep: every container stopped, the host's alarms quiet, the host's StopInstances reaches the stand-in`,
    async (r) => {
      const current = started();
      const { leg } = current;
      await current.workbench?.close();
      current.workbench = undefined;
      const stopped = await r.host.exec(BUSY, `kill $(cat ${BUSY_PID})`);
      expect(stopped.code === 0, `the job in ${BUSY}'s container did not stop: ${stopped.stderr}`);
      const begun = Date.now();
      const active = await sampleUntil(r, (a) => a.get(OPEN_TAB) === 0 && a.get(BUSY) === 0, HEARTBEAT_WINDOW_SECONDS + 60);
      const waited = (Date.now() - begun) / 1000;
      expect(active.get(OPEN_TAB) === 0 && active.get(BUSY) === 0, `after ${waited.toFixed(0)}s Active is ${shown(active)}`);
      expect(!active.has(IDLE[0]), `a sleeping developer published Active: ${shown(active)}`);
      const first = await leg.idleAlarm(OPEN_TAB);
      expect(!first.hostStopped, `the host stopped with ${BUSY} awake: ${JSON.stringify(first)}`);
      const last = await leg.idleAlarm(BUSY);
      expect(
        last.hostStopped,
        `the last developer's sleep did not stop the host: ${JSON.stringify(last)}\n${leg.logs.slice(-4).join("\n")}`,
      );
      const stops = leg.standIn.journal.filter((line) => line.startsWith("ec2 StopInstances"));
      expect(stops.length === 1, `StopInstances calls: ${stops.length}`);
      const running = (await r.host.docker(["ps", "--format", "{{.Names}}", "--filter", "name=^code-server-"])).stdout.trim();
      expect(running === "", `containers still running after the host's stop: ${running}`);
      const loud = leg.sleeper.config.host!.alarmNames.filter((alarm) => leg.standIn.alarms.get(alarm) !== false);
      expect(loud.length === 0, `host alarms with actions still on: ${loud.join(", ")}`);
      const allStop = leg.standIn.commands.find((c) => c.line === "stop-containers.sh");
      expect(allStop?.status === "Success", `stop-containers.sh (all) ${allStop ? allStop.status : "was not sent"}`);
      return `after ${waited.toFixed(0)}s Active ${shown(active)}; the sleeper ran stop-containers.sh for everyone (waited, ${allStop.status}), quieted ${leg.sleeper.config.host!.alarmNames.length} host alarms and called ${stops[0]}`;
    },
  ),

  check(
    `sleep: the browser opens the sleeping ${IDLE[0]}'s URL with the host stopped, sees the wake page, and lands in the workbench with the file written before the sleep`,
    async (r) => {
      const current = started();
      const woken = await visit(r, current, IDLE[0]);
      current.wakes.push(woken);
      const { leg } = current;
      expect(!leg.asleep(IDLE[0]), `${IDLE[0]}'s rule still forwards to the wake group`);
      const quiet = [...developerAlarms(leg.wake.config, IDLE[0]), ...leg.wake.config.host!.alarmNames].filter(
        (alarm) => leg.standIn.alarms.get(alarm) === false,
      );
      expect(quiet.length === 0, `alarms still quiet after the wake: ${quiet.join(", ")}`);
      const calls = leg.standIn.journal.filter((line) => /StartInstances|start-containers/.test(line));
      return `"${woken.firstPage}", then the workbench with ${current.files.get(IDLE[0])} in ${woken.seconds.toFixed(1)}s; the wake called ${calls.join(", ")}; its rule and every alarm back`;
    },
  ),

  check(
    "sleep: wake time with the host awake: the browser opens a sleeping developer's URL and lands in their workbench, three times",
    async (r) => {
      const current = started();
      const awake: Wake[] = [];
      for (const name of [IDLE[1], BUSY, OPEN_TAB]) awake.push(await visit(r, current, name));
      current.wakes.push(...awake);
      const seconds = awake.map((w) => Number(w.seconds.toFixed(1)));
      const figure = median(seconds);
      r.report.timings.sleepWakeSeconds = Object.fromEntries(awake.map((w, i) => [w.developer, seconds[i]]));
      r.report.timings.sleepWakeMedianSeconds = figure;
      const failed = current.leg.logs.filter((line) => line.includes("wake-failed"));
      expect(failed.length === 0, `the wake logged failures:\n${failed.join("\n")}`);
      return `${awake.map((w) => `${w.developer} ${w.seconds.toFixed(1)}s`).join(", ")}: median ${figure.toFixed(1)}s (the host asleep first: ${current.wakes[0].seconds.toFixed(1)}s with the stand-in's instant boot)`;
    },
  ),

  check("sleep: Terraform's plan of the roster against its deployment as the sleeper and the wake left it changes nothing", async () => {
    const current = started();
    try {
      // One developer asleep again: the plan meets rules and alarms both ways.
      const again = await current.leg.idleAlarm(IDLE[1]);
      expect(again.slept.join() === IDLE[1], `the sleeper on ${IDLE[1]}'s alarm again: ${JSON.stringify(again)}`);
      const asleep = [...current.leg.standIn.rules.values()].filter((rule) => forwardsToWake(rule, current.leg.wakeGroup)).length;
      const quiet = [...current.leg.standIn.alarms.values()].filter((enabled) => !enabled).length;
      expect(
        asleep === 1 && quiet > 0,
        `the stand-in holds ${asleep} rules to the wake group and ${quiet} quiet alarms, not one sleeping developer`,
      );
      const { selfPlanned, afterSleepAndWake } = await planAsHeld(current);
      const extra = afterSleepAndWake.filter((c) => !selfPlanned.includes(c));
      expect(extra.length === 0, `the plan after the sleeps and wakes changes what a fresh deployment does not:\n${extra.join("\n")}`);
      const flipped = current.leg.standIn.journal.filter((line) => /ModifyRule|AlarmActions/.test(line)).length;
      return `after ${flipped} rule and alarm flips, ${IDLE[1]} asleep again (${asleep} rule to the wake group, ${quiet} alarms quiet): ${afterSleepAndWake.length} changes, those the fabricated deployment plans against itself (${selfPlanned.join(", ") || "none"})`;
    } finally {
      await current.leg.stop();
      state = undefined;
    }
  }),
];
