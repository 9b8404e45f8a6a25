/**
 * The upgrade of a host deployed with the previous release, whose data volume held only each
 * developer's workspace/ and config/ (code-server's user-data dir, with apply.sh's config.yaml):
 * that release's own host files (synthesized from its commit) run first, through its own apply
 * document, on a host of their own; the developers write files; then this release's first apply
 * moves them into the home. Runs before the main host is created, on a two-developer roster.
 */
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { DATA_MOUNT, containerName } from "../../src/naming";
import { removeContainersAndNetworks } from "../engine";
import { PROJECT_ROOT, layout } from "../lib/layout";
import { runOk } from "../lib/run";
import type { Rehearsal } from "../rehearsal";
import { renderRoster, type RenderedRoster, type RosterEdit } from "../rosters";
import { check, expect, tail } from "./check";

/**
 * The last commit whose host files keep only workspace/ and config/ on the data volume (the
 * branch point of the home layout): what hosts deployed before it run.
 */
export const PREVIOUS_RELEASE = "acca622f3eb1fbb4290889a02abbeca6752ea46e";

const twoDevelopers: RosterEdit = (roster) => {
  roster.developers = roster.developers.slice(0, 2);
};

/** The previous release's roster, synthesized by that release's own code (a git archive of its commit). */
async function renderPrevious(): Promise<RenderedRoster> {
  const dir = join(layout.cache, `release-${PREVIOUS_RELEASE.slice(0, 12)}`);
  const src = join(dir, "src");
  if (!existsSync(join(src, "main.ts"))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(src, { recursive: true });
    await runOk("bash", [
      "-c",
      `set -o pipefail; git -C '${PROJECT_ROOT}' archive --format=tar ${PREVIOUS_RELEASE} | tar -x -C '${src}'`,
    ]).catch((err: Error) => {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`cannot read the previous release ${PREVIOUS_RELEASE} from git (a shallow clone?): ${err.message}`);
    });
    symlinkSync(join(PROJECT_ROOT, "node_modules"), join(src, "node_modules"));
  }
  return renderRoster("upgrade-previous-release", twoDevelopers, src);
}

/** What the developers write, as coder, in the two directories the previous release kept. */
const WRITE = `set -e
cd ~/workspace
echo notes > notes.txt
mkdir -p bin .git private
printf '#!/bin/sh\\nmake\\n' > bin/build.sh && chmod 755 bin/build.sh
echo TOKEN=abc > .env.local && chmod 600 .env.local
echo 'do not touch' > 'read only.txt' && chmod 444 'read only.txt'
: > empty
head -c 1048576 /dev/urandom > data.bin
echo 'ref: refs/heads/main' > .git/HEAD
chmod 700 private && echo k > private/key && chmod 600 private/key
ln -sfn notes.txt latest
cd ~/.local/share/code-server
mkdir -p User extensions/rehearsal.kept-1.0.0
echo '{"editor.fontSize": 15}' > User/settings.json
echo '{"name": "kept"}' > extensions/rehearsal.kept-1.0.0/package.json`;
const WORKSPACE_FILES = [
  "notes.txt",
  "bin",
  "bin/build.sh",
  ".env.local",
  "read only.txt",
  "empty",
  "data.bin",
  ".git",
  ".git/HEAD",
  "private",
  "private/key",
  "latest",
];
const USER_DATA_FILES = ["User", "User/settings.json", "extensions/rehearsal.kept-1.0.0", "extensions/rehearsal.kept-1.0.0/package.json"];

/** Type, owner, mode, size, content hash or link target of each path under a directory. */
function manifest(dir: string, paths: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    paths.map((path) => {
      const full = join(dir, path);
      const stat = lstatSync(full, { throwIfNoEntry: false });
      if (!stat) return [path, "missing"];
      const what = stat.isSymbolicLink()
        ? `link ${readlinkSync(full)}`
        : stat.isDirectory()
          ? "dir"
          : `file ${stat.size} ${createHash("sha256").update(readFileSync(full)).digest("hex").slice(0, 16)}`;
      return [path, `${what} ${stat.uid}:${stat.gid} ${(stat.mode & 0o7777).toString(8)}`];
    }),
  );
}

const differences = (before: Record<string, string>, after: Record<string, string>) =>
  Object.keys(before)
    .filter((p) => before[p] !== after[p])
    .map((p) => `${p}: ${before[p]} -> ${after[p]}`);

