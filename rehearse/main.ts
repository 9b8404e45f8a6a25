/**
 * npm run rehearse [-- --keep | --down]
 *
 * Runs the rendered host files on a real Docker engine with real code-server behind a real TLS
 * proxy built from the ALB's routing table, logs in with a real browser, and walks through the
 * day-two operations. Prints one line per check and, last, "N passed, N failed"; exits 0 only
 * when every check passed. Writes .rehearsal/report.json.
 *
 *   --keep          leave the engine, the containers and the proxy running afterwards
 *   --down          tear down what a kept (or interrupted) run left, and exit
 *   --only <regex>  run only the checks whose names match, besides the essential ones they build on
 */
import { parseCommandLine } from "../src/command-line";
import { CONCESSIONS } from "./concessions";
import { CHECKS } from "./checks";
import { dockerCli, dockerHost, engineEnv, nofileHardLimit, stopEngine } from "./engine";
import { RehearsalHost, removeHost } from "./host";
import { stopInternet } from "./internet";
import { layout } from "./lib/layout";
import { elapsedSeconds, record, say } from "./lib/log";
import { emptyReport, faultResults, faultTable, summaryLine, writeReport, type Report } from "./lib/report";
import { killRunning } from "./lib/run";
import { proxyPorts, stopProxy } from "./proxy";
import { Rehearsal } from "./rehearsal";
import { containerName } from "../src/naming";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

const USAGE = `usage: npm run rehearse [-- [--keep] [--only <regex>] | --down]
  --keep          leave the engine, the containers and the proxy running (address them with .rehearsal/report.json)
  --down          tear down what a kept or interrupted run left
  --only <regex>  run only the checks whose names match (and the essential ones, which the others build on)`;

/** Stops everything the rehearsal may have left running and removes the host. */
async function down(env: NodeJS.ProcessEnv): Promise<void> {
  await stopProxy();
  await stopEngine(env);
  await stopInternet();
  await removeHost();
}

function fillAddresses(report: Report, r: Rehearsal): void {
  const fleet = r.host.created ? r.host.fleet : r.base.fleet;
  report.domain = fleet.domain;
  report.proxy = { https: `127.0.0.1:${r.ports.https}`, http: `127.0.0.1:${r.ports.http}` };
  report.dockerCli = dockerCli;
  report.dockerHost = dockerHost;
  report.composeArgs = r.host.created ? r.host.composeArgs : [];
  report.developers = fleet.developers.map((d) => ({ name: d.name, port: d.port, container: containerName(d), service: containerName(d) }));
}

interface Options {
  readonly keep: boolean;
  readonly down: boolean;
  readonly only?: RegExp;
  /** The checks to run: those --only names, and the essential ones they build on. */
  readonly checks: typeof CHECKS;
}

/** The command line's options, or the exit code of a command line that is wrong (the usage said). */
function optionsOf(argv: string[]): Options | { exit: number } {
  const parsed = parseCommandLine<{ keep?: boolean; down?: boolean; only?: string }>(
    argv,
    { keep: { type: "boolean" }, down: { type: "boolean" }, only: { type: "string" } },
    USAGE,
  );
  if ("exit" in parsed) return parsed;
  const options = parsed.values;
  if (options.keep && options.down) {
    console.error(`--keep and --down exclude each other\n${USAGE}`);
    return { exit: 2 };
  }
  let only: RegExp | undefined;
  try {
    only = options.only === undefined ? undefined : new RegExp(options.only);
  } catch (err) {
    console.error(`--only: ${(err as Error).message}\n${USAGE}`);
    return { exit: 2 };
  }
  const checks = CHECKS.filter((c) => !only || c.essential || only.test(c.name));
  if (only && !CHECKS.some((c) => only.test(c.name))) {
    console.error(`--only ${options.only} matches no check; the checks are:\n${CHECKS.map((c) => `  ${c.name}`).join("\n")}`);
    return { exit: 2 };
  }
  return { keep: Boolean(options.keep), down: Boolean(options.down), only, checks };
}

/** A clean start (whatever an earlier run left is torn down) and the rehearsal with its report. */
async function start(host: RehearsalHost, env: NodeJS.ProcessEnv): Promise<{ report: Report; r: Rehearsal }> {
  rmSync(layout.log, { force: true });
  const cold = !existsSync(layout.cache) || readdirSync(layout.cache).length === 0;
  say(`rehearsal ${cold ? "(cold: empty cache)" : "(warm cache)"}; log in ${layout.log}`);
  await down(env);

  const report = emptyReport();
  report.concessions.push(...CONCESSIONS);
  report.facts.cold = cold;
  const r = new Rehearsal(host, proxyPorts(), report, env);
  if (r.ports.https !== 443 || r.ports.http !== 80) {
    report.concessions.push({
      what: `the proxy listens on ${r.ports.https} and ${r.ports.http} instead of 443 and 80`,
      why: "REHEARSAL_HTTPS_PORT / REHEARSAL_HTTP_PORT were set",
      seam: "rehearse/proxy.ts proxyPorts()",
    });
  }
  return { report, r };
}

