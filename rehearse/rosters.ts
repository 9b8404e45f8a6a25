/**
 * The rosters the rehearsal deploys, each synthesized by the project's own entry point (what
 * `npm run synth` runs) into `.rehearsal/render/<variant>/`. The host files are taken from the
 * synthesized stack's S3 objects: byte for byte what the SSM association would sync to the host.
 */
import { readFileSync, readdirSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseDocument, type Document } from "yaml";
import { HOST_FILES_MANIFEST as MANIFEST_FILE } from "../src/naming";
import { HOST_FILES_PREFIX } from "../src/naming";
import { DEFAULT_ROSTER_FILE, loadRoster, type Fleet } from "../src/roster";
import type { TerraformJson } from "../src/terraform/plan-json";
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
  /** Where the target listens: a task's own address on ECS. @default "127.0.0.1" (the host's published port) */
  readonly address?: string;
}

/** The SSM document that applies the host files, and the association's values for its parameters, as synthesized. */
export interface ApplyDocument {
  /** The document's runCommand, joined into the script SSM writes to `_script.sh`. */
  readonly script: string;
  /** Each parameter's allowedPattern, which SSM checks a value against before it runs anything. */
  readonly allowedPatterns: Readonly<Record<string, string>>;
  /** The association's parameter values: literals, or Terraform references (`${aws_...}`) resolved only by a deploy. */
  readonly parameters: Readonly<Record<string, string>>;
}

export interface RenderedRoster {
  readonly variant: string;
  readonly fleet: Fleet;
  /** The host files with MANIFEST.sha256, as uploaded under host-files/. */
  readonly hostFiles: readonly HostFile[];
  /** config/alb-rules.json, parsed: the ALB's routing table. */
  readonly routes: readonly Route[];
  readonly applyDocument: ApplyDocument;
  /** Response headers the ALB's HTTPS listener adds (its routing.http.response.* attributes), by header name. */
  readonly responseHeaders: Readonly<Record<string, string>>;
}

/** How a roster variant signs in (the roster's `auth`). */
export type RosterAuth = { type: "password" } | { type: "oidc"; issuer: string; clientId: string; maxSessionHours?: number };

/** A roster edit: changes the parsed roster.yaml document in place. */
export type RosterEdit = (roster: {
  developers: { name: string; port: number; email?: string }[];
  codeServer: { tag: string };
  auth?: RosterAuth;
  /** Sleep when idle: the team's idle minutes. */
  sleep?: { idleMinutes: number };
}) => void;

/** The roster `npm run synth` reads (ROSTER_FILE, as main.ts). */
export const baseRosterFile = () => join(PROJECT_ROOT, process.env.ROSTER_FILE || DEFAULT_ROSTER_FILE);