export const UPGRADE = [
  check(
    "upgrade: a host of the previous release moves into the home layout on this release's first apply: every file the developers wrote is at its new place with its owner and mode, and their passwords still work",
    async (r: Rehearsal) => {
      const previous = await renderPrevious();
      const current = await r.roster("upgrade", twoDevelopers);
      await removeContainersAndNetworks();
      await r.host.create(previous);
      await r.deploy(previous);
      const old = await r.host.apply();
      expect(old.code === 0, `the previous release's first apply exited ${old.code}:\n${tail(old.stderr)}`);
      const names = previous.fleet.developers.map((d) => d.name);
      const dir = (name: string, sub: string) => r.host.path(`${DATA_MOUNT}/${name}/${sub}`);
      for (const name of names) {
        expect(
          existsSync(dir(name, "workspace")) && !existsSync(dir(name, "home")),
          `${name} is not on the legacy layout after the previous release's apply`,
        );
        const written = await r.host.exec(name, WRITE);
        expect(written.code === 0, `${name} could not write: ${written.stderr}`);
      }
      const before = Object.fromEntries(
        names.map((name) => [
          name,
          { workspace: manifest(dir(name, "workspace"), WORKSPACE_FILES), userData: manifest(dir(name, "config"), USER_DATA_FILES) },
        ]),
      );
      const passwords = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await r.host.password(n)] as const)));
      await r.deploy(current);
      const upgraded = await r.host.apply();
      r.report.timings.upgradeApplySeconds = Number(upgraded.seconds.toFixed(1));
      expect(
        upgraded.code === 0,
        `this release's first apply on the previous release's host exited ${upgraded.code}:\n${tail(upgraded.stderr)}`,
      );
      const problems: string[] = [];
      for (const name of names) {
        problems.push(
          ...differences(before[name].workspace, manifest(dir(name, "home/workspace"), WORKSPACE_FILES)).map(
            (d) => `${name} workspace/${d}`,
          ),
        );
        problems.push(
          ...differences(before[name].userData, manifest(dir(name, "home/.local/share/code-server"), USER_DATA_FILES)).map(
            (d) => `${name} user-data/${d}`,
          ),
        );
        const left = readdirSync(r.host.path(`${DATA_MOUNT}/${name}`));
        if (left.join(" ") !== "home") problems.push(`${DATA_MOUNT}/${name} holds ${left.join(", ")}`);
        if (existsSync(dir(name, "home/.local/share/code-server/config.yaml")))
          problems.push(`${name}: the previous release's config.yaml (with its hash) is still in the home`);
        const owner = statSync(r.host.path(`${DATA_MOUNT}/${name}`));
        if (owner.uid !== 0 || (owner.mode & 0o777) !== 0o755)
          problems.push(`${DATA_MOUNT}/${name} is uid ${owner.uid} mode ${(owner.mode & 0o777).toString(8)}`);
        await r.host.waitHealthy(name);
        const inside = await r.host.exec(name, "cat ~/workspace/notes.txt ~/.local/share/code-server/User/settings.json");
        if (inside.stdout !== 'notes\n{"editor.fontSize": 15}\n')
          problems.push(`${name}'s container reads ${JSON.stringify(inside.stdout)} ${inside.stderr}`);
        const login = await r.login(name, passwords[name]);
        if (!login.accepted) problems.push(`${name}'s password is refused after the upgrade: ${login.message}`);
        const network = JSON.parse((await r.host.docker(["inspect", containerName({ name })])).stdout)[0].NetworkSettings.Networks;
        const bridge = JSON.parse((await r.host.docker(["network", "inspect", Object.keys(network)[0]])).stdout)[0].Options[
          "com.docker.network.bridge.name"
        ];
        if (bridge !== `devnet-${r.host.developer(name).port}`) problems.push(`${name}'s network bridges as ${bridge}`);
      }
      expect(problems.length === 0, `after the upgrade:\n${problems.join("\n")}`);
      const moved = upgraded.stderr.split("\n").filter((l) => / moved .* checked$/.test(l)).length;
      return `the previous release (${PREVIOUS_RELEASE.slice(0, 7)}) applied, ${names.length} developers wrote ${WORKSPACE_FILES.length} workspace and ${USER_DATA_FILES.length} user-data entries each; this release's first apply (${upgraded.seconds.toFixed(1)}s) moved ${moved} directories by checked renames: every entry at its new place with its type, owner, mode, size and content; the passwords still work; the networks now bridge as devnet-<port>`;
    },
  ),
];
