/** Steps 1-4 as checks: everything later needs them, so each is essential. */
import { existsSync } from "node:fs";
import { HOST_FILES_PREFIX, hostPaths } from "../../src/naming";
import { dockerCli, forgetNetworks, prepareEngine, removeContainersAndNetworks, startEngine } from "../engine";
import { ARTIFACT_BUCKET, DATA_VOLUME_SIZE } from "../host";
import { ensureImage } from "../image";
import { ensureMachinePackages } from "../lib/packages";
import { runOk } from "../lib/run";
import { startProxy } from "../proxy";
import { check, expect } from "./check";

const major = (version: string) => Number(version.replace(/^v/, "").split(".")[0]);

export const PROVISIONING = [
  check(
    "machine: the Debian packages the rehearsal needs are installed",
    async () => {
      const installed = await ensureMachinePackages();
      return installed.length ? `installed ${installed.join(" ")}` : "all present";
    },
    { essential: true },
  ),

  check(
    "synth: npm run synth renders the roster's host files, checked against their manifest",
    async (r) => {
      const base = await r.renderBase();
      return `${base.fleet.developers.length} developers, ${base.hostFiles.length} host files from the synthesized stack's S3 objects`;
    },
    { essential: true },
  ),

  check(
    "engine: Docker Engine >= 25 with Compose v2 runs on its own data-root and socket",
    async (r) => {
      const binaries = await prepareEngine();
      await forgetNetworks(r.engineEnv);
      await startEngine(r.engineEnv);
      await removeContainersAndNetworks();
      const server = (await runOk(dockerCli, ["version", "--format", "{{.Server.Version}}"])).stdout.trim();
      const compose = (await runOk(dockerCli, ["compose", "version", "--short"])).stdout.trim();
      expect(major(server) >= 25, `the engine is ${server}; the compose file's healthcheck.start_interval needs Engine 25`);
      expect(major(compose) >= 2, `docker compose is ${compose}, not Compose v2`);
      r.report.facts.engine = binaries.versions.join(", ");
      return `Engine ${server}, Compose ${compose} (${binaries.versions.join(", ")})`;
    },
    { essential: true },
  ),

  check(
    "image: the roster's code-server image is built offline, shaped like the official one",
    async (r) => {
      const ref = `${r.base.fleet.codeServer.image}:${r.base.fleet.codeServer.tag}`;
      const image = await ensureImage(ref);
      r.image = image;
      r.report.facts.image = ref;
      r.report.facts.codeServerVersionInImage = image.codeServerVersion;
      r.report.facts.nodeVersionInImage = image.nodeVersion;
      r.report.facts.imageBuiltThisRun = image.built;
      if (image.codeServerVersion !== r.base.fleet.codeServer.tag) {
        r.report.concessions.push({
          what: `the image tagged ${ref} holds code-server ${image.codeServerVersion}`,
          why: `code-server ${r.base.fleet.codeServer.tag} is not published on npm; ${image.codeServerVersion} is the next release that is`,
          seam: "rehearse/image.ts (codeServerReleaseFor)",
        });
      }
      // As the official image: user coder (1000), dumb-init entrypoint, curl for the health check.
      const probe = await runOk(dockerCli, [
        "run",
        "--rm",
        "--ulimit",
        "nofile=1024:1024",
        "--entrypoint",
        "sh",
        ref,
        "-c",
        "id -u; id -un; command -v curl; command -v dumb-init; code-server --version 2>/dev/null | tail -1; sudo -n id -u; stat -c '%a %U' /usr/local/bin/fixuid",
      ]);
      const [uid, user, curl, dumbInit, version, sudo, fixuid] = probe.stdout.trim().split("\n");
      expect(uid === "1000" && user === "coder", `the image runs as ${user} (${uid}), not coder (1000)`);
      expect(curl && dumbInit, "the image lacks curl or dumb-init");
      // As the official image: passwordless sudo for coder, and fixuid setuid root.
      expect(
        sudo === "0" && fixuid === "4755 root",
        `sudo -n as coder gives uid ${sudo}, fixuid is ${fixuid}: not shaped like the official image`,
      );
      expect(version?.startsWith(image.codeServerVersion), `code-server --version says ${version}, expected ${image.codeServerVersion}`);
      const entrypoint = (await runOk(dockerCli, ["image", "inspect", "--format", "{{json .Config.Entrypoint}}", ref])).stdout.trim();
      expect(entrypoint === '["/usr/bin/entrypoint.sh","--bind-addr","0.0.0.0:8080","."]', `unexpected entrypoint ${entrypoint}`);
      return `${ref} holds code-server ${version} on Node ${image.nodeVersion}, passwordless sudo for coder and a setuid-root fixuid (${image.built ? `built in ${image.seconds.toFixed(0)}s` : "cached"})`;
    },
    { essential: true },
  ),
];

/** The rehearsed host and the ALB stand-in in front of it. */
export const HOST_AND_PROXY = [
  check(
    "host: a blank host with a blank data volume; the synthesized host files are the S3 objects the SSM document will sync",
    async (r) => {
      await removeContainersAndNetworks();
      await r.host.create(r.base);
      expect(!existsSync(r.host.path(hostPaths(r.base.fleet).root)), "the host has host files before any apply");
      return `${r.base.hostFiles.length} objects under s3://${ARTIFACT_BUCKET}/${HOST_FILES_PREFIX} in the AWS stand-in; a blank ${DATA_VOLUME_SIZE} data volume attached`;
    },
    { essential: true },
  ),

  check(
    "proxy: nginx built from config/alb-rules.json serves TLS for *.<domain>",
    async (r) => {
      await startProxy(r.base.fleet.domain, r.base.routes, r.ports, r.base.responseHeaders);
      expect(existsSync(`${r.host.root}`), "the host is missing");
      const headers = Object.entries(r.base.responseHeaders).map(([name, value]) => `${name}: ${value}`);
      return `https on 127.0.0.1:${r.ports.https}, http on 127.0.0.1:${r.ports.http}, ${r.base.routes.length} host rules; the listener's response headers: ${headers.join("; ") || "none"}`;
    },
    { essential: true },
  ),
];