// Terraform template syntax is escaped in S3 object contents (src/constructs/expressions.ts).
const unescapeTemplate = (text: string) => text.replace(/\$\$\{/g, "${").replace(/%%\{/g, "%{");

/** The one synthesized stack's configuration under an outdir. */
export function stackConfigOf(outdir: string): TerraformJson {
  return JSON.parse(readFileSync(join(stackDirOf(outdir), "cdk.tf.json"), "utf8")) as TerraformJson;
}

/** The one synthesized stack's directory under an outdir, where its files beside the configuration are. */
function stackDirOf(outdir: string): string {
  const stacks = readdirSync(join(outdir, "stacks"));
  if (stacks.length !== 1) throw new Error(`expected one stack in ${outdir}/stacks, found ${stacks.join(", ")}`);
  return join(outdir, "stacks", stacks[0]);
}

function only(config: TerraformJson, type: string): Record<string, unknown> {
  const resources = Object.values(config.resource?.[type] ?? {});
  if (resources.length !== 1) throw new Error(`expected one ${type} in the synthesized stack, found ${resources.length}`);
  return resources[0];
}

/** The apply document's script, its parameters' patterns and the association's values, as SSM receives them. */
/** The listener attributes (`routing_http_response_<name>_header_value`) the proxy repeats, and their headers. */
const LISTENER_HEADERS: Readonly<Record<string, string>> = {
  strict_transport_security: "Strict-Transport-Security",
  x_content_type_options: "X-Content-Type-Options",
  x_frame_options: "X-Frame-Options",
  content_security_policy: "Content-Security-Policy",
};

/** The response headers the stack's HTTPS listener adds to every response. */
export function listenerResponseHeaders(config: TerraformJson): Record<string, string> {
  const listeners = Object.values(config.resource?.aws_lb_listener ?? {}).filter((l) => l.protocol === "HTTPS");
  if (listeners.length !== 1) throw new Error(`expected one HTTPS listener in the synthesized stack, found ${listeners.length}`);
  const headers: Record<string, string> = {};
  for (const [attribute, header] of Object.entries(LISTENER_HEADERS)) {
    const value = listeners[0][`routing_http_response_${attribute}_header_value`];
    if (typeof value === "string" && value !== "") headers[header] = value;
  }
  return headers;
}

export function applyDocumentOf(config: TerraformJson): ApplyDocument {
  const association = only(config, "aws_ssm_association") as { name: string; parameters: Record<string, string> };
  // The association names its document by reference: `${aws_ssm_document.<id>.name}`.
  const documentId = /^\$\{aws_ssm_document\.([^.]+)\.name\}$/.exec(association.name)?.[1];
  const documentConfig = documentId === undefined ? undefined : config.resource?.aws_ssm_document?.[documentId];
  if (!documentConfig) throw new Error(`the apply association's document ${association.name} is not an aws_ssm_document of the stack`);
  const document = JSON.parse(unescapeTemplate(documentConfig.content as string)) as {
    parameters: Record<string, { allowedPattern: string }>;
    mainSteps: { action: string; inputs: { runCommand: string[] } }[];
  };
  const step = document.mainSteps.find((s) => s.action === "aws:runShellScript");
  if (!step) throw new Error("the apply document has no aws:runShellScript step");
  return {
    script: `${step.inputs.runCommand.join("\n")}\n`,
    allowedPatterns: Object.fromEntries(Object.entries(document.parameters).map(([name, p]) => [name, p.allowedPattern])),
    parameters: Object.fromEntries(Object.entries(association.parameters).map(([name, value]) => [name, unescapeTemplate(value)])),
  };
}

export function hostFilesOf(outdir: string): HostFile[] {
  const config = stackConfigOf(outdir);
  const objects = Object.values(
    (config.resource?.aws_s3_object ?? {}) as Record<string, { key: string; content?: string; source?: string }>,
  );
  // A built file (the sign-in gate's bundle) is uploaded from its file beside the configuration.
  const contentOf = (o: { content?: string; source?: string }) =>
    o.source !== undefined ? readFileSync(join(stackDirOf(outdir), o.source), "utf8") : unescapeTemplate(o.content ?? "");
  const files = objects
    .filter((o) => o.key.startsWith(HOST_FILES_PREFIX))
    .map((o) => ({ path: o.key.slice(HOST_FILES_PREFIX.length), content: contentOf(o) }));
  if (!files.some((f) => f.path === MANIFEST_FILE)) throw new Error(`the synthesized stack in ${outdir} uploads no ${MANIFEST_FILE}`);
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

/** Changes the parsed roster.yaml document in place, for edits RosterEdit cannot make (another platform). */
export type RosterDocumentEdit = (document: Document) => void;

/**
 * Synthesizes `roster.yaml` as `edit` changes it into `.rehearsal/render/<variant>/cdktf.out`
 * with the project's entry point; returns the roster file and the output directory.
 */
export async function synthesize(
  variant: string,
  edit?: RosterDocumentEdit,
  projectRoot = PROJECT_ROOT,
): Promise<{ rosterFile: string; outdir: string }> {
  const dir = join(layout.render, variant);
  mkdirSync(dir, { recursive: true });
  const rosterFile = join(dir, "roster.yaml");
  const document = parseDocument(readFileSync(baseRosterFile(), "utf8"));
  edit?.(document);
  writeFileSync(rosterFile, document.toString());
  const outdir = join(dir, "cdktf.out");
  await runOk("node", ["--import", "tsx", "main.ts", "--outdir", outdir, "--export", join(dir, "deployment")], {
    cwd: projectRoot,
    env: { ...process.env, ROSTER_FILE: rosterFile },
    timeoutSeconds: 300,
  });
  return { rosterFile, outdir };
}

/**
 * Synthesizes a variant of the roster (the base roster when `edit` is absent), with this
 * project's code or, for the upgrade check, a copy of an earlier release's (`projectRoot`).
 */
export async function renderRoster(variant: string, edit?: RosterEdit, projectRoot = PROJECT_ROOT): Promise<RenderedRoster> {
  const { rosterFile, outdir } = await synthesize(
    variant,
    edit &&
      ((document) => {
        const roster = document.toJS();
        edit(roster);
        document.set("developers", document.createNode(roster.developers, { flow: false }));
        document.setIn(["codeServer", "tag"], roster.codeServer.tag);
        if (roster.auth) document.set("auth", document.createNode(roster.auth));
        if (roster.sleep) document.set("sleep", document.createNode(roster.sleep));
      }),
    projectRoot,
  );
  const hostFiles = hostFilesOf(outdir);
  const rules = JSON.parse(hostFiles.find((f) => f.path === "config/alb-rules.json")!.content) as { rules: Route[] };
  const config = stackConfigOf(outdir);
  return {
    variant,
    fleet: loadRoster(rosterFile),
    hostFiles,
    routes: rules.rules,
    applyDocument: applyDocumentOf(config),
    responseHeaders: listenerResponseHeaders(config),
  };
}
