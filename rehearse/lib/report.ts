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

export interface Report {
  checks: CheckResult[];
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
