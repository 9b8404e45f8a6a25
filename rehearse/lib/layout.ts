/**
 * Where the rehearsal keeps everything: under `.rehearsal/` in the project (git-ignored). Nothing
 * outside it is written, except what the engine puts in the kernel (bridges, iptables chains,
 * loop device, mounts), which teardown removes.
 */
import { existsSync, realpathSync } from "node:fs";
import { join, resolve } from "node:path";

export const PROJECT_ROOT = resolve(__dirname, "..", "..");
export const REHEARSE_DIR = resolve(__dirname, "..");
const configured = join(PROJECT_ROOT, ".rehearsal");
/**
 * Its real path: mounts are reported by real path, and teardown finds the rehearsal's own mounts
 * by this prefix (a `.rehearsal` that is a symbolic link would otherwise hide them).
 */
export const REHEARSAL_DIR = existsSync(configured) ? realpathSync(configured) : configured;

export const layout = {
  root: REHEARSAL_DIR,
  /** Downloads and builds, keyed by their inputs; survives runs. */
  cache: join(REHEARSAL_DIR, "cache"),
  /** The engine's data-root (images survive runs), exec-root, socket, pidfile, logs. */
  engine: join(REHEARSAL_DIR, "engine"),
  /** The docker client wrapper the report names (`dockerCli`). */
  bin: join(REHEARSAL_DIR, "bin"),
  /** Rendered rosters: `render/<variant>/{roster.yaml,cdktf.out,deployment}`. */
  render: join(REHEARSAL_DIR, "render"),
  /** The rehearsed host: ROOT_PREFIX, the data-volume file, the stand-ins' state. */
  host: join(REHEARSAL_DIR, "host"),
  proxy: join(REHEARSAL_DIR, "proxy"),
  browser: join(REHEARSAL_DIR, "browser"),
  report: join(REHEARSAL_DIR, "report.json"),
  log: join(REHEARSAL_DIR, "rehearsal.log"),
  screenshot: join(REHEARSAL_DIR, "workbench.png"),
  /** Shell pieces and stand-ins shipped with the rehearsal. */
  scripts: join(REHEARSE_DIR, "sh"),
  standins: join(REHEARSE_DIR, "standins"),
  /** Fault-injection wrappers (mv, iptables-restore), first on PATH only in the faults leg's runs. */
  faults: join(REHEARSE_DIR, "faults"),
} as const;
