/**
 * Step 1, the engine: Debian trixie's Docker Engine 26 with containerd 1.7 and Compose v2.26,
 * fetched with `apt-get download` through an apt configuration of the rehearsal's own (the
 * system's sources are never touched) and unpacked with `dpkg-deb -x`; bookworm's runc, because
 * trixie's needs glibc 2.38. The engine runs with its own data-root, exec-root, pidfile and
 * socket under `.rehearsal/engine` (sh/engine.sh), so it shares nothing with any other Docker.
 */
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { layout } from "./lib/layout";
import { say } from "./lib/log";
import { retry, run, runOk } from "./lib/run";

/** Packages of the engine, as `name/suite`. */
export const ENGINE_PACKAGES = [
  "docker.io/trixie",
  "docker-cli/trixie",
  "containerd/trixie",
  "docker-compose/trixie",
  "runc/bookworm",
  // docker.io's docker-init is a link to tini's static binary.
  "tini/trixie",
];
const MIRROR = "http://deb.debian.org/debian";
const SOURCES = ["trixie", "bookworm"].map(
  (suite) => `deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${MIRROR} ${suite} main`,
);
/** Binaries dockerd needs on its PATH, and the client. */
const BINARIES = {
  dockerd: "usr/sbin/dockerd",
  "docker-proxy": "usr/sbin/docker-proxy",
  runc: "usr/sbin/runc",
  containerd: "usr/bin/containerd",
  "containerd-shim-runc-v2": "usr/bin/containerd-shim-runc-v2",
  ctr: "usr/bin/ctr",
  docker: "usr/bin/docker",
  // The init process of a container started with --init (an ECS task definition's initProcessEnabled).
  "docker-init": "usr/bin/tini-static",
} as const;
const COMPOSE_PLUGIN = "usr/libexec/docker/cli-plugins/docker-compose";

export const engineDir = layout.engine;
export const engineBin = join(layout.engine, "bin");
export const dockerSocket = join(layout.engine, "docker.sock");
export const dockerHost = `unix://${dockerSocket}`;
export const dockerCli = join(layout.bin, "docker");
const dockerConfig = join(layout.engine, "docker-config");
const engineScript = join(layout.scripts, "engine.sh");

export interface EngineBinaries {
  /** Unpacked packages, keyed by the sources and package list. */
  readonly root: string;
  /** `name version` of every package. */
  readonly versions: string[];
}

const hash = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 16);

/** The engine's packages, downloaded and unpacked once per key into the cache. */
async function ensureBinaries(): Promise<EngineBinaries> {
  const key = hash(JSON.stringify({ SOURCES, ENGINE_PACKAGES }));
  const dir = join(layout.cache, `engine-${key}`);
  const root = join(dir, "root");
  const done = join(dir, "complete");
  if (!existsSync(done)) {
    say(`downloading the engine: ${ENGINE_PACKAGES.join(" ")}`);
    rmSync(dir, { recursive: true, force: true });
    const apt = join(dir, "apt");
    for (const sub of ["lists/partial", "archives/partial", "sources.list.d", "preferences.d", "debs"])
      mkdirSync(join(apt, sub), { recursive: true });
    writeFileSync(join(apt, "status"), "");
    writeFileSync(join(apt, "sources.list"), `${SOURCES.join("\n")}\n`);
    const config = join(apt, "apt.conf");
    writeFileSync(
      config,
      [
        `Dir::State "${apt}/";`,
        `Dir::State::lists "${apt}/lists/";`,
        `Dir::State::status "${apt}/status";`,
        `Dir::Cache "${apt}/";`,
        `Dir::Cache::archives "${apt}/archives/";`,
        `Dir::Etc::sourcelist "${apt}/sources.list";`,
        `Dir::Etc::sourceparts "${apt}/sources.list.d";`,
        `Dir::Etc::preferencesparts "${apt}/preferences.d";`,
        `APT::Architecture "amd64";`,
        `APT::Sandbox::User "root";`,
        "",
      ].join("\n"),
    );
    const env = { ...process.env, APT_CONFIG: config };
    await retry("apt-get update (engine packages)", () => runOk("apt-get", ["update", "-q"], { env, timeoutSeconds: 300 }));
    await retry("apt-get download (engine packages)", () =>
      runOk("apt-get", ["download", ...ENGINE_PACKAGES], { env, cwd: join(apt, "debs"), timeoutSeconds: 600 }),
    );
    const debs = (await runOk("sh", ["-c", `ls ${join(apt, "debs")}/*.deb`])).stdout.trim().split("\n");
    mkdirSync(root, { recursive: true });
    const versions: string[] = [];
    for (const deb of debs) {
      await runOk("dpkg-deb", ["-x", deb, root]);
      versions.push(
        (await runOk("dpkg-deb", ["-f", deb, "Package", "Version"])).stdout
          .trim()
          .replace(/\n/g, " ")
          .replace(/(Package|Version): /g, ""),
      );
    }
    for (const binary of [...Object.values(BINARIES), COMPOSE_PLUGIN]) {
      if (!existsSync(join(root, binary)))
        throw new Error(`the engine packages hold no ${binary}; ENGINE_PACKAGES in rehearse/engine.ts needs updating`);
    }
    writeFileSync(join(dir, "versions.txt"), `${versions.join("\n")}\n`);
    writeFileSync(done, "");
  }
  const versions = readFileSync(join(dir, "versions.txt"), "utf8").trim().split("\n");
  return { root, versions };
}

