/**
 * The rosters the rehearsal deploys, each synthesized by the project's own entry point (what
 * `npm run synth` runs) into `.rehearsal/render/<variant>/`. The host files are taken from the
 * synthesized stack's S3 objects: byte for byte what the SSM association would sync to the host.
 */
import { readFileSync, readdirSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseDocument } from "yaml";
import { HOST_FILES_MANIFEST as MANIFEST_FILE } from "../src/naming";
import { HOST_FILES_PREFIX } from "../src/naming";
import { DEFAULT_ROSTER_FILE, loadRoster, type Fleet } from "../src/roster";
import { PROJECT_ROOT, layout } from "./lib/layout";
import { runOk } from "./lib/run";

export interface HostFile {
  readonly path: string;
  readonly content: string;
}

export interface Route {
  readonly developer: string;
  readonly host: string;
  readonly port: number;
  readonly container: string;
}

export interface RenderedRoster {
  readonly variant: string;
  readonly fleet: Fleet;
  /** The host files with MANIFEST.sha256, as uploaded under host-files/. */
  readonly hostFiles: readonly HostFile[];
  /** config/alb-rules.json, parsed: the ALB's routing table. */
  readonly routes: readonly Route[];
}

/** A roster edit: changes the parsed roster.yaml document in place. */
export type RosterEdit = (roster: { developers: { name: string; port: number }[]; codeServer: { tag: string } }) => void;

/** The roster `npm run synth` reads (ROSTER_FILE, as main.ts). */
export const baseRosterFile = () => join(PROJECT_ROOT, process.env.ROSTER_FILE || DEFAULT_ROSTER_FILE);

// Terraform template syntax is escaped in S3 object contents (src/modules/expressions.ts).
const unescapeTemplate = (text: string) => text.replace(/\$\$\{/g, "${").replace(/%%\{/g, "%{");

function hostFilesOf(outdir: string): HostFile[] {
  const stacks = readdirSync(join(outdir, "stacks"));
  if (stacks.length !== 1) throw new Error(`expected one stack in ${outdir}/stacks, found ${stacks.join(", ")}`);
  const config = JSON.parse(readFileSync(join(outdir, "stacks", stacks[0], "cdk.tf.json"), "utf8"));
  const objects = Object.values((config.resource?.aws_s3_object ?? {}) as Record<string, { key: string; content: string }>);
  const files = objects
    .filter((o) => o.key.startsWith(HOST_FILES_PREFIX))
    .map((o) => ({ path: o.key.slice(HOST_FILES_PREFIX.length), content: unescapeTemplate(o.content) }));
  if (!files.some((f) => f.path === MANIFEST_FILE)) throw new Error(`the synthesized stack in ${outdir} uploads no ${MANIFEST_FILE}`);
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

/** Synthesizes a variant of the roster (the base roster when `edit` is absent). */
export async function renderRoster(variant: string, edit?: RosterEdit): Promise<RenderedRoster> {
  const dir = join(layout.render, variant);
  mkdirSync(dir, { recursive: true });
  const rosterFile = join(dir, "roster.yaml");
  const document = parseDocument(readFileSync(baseRosterFile(), "utf8"));
  if (edit) {
    const roster = document.toJS();
    edit(roster);
    document.set("developers", document.createNode(roster.developers, { flow: false }));
    document.setIn(["codeServer", "tag"], roster.codeServer.tag);
  }
  writeFileSync(rosterFile, document.toString());
  const outdir = join(dir, "cdktf.out");
  await runOk("node", ["--import", "tsx", "main.ts", "--outdir", outdir, "--export", join(dir, "deployment")], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ROSTER_FILE: rosterFile },
    timeoutSeconds: 300,
  });
  const hostFiles = hostFilesOf(outdir);
  const rules = JSON.parse(hostFiles.find((f) => f.path === "config/alb-rules.json")!.content) as { rules: Route[] };
  return { variant, fleet: loadRoster(rosterFile), hostFiles, routes: rules.rules };
}
