/**
 * The rehearsal's results: every check with its outcome and duration, the concessions (where the
 * rehearsal differs from an EC2 host, and why), the measured timings, and what other tooling
 * needs to address the kept engine, proxy and containers. Written to `.rehearsal/report.json`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { layout } from "./layout";

export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly seconds: number;
}

export interface Concession {
  /** What differs from an EC2 host. */
  readonly what: string;
  /** Why it cannot be as on EC2 here. */
  readonly why: string;
  /** Where the difference is made (a stand-in, an override file, a variable). */
  readonly seam: string;
}

export interface DeveloperEntry {
  readonly name: string;
  readonly port: number;
  readonly container: string;
  readonly service: string;
}

/** One fault of the faults leg: what was broken on purpose, and what held afterwards. */
export interface FaultResult {
  readonly fault: string;
  readonly outcome: "held" | "failed" | "not run";
  /** What held afterwards (or what did not). */
  readonly afterwards: string;
  readonly seconds: number;
}

export interface Report {
  checks: CheckResult[];
  /** The faults leg: each fault with its outcome (also among `checks`, named "fault: ..."). */
  faults: FaultResult[];
  concessions: Concession[];
  domain: string;
  /** `host:port` of the ALB stand-in's listeners. */
  proxy: { https: string; http: string };
  /** A docker client with the compose plugin. */
  dockerCli: string;
  dockerHost: string;
  /** Arguments of `docker compose` that address the rehearsed project. */
  composeArgs: string[];
  developers: DeveloperEntry[];
  /** Measured durations in seconds (first apply per container, add, remove, no-op apply, whole run). */
  timings: Record<string, number | Record<string, number>>;
  /** What the image really holds, and other facts of this run. */
  facts: Record<string, string | boolean>;
  /** The run left the engine, containers and proxy running (--keep). */
  kept: boolean;
}

export function emptyReport(): Report {
  return {
    checks: [],
    faults: [],
    concessions: [],
    domain: "",
    proxy: { https: "", http: "" },
    dockerCli: "",
    dockerHost: "",
    composeArgs: [],
    developers: [],
    timings: {},
    facts: {},
    kept: false,
  };
}

export function writeReport(report: Report): void {
  mkdirSync(dirname(layout.report), { recursive: true });
  writeFileSync(layout.report, `${JSON.stringify(report, null, 2)}\n`);
}

export function summaryLine(report: Report): string {
  const passed = report.checks.filter((c) => c.ok).length;
  return `${passed} passed, ${report.checks.length - passed} failed`;
}

/** The checks of the faults leg are named "fault: <what is broken>: <what must hold>". */
export const FAULT_PREFIX = "fault: ";

/** The faults leg's results, from its checks. */
export function faultResults(checks: readonly CheckResult[]): FaultResult[] {
  return checks
    .filter((c) => c.name.startsWith(FAULT_PREFIX))
    .map((c) => ({
      fault: c.name.slice(FAULT_PREFIX.length).split(": ")[0],
      outcome: c.ok ? "held" : /^not run/.test(c.detail) ? "not run" : "failed",
      afterwards: c.detail,
      seconds: c.seconds,
    }));
}

/** The faults as a table for the report's end: fault, outcome, seconds, then what held, wrapped. */
export function faultTable(faults: readonly FaultResult[]): string[] {
  if (faults.length === 0) return [];
  const width = Math.max(...faults.map((f) => f.fault.length), "Fault".length);
  const rule = `${"-".repeat(width)}  -------  -------`;
  const lines = [`${"Fault".padEnd(width)}  Outcome  Seconds`, rule];
  for (const f of faults) {
    lines.push(`${f.fault.padEnd(width)}  ${f.outcome.padEnd(7)}  ${f.seconds.toFixed(1).padStart(7)}`);
    for (const part of wrap(f.afterwards, 110)) lines.push(`    ${part}`);
  }
  return lines;
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  for (const paragraph of text.split("\n")) {
    let line = "";
    for (const word of paragraph.split(" ")) {
      if (line && line.length + word.length + 1 > width) {
        out.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    if (line) out.push(line);
  }
  return out;
}