/** The machine's open-files hard limit: containers cannot be given more. */
export async function nofileHardLimit(): Promise<number> {
  return Number((await runOk("sh", ["-c", "ulimit -Hn"])).stdout.trim());
}

export function engineEnv(hostRoot: string, nofileMax: number): NodeJS.ProcessEnv {
  return {
    ...process.env,
    REHEARSAL_ENGINE_DIR: engineDir,
    REHEARSAL_ENGINE_BIN: engineBin,
    REHEARSAL_HOST_ROOT: hostRoot,
    REHEARSAL_NOFILE_MAX: String(nofileMax),
  };
}

/** Downloads (once) and links the engine; writes the `dockerCli` wrapper. */
export async function prepareEngine(): Promise<EngineBinaries> {
  const binaries = await ensureBinaries();
  rmSync(engineBin, { recursive: true, force: true });
  mkdirSync(engineBin, { recursive: true });
  for (const [name, path] of Object.entries(BINARIES)) symlinkSync(join(binaries.root, path), join(engineBin, name));
  rmSync(dockerConfig, { recursive: true, force: true });
  mkdirSync(join(dockerConfig, "cli-plugins"), { recursive: true });
  symlinkSync(join(binaries.root, COMPOSE_PLUGIN), join(dockerConfig, "cli-plugins", "docker-compose"));
  mkdirSync(layout.bin, { recursive: true });
  writeFileSync(
    dockerCli,
    [
      "#!/bin/sh",
      "# The rehearsal's docker client: Debian trixie's CLI with the compose plugin, talking to the",
      "# rehearsal's engine unless DOCKER_HOST says otherwise. Written by rehearse/engine.ts.",
      `export DOCKER_CONFIG='${dockerConfig}'`,
      `export DOCKER_HOST="\${DOCKER_HOST:-${dockerHost}}"`,
      `exec '${join(binaries.root, BINARIES.docker)}' "$@"`,
      "",
    ].join("\n"),
  );
  chmodSync(dockerCli, 0o755);
  return binaries;
}

/** `sh/engine.sh <command>`: start, stop, restart, status, poweroff. */
export async function engineCtl(command: "start" | "stop" | "restart" | "status" | "poweroff", env: NodeJS.ProcessEnv) {
  return run("bash", [engineScript, command], { env, timeoutSeconds: 180 });
}

/**
 * Forgets the networks of earlier runs (dockerd keeps them, the default bridge's subnet included,
 * in its data-root), so every run starts like a new host's engine; images stay.
 */
export async function forgetNetworks(env: NodeJS.ProcessEnv): Promise<void> {
  if ((await engineCtl("status", env)).code === 0) throw new Error("the engine is running: its network state cannot be reset");
  rmSync(join(engineDir, "data", "network"), { recursive: true, force: true });
}

export async function startEngine(env: NodeJS.ProcessEnv): Promise<void> {
  const result = await engineCtl("start", env);
  if (result.code !== 0) throw new Error(`the engine did not start:\n${result.stderr.trim()}`);
}

/** The docker client with the rehearsal's engine. */
export function docker(args: readonly string[], options: { input?: string; timeoutSeconds?: number } = {}) {
  return run(dockerCli, args, { env: { ...process.env, DOCKER_HOST: dockerHost }, ...options });
}

export async function dockerOk(args: readonly string[], options: { input?: string; timeoutSeconds?: number } = {}) {
  const result = await docker(args, options);
  if (result.code !== 0) throw new Error(`docker ${args.join(" ")} exited ${result.code}: ${result.stderr.trim()}`);
  return result.stdout;
}

/** Containers and networks of earlier runs go; images stay (they are the image cache). */
export async function removeContainersAndNetworks(): Promise<void> {
  const ids = (await dockerOk(["ps", "-aq"])).trim().split("\n").filter(Boolean);
  if (ids.length) await dockerOk(["rm", "-f", ...ids], { timeoutSeconds: 120 });
  await docker(["network", "prune", "-f"]);
}

/** Stops the engine and undoes its changes to the machine's network. */
export async function stopEngine(env: NodeJS.ProcessEnv): Promise<void> {
  if ((await engineCtl("status", env)).code === 0) await removeContainersAndNetworks().catch(() => undefined);
  await engineCtl("poweroff", env);
  await run("bash", [join(layout.scripts, "net-cleanup.sh"), join(engineDir, "net-state")]);
  // dockerd bind-mounts its data-root onto itself (and may leave network namespaces mounted in
  // its exec-root); they outlive it.
  const mounts = (await run("findmnt", ["-rn", "-o", "TARGET"])).stdout
    .split("\n")
    .filter((m) => m === engineDir || m.startsWith(`${engineDir}/`));
  for (const mount of mounts.sort().reverse()) await run("umount", [mount]);
  // containerd's shims keep their sockets in /run/containerd/s whatever its state directory;
  // the directories go when they are empty (another containerd would still have sockets there).
  await run("rmdir", ["/run/containerd/s", "/run/containerd"]);
}
