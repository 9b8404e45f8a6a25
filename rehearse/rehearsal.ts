/**
 * What a check works with: the host, the proxy, the browser, the rendered rosters, and the
 * helpers other checks need (deploy a roster, log in, read the engine's events).
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Page } from "playwright-core";
import { containerName } from "../src/naming";
import { RehearsalBrowser, type LoginOutcome } from "./browser";
import { dockerCli } from "./engine";
import type { EcsLeg } from "./ecs/leg";
import type { RehearsalHost } from "./host";
import { sleep } from "./lib/run";
import type { ImageInfo } from "./image";
import type { Report } from "./lib/report";
import { ensureProviderCertificate } from "./provider";
import { certificateSpki, proxyRequest, startProxy, type ProxyPorts } from "./proxy";
import { renderRoster, type RenderedRoster, type RosterEdit } from "./rosters";

export interface EngineEvent {
  readonly action: string;
  readonly container: string;
  /** Seconds since the epoch, with nanosecond precision. */
  readonly time: number;
}

export class Rehearsal {
  /** Set by the image check. */
  image?: ImageInfo;
  /** Set by the first-apply check: its output and the engine's events meanwhile, for the checks that read them. */
  firstApplyOutput = "";
  firstApplyEvents: EngineEvent[] = [];
  /** apply.sh's output when a developer was removed, and the sockets their directory held. */
  removalOutput?: string;
  socketsBeforeRemoval = "";
  /** The workbench page opened by the browser-login check. */
  workbench?: Page;
  /** The ECS leg's roster, tasks and file system; set by its first check. */
  ecs?: EcsLeg;
  /** The roster as `npm run synth` renders it; set by the synth check. */
  base!: RenderedRoster;
  private browserInstance?: RehearsalBrowser;
  private readonly rosters = new Map<string, RenderedRoster>();

  constructor(
    readonly host: RehearsalHost,
    readonly ports: ProxyPorts,
    readonly report: Report,
    /** The environment sh/engine.sh runs in. */
    readonly engineEnv: NodeJS.ProcessEnv,
  ) {}

  /** Renders the base roster (the project's roster.yaml). */
  async renderBase(): Promise<RenderedRoster> {
    this.base = await renderRoster("base");
    this.rosters.set("base", this.base);
    return this.base;
  }

  get domain(): string {
    return this.host.fleet.domain;
  }

  hostname(name: string): string {
    return this.host.developer(name).hostname;
  }

  /** A roster variant, synthesized once. */
  async roster(variant: string, edit: RosterEdit): Promise<RenderedRoster> {
    const known = this.rosters.get(variant);
    if (known) return known;
    const rendered = await renderRoster(variant, edit);
    this.rosters.set(variant, rendered);
    return rendered;
  }

  /** What a deploy does before the host applies: new host files and secrets, and the ALB's new rules. */
  async deploy(roster: RenderedRoster): Promise<void> {
    await this.host.deploy(roster);
    await startProxy(roster.fleet.domain, roster.routes, this.ports, roster.responseHeaders);
  }

  async browser(): Promise<RehearsalBrowser> {
    this.browserInstance ??= await RehearsalBrowser.launch(this.domain, this.ports, [
      await certificateSpki(),
      await ensureProviderCertificate(),
    ]);
    return this.browserInstance;
  }

  async closeBrowser(): Promise<void> {
    await this.browserInstance?.close().catch(() => undefined);
    this.browserInstance = undefined;
  }

  /** Logs in to a developer's URL with a browser (no cookies). */
  async login(name: string, password: string): Promise<LoginOutcome> {
    return (await this.browser()).tryLogin(this.hostname(name), password);
  }

  /** GET through the ALB stand-in. */
  get(name: string, path: string, scheme: "https" | "http" = "https") {
    return proxyRequest(scheme, this.hostname(name), path, this.ports);
  }

  /**
   * Records the engine's container lifecycle and health events from now until the returned
   * function is called, which returns them. Streamed as they happen: dockerd keeps only the last
   * few hundred events, and health checks alone produce dozens a minute. When dockerd restarts
   * meanwhile (setup.sh restarts it for a new daemon.json), the stream is opened again, from the
   * moment it broke.
   */
  async watchEvents(): Promise<() => Promise<EngineEvent[]>> {
    const filters = ["type=container", "event=create", "event=start", "event=health_status"].flatMap((f) => ["--filter", f]);
    const lines = new Set<string>();
    let stopped = false;
    let err = "";
    let child: ChildProcess | undefined;
    let closed: Promise<unknown> = Promise.resolve();
    const open = (since?: number) => {
      const args = ["events", ...filters, "--format", "{{json .}}", ...(since === undefined ? [] : ["--since", String(since)])];
      const current = spawn(dockerCli, args, { env: this.host.env(), stdio: ["ignore", "pipe", "pipe"] });
      child = current;
      let partial = "";
      current.stdout.on("data", (chunk: Buffer) => {
        const text = partial + chunk.toString();
        const complete = text.split("\n");
        partial = complete.pop() ?? "";
        for (const line of complete) if (line) lines.add(line);
      });
      current.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
      closed = new Promise((resolve) =>
        current.on("close", () => {
          if (!stopped) {
            const brokeAt = Math.floor(Date.now() / 1000) - 1;
            setTimeout(() => (stopped ? undefined : open(brokeAt)), 1000);
          }
          resolve(undefined);
        }),
      );
    };
    open();
    // The subscription is made once the client has connected.
    await sleep(1000);
    if (child?.exitCode !== null) throw new Error(`docker events ended at once: ${err.trim()}`);
    return async () => {
      await sleep(1000);
      stopped = true;
      child?.kill();
      await closed;
      return [...lines]
        .map((line) => JSON.parse(line) as { Action: string; Actor: { Attributes: { name: string } }; timeNano: number })
        .map((e) => ({ action: e.Action, container: e.Actor.Attributes.name, time: e.timeNano / 1e9 }))
        .sort((a, b) => a.time - b.time);
    };
  }

  /** Seconds from each developer container's creation to its first healthy health check. */
  static createdToHealthy(events: readonly EngineEvent[], names: readonly string[]): Record<string, number> {
    const result: Record<string, number> = {};
    for (const name of names) {
      const service = containerName({ name });
      const created = events.find((e) => e.container === service && e.action === "create");
      const healthy = events.find(
        (e) => e.container === service && e.action === "health_status: healthy" && (!created || e.time >= created.time),
      );
      if (created && healthy) result[name] = Number((healthy.time - created.time).toFixed(1));
    }
    return result;
  }
}