/** Whether a signal interrupted the run, and the run's last step: the report written, and the rest torn down unless kept. */
interface Ending {
  interrupted: boolean;
  readonly finish: () => Promise<void>;
}

/** How the run ends, on its own or by SIGINT or SIGTERM (which record the interruption and exit 130). */
function ending(r: Rehearsal, report: Report, env: NodeJS.ProcessEnv, keep: boolean): Ending {
  const end: Ending = {
    interrupted: false,
    finish: async () => {
      await r.closeBrowser();
      if (r.base) fillAddresses(report, r);
      report.timings.totalSeconds = Number(elapsedSeconds().toFixed(1));
      report.kept = keep && !end.interrupted;
      if (!report.kept) {
        say("tearing down (engine, proxy, data volume)");
        await down(env).catch((err: Error) => say(`teardown: ${err.message}`));
      }
      writeReport(report);
    },
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (end.interrupted) return;
      end.interrupted = true;
      say(`${signal}: stopping`);
      killRunning();
      report.checks.push({ name: "the rehearsal ran to its end", ok: false, detail: `interrupted by ${signal}`, seconds: 0 });
      void end.finish().then(() => {
        console.log(summaryLine(report));
        process.exit(130);
      });
    });
  }
  return end;
}

/** Runs the checks in order, each recorded as it ends; after an essential one fails, the rest are recorded as not run. */
async function runChecks(checks: typeof CHECKS, r: Rehearsal, report: Report, end: Ending): Promise<void> {
  let blockedBy: string | undefined;
  for (const check of checks) {
    if (end.interrupted) break;
    if (blockedBy) {
      report.checks.push({ name: check.name, ok: false, detail: `not run: "${blockedBy}" failed`, seconds: 0 });
      continue;
    }
    const started = Date.now();
    let ok = true;
    let detail: string;
    try {
      detail = await check.run(r);
    } catch (err) {
      ok = false;
      detail = (err as Error).message;
    }
    if (end.interrupted) break;
    const seconds = Number(((Date.now() - started) / 1000).toFixed(1));
    report.checks.push({ name: check.name, ok, detail, seconds });
    report.faults = faultResults(report.checks);
    say(`${ok ? "PASS" : "FAIL"} ${check.name} (${seconds}s)\n        ${detail.split("\n").join("\n        ")}`);
    if (!ok && check.essential) blockedBy = check.name;
    writeReport(report);
  }
}

/** The run's outcome, last in the log: the faults table, each failed check again, where the report is, and the counts. */
function sayOutcome(report: Report): void {
  const table = faultTable(report.faults);
  if (table.length)
    say(
      `the faults leg, ${report.faults.filter((f) => f.outcome === "held").length} of ${report.faults.length} held:\n${table.join("\n")}`,
    );
  // Last, where a CI log's tail shows it: each failed check again, with what it found.
  for (const failed of report.checks.filter((c) => !c.ok)) {
    say(`FAILED ${failed.name}\n        ${failed.detail.split("\n").slice(0, 12).join("\n        ")}`);
  }
  record(`report: ${join(layout.report)}`);
  say(`report: ${layout.report}${report.kept ? " (engine, containers and proxy kept running: npm run rehearse -- --down ends them)" : ""}`);
  console.log(summaryLine(report));
}

async function main(argv: string[]): Promise<number> {
  const options = optionsOf(argv);
  if ("exit" in options) return options.exit;
  if (process.getuid?.() !== 0) {
    console.error("npm run rehearse needs root: it runs a Docker engine, a loop device and mounts (sudo npm run rehearse)");
    return 1;
  }
  const nofileMax = await nofileHardLimit();
  const host = new RehearsalHost(nofileMax);
  const env = engineEnv(host.root, nofileMax);
  if (options.down) {
    await down(env);
    say("torn down: engine stopped, proxy stopped, data volume unmounted and detached, host removed");
    return 0;
  }
  const { report, r } = await start(host, env);
  const end = ending(r, report, env, options.keep);
  if (options.only) report.facts.only = String(options.only);
  await runChecks(options.checks, r, report, end);
  if (end.interrupted) return new Promise(() => undefined);
  await end.finish();
  sayOutcome(report);
  return report.checks.every((c) => c.ok) ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    console.log("0 passed, 1 failed");
    process.exit(1);
  },
);
