/**
 * The developer's home on the data volume, against a scratch root with stubbed docker: a host of
 * the legacy layout (<name>/workspace and <name>/config, the user-data dir with apply.sh's
 * config.yaml) moves into <name>/home by renames, loses no file, name, mode, size or time, and
 * finishes after an interruption at any step; apply.sh writes nothing into a home, not even
 * through a link a developer planted there; a network of an older release is recreated with the
 * bridge name the isolation rules match.
 */
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join, relative } from "node:path";
import { DATA_MOUNT, containerName, hostPaths, secretName } from "../src/naming";
import { callsOf, HostSandbox, sandboxHosts, succeeded, type RunResult } from "./fixtures/host-sandbox";
import { BASE_DEVELOPERS, fleetOf } from "./fixtures/rosters";

const host = sandboxHosts();
const calls = callsOf;
const ok = succeeded;

/** Every entry below a directory: type, mode, size, modification time, content hash or link target. */
function manifest(dir: string): Record<string, string> {
  const entries: Record<string, string> = {};
  const walk = (path: string) => {
    for (const name of readdirSync(path)) {
      const full = join(path, name);
      const stat = lstatSync(full);
      const what = stat.isSymbolicLink()
        ? `link ${readlinkSync(full)}`
        : stat.isDirectory()
          ? "dir"
          : stat.isSocket()
            ? "socket"
            : `file ${stat.size} ${createHash("sha256").update(readFileSync(full)).digest("hex")}`;
      entries[relative(dir, full)] = `${what} ${(stat.mode & 0o7777).toString(8)} ${stat.mtimeMs}`;
      if (stat.isDirectory() && !stat.isSymbolicLink()) walk(full);
    }
  };
  walk(dir);
  return entries;
}

/** A developer's directories as the legacy layout left them, with files of every kind. */
function legacyLayout(s: HostSandbox, name: string, options: { userData?: boolean } = {}): void {
  const dir = `${DATA_MOUNT}/${name}`;
  s.write(`${dir}/workspace/notes.txt`, `${name}'s notes\n`);
  s.write(`${dir}/workspace/bin/build.sh`, "#!/bin/sh\nmake\n", 0o755);
  s.write(`${dir}/workspace/.env.local`, "TOKEN=abc\n", 0o600);
  s.write(`${dir}/workspace/read only.txt`, "do not touch\n", 0o444);
  s.write(`${dir}/workspace/empty`, "");
  s.write(`${dir}/workspace/data.bin`, randomBytes(256 * 1024));
  s.write(`${dir}/workspace/.git/HEAD`, "ref: refs/heads/main\n");
  mkdirSync(s.path(`${dir}/workspace/private`), { mode: 0o700 });
  s.write(`${dir}/workspace/private/key`, "k\n", 0o600);
  symlinkSync("notes.txt", s.path(`${dir}/workspace/latest`));
  if (options.userData ?? true) {
    s.write(`${dir}/config/config.yaml`, 'auth: password\nhashed-password: "$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA"\n', 0o600);
    s.write(`${dir}/config/User/settings.json`, '{"editor.fontSize": 15}\n');
    s.write(`${dir}/config/extensions/ms-python.python-2024.1.0/package.json`, '{"name": "python"}\n');
    s.write(`${dir}/config/coder.json`, "{}\n");
    const socket = spawnSync("python3", [
      "-c",
      "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])",
      s.path(`${dir}/config/code-server-ipc.sock`),
    ]);
    if (socket.status !== 0) throw new Error(`cannot create a socket: ${String(socket.stderr)}`);
  }
}

/** A container of the legacy layout, running (the docker stub reports it healthy). */
function runningContainer(s: HostSandbox, name: string): void {
  mkdirSync(s.stateFile("containers"), { recursive: true });
  writeFileSync(s.stateFile("containers", containerName({ name })), containerName({ name }));
}

describe("apply.sh on a host of the legacy layout", () => {
  const fleet = fleetOf();
  const s = host(fleet);
  const [alice, bob, carol] = fleet.developers;
  const dir = (name: string, sub = "") => s.path(`${DATA_MOUNT}/${name}${sub}`);
  let before: Record<string, { workspace: Record<string, string>; userData: Record<string, string> }>;
  let first: RunResult;
  let second: RunResult;
  beforeAll(() => {
    legacyLayout(s, alice.name);
    legacyLayout(s, bob.name);
    legacyLayout(s, carol.name, { userData: false });
    runningContainer(s, alice.name);
    runningContainer(s, bob.name);
    // bob's network was created by an older release: no bridge name of ours.
    mkdirSync(s.stateFile("networks"), { recursive: true });
    writeFileSync(s.stateFile("networks", `${fleet.project}_net-bob`), "");
    before = Object.fromEntries(
      [alice, bob, carol].map((d) => [
        d.name,
        {
          workspace: manifest(dir(d.name, "/workspace")),
          userData: existsSync(dir(d.name, "/config")) ? manifest(dir(d.name, "/config")) : {},
        },
      ]),
    );
    first = s.run("scripts/apply.sh");
    second = s.run("scripts/apply.sh");
  });

  it("moves every workspace file into the home, with its name, type, mode, size, content and time", () => {
    ok(first);
    for (const d of [alice, bob, carol]) expect(manifest(dir(d.name, "/home/workspace"))).toEqual(before[d.name].workspace);
  });

  it("moves code-server's user-data dir to its default place in the home, without apply.sh's old config.yaml", () => {
    for (const d of [alice, bob]) {
      const { "config.yaml": oldConfig, ...kept } = before[d.name].userData;
      expect(oldConfig).toBeDefined();
      expect(manifest(dir(d.name, "/home/.local/share/code-server"))).toEqual(kept);
    }
    // Removed as the developer, so the kernel applies the developer's permissions.
    expect(calls(first, "setpriv")).toEqual(
      [alice, bob].map((d) => `setpriv --reuid=1000 --regid=1000 --clear-groups -- rm -f -- ${dir(d.name, "/config/config.yaml")}`),
    );
  });

  it("seeds the rest of the home from the image, and leaves the developer's directory root's with only the home in it", () => {
    for (const d of [alice, bob, carol]) {
      expect(readdirSync(dir(d.name))).toEqual(["home"]);
      expect(statSync(dir(d.name)).mode & 0o777).toBe(0o755);
      expect(readFileSync(dir(d.name, "/home/.bashrc"), "utf8")).toBe("# image .bashrc\n");
    }
    // carol had no user-data dir: her seeded home still has the parent of code-server's.
    expect(readdirSync(dir(carol.name, "/home/.local/share"))).toEqual([]);
    expect(calls(first, "chown")).toContainEqual(`chown 0:0 ${dir(alice.name)}`);
  });

  it("stops a running container before moving its directories, and recreates it on the home", () => {
    const stop = first.calls.indexOf(`docker stop --time 30 ${containerName(alice)}`);
    const firstMove = first.calls.findIndex((c) => c.startsWith("mv ") && c.includes(dir(alice.name)));
    expect(stop).toBeGreaterThanOrEqual(0);
    expect(stop).toBeLessThan(firstMove);
    expect(first.stderr).toContain(`moved ${DATA_MOUNT}/alice/workspace to ${DATA_MOUNT}/alice/.home-staged/workspace: 12 entries`);
    expect(first.stderr).toMatch(/alice: \S+\/alice\/home is ready \(workspace and settings moved from the legacy layout\)/);
    expect(calls(first, "docker compose").filter((c) => c.includes(" up "))).toContainEqual(
      expect.stringMatching(/up --detach --no-deps --force-recreate code-server-alice$/),
    );
  });

  it("recreates a network of an older release, with its container, under the bridge name the isolation rules match", () => {
    expect(first.calls).toContain(`docker rm --force ${containerName(bob)}`);
    expect(first.calls).toContain(`docker network rm ${fleet.project}_net-bob`);
    expect(first.stderr).toContain(`${fleet.project}_net-bob bridges as '(unnamed)', not devnet-${bob.port}`);
    expect(first.stderr).toContain(`${containerName(bob)}: creating (new container)`);
  });

  it("a second apply moves, seeds and restarts nothing", () => {
    ok(second);
    expect(calls(second, "mv ").filter((c) => c.includes(s.path(DATA_MOUNT)))).toEqual([]);
    expect(calls(second, "docker run")).toEqual([]);
    expect(calls(second, "docker stop")).toEqual([]);
    expect(calls(second, "docker compose").filter((c) => c.includes("--force-recreate"))).toEqual([]);
  });
});

describe("apply.sh interrupted while it moves a legacy home", () => {
  // One developer, so the renames under the data mount are exactly: the seed into place, the
  // workspace, the user-data dir, the home into place.
  const fleet = fleetOf([BASE_DEVELOPERS[0]]);
  const [alice] = fleet.developers;

  it.each([1, 2, 3, 4])("finishes, losing nothing, after a power loss right after rename %i of 4", (renames) => {
    const s = host(fleet);
    legacyLayout(s, alice.name);
    runningContainer(s, alice.name);
    const dir = (sub: string) => s.path(`${DATA_MOUNT}/${alice.name}${sub}`);
    const workspace = manifest(dir("/workspace"));
    const { "config.yaml": _, ...userData } = manifest(dir("/config"));
    const killed = s.run("scripts/apply.sh", [], { STUB_KILL_AFTER_MV: String(renames), STUB_KILL_MV_UNDER: s.path(DATA_MOUNT) });
    expect(killed.status).toBeNull();
    expect(readFileSync(s.stateFile("mv-count"), "utf8").trim()).toBe(String(renames));
    ok(s.run("scripts/apply.sh"));
    expect(readdirSync(dir(""))).toEqual(["home"]);
    expect(manifest(dir("/home/workspace"))).toEqual(workspace);
    expect(manifest(dir("/home/.local/share/code-server"))).toEqual(userData);
  });

  it("starts the seed again when the copy from the image failed halfway, the legacy directories untouched", () => {
    const s = host(fleet);
    legacyLayout(s, alice.name);
    const dir = (sub: string) => s.path(`${DATA_MOUNT}/${alice.name}${sub}`);
    const workspace = manifest(dir("/workspace"));
    const failed = s.run("scripts/apply.sh", [], { STUB_SEED_FAIL: "1" });
    expect(failed.status).toBe(1);
    expect(failed.stderr).toMatch(/could not copy .* \/home\/coder into .*\.home-seeding; the next apply tries again/);
    expect(readdirSync(dir("")).sort()).toEqual([".home-seeding", "config", "workspace"]);
    expect(manifest(dir("/workspace"))).toEqual(workspace);
    ok(s.run("scripts/apply.sh"));
    expect(manifest(dir("/home/workspace"))).toEqual(workspace);
    expect(readdirSync(dir(""))).toEqual(["home"]);
  });
});

describe("apply.sh refuses to guess", () => {
  const fleet = fleetOf([BASE_DEVELOPERS[0]]);

  it("leaves both alone when a home and a legacy workspace exist side by side", () => {
    const s = host(fleet);
    ok(s.run("scripts/apply.sh"));
    s.write(`${DATA_MOUNT}/alice/workspace/stray.txt`, "from somewhere\n");
    const home = manifest(s.path(`${DATA_MOUNT}/alice/home`));
    const run = s.run("scripts/apply.sh");
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/alice has a home and legacy directories too .*refusing to merge them/);
    expect(manifest(s.path(`${DATA_MOUNT}/alice/home`))).toEqual(home);
    expect(s.read(`${DATA_MOUNT}/alice/workspace/stray.txt`)).toBe("from somewhere\n");
  });

  it("does not move a legacy workspace onto a workspace the seed already holds", () => {
    const s = host(fleet);
    legacyLayout(s, "alice", { userData: false });
    // An image whose home has a workspace of its own: the seed drops it, the legacy one moves in.
    mkdirSync(s.stateFile("image-home", "workspace"), { recursive: true });
    writeFileSync(s.stateFile("image-home", ".bashrc"), "# image .bashrc\n");
    writeFileSync(s.stateFile("image-home", "workspace", "from-the-image.txt"), "image\n");
    const workspace = manifest(s.path(`${DATA_MOUNT}/alice/workspace`));
    ok(s.run("scripts/apply.sh"));
    expect(manifest(s.path(`${DATA_MOUNT}/alice/home/workspace`))).toEqual(workspace);
  });
});

describe("apply.sh and a developer's home", () => {
  const fleet = fleetOf([BASE_DEVELOPERS[0]]);
  const s = host(fleet);
  const canary = "/etc/shadow-canary";
  const home = (sub: string) => s.path(`${DATA_MOUNT}/alice/home${sub}`);
  let run: RunResult;
  let canaryBefore: { content: string; mtimeMs: number };
  beforeAll(() => {
    ok(s.run("scripts/apply.sh"));
    s.write(canary, "root:$6$secret:19000:0:99999:7:::\n", 0o600);
    canaryBefore = { content: s.read(canary), mtimeMs: statSync(s.path(canary)).mtimeMs };
    // What a developer may plant, from inside the container, at every path code-server or the
    // legacy layout read a config from.
    for (const link of ["/.local/share/code-server/config.yaml", "/.config/code-server/config.yaml", "/workspace/.vscode/settings.json"]) {
      mkdirSync(join(home(link), ".."), { recursive: true });
      symlinkSync(s.path(canary), home(link));
    }
    // A rotated password makes apply.sh write the developer's secrets and recreate the container.
    s.setSecret(secretName(fleet, fleet.developers[0], "password"), "Rotated-Passw0rd!Rotated-Passw0rd");
    run = s.run("scripts/apply.sh");
  });

  it("writes the new hash only into the root-only env file, and recreates the container", () => {
    ok(run);
    expect(s.read(`${hostPaths(fleet).secretsDir}/alice.env`)).toMatch(/^HASHED_PASSWORD='\$argon2id\$/);
    expect(calls(run, "docker compose").filter((c) => c.includes("--force-recreate"))).toHaveLength(1);
  });

  it("never follows, replaces or touches a link planted in the home", () => {
    for (const link of ["/.local/share/code-server/config.yaml", "/.config/code-server/config.yaml", "/workspace/.vscode/settings.json"]) {
      expect(lstatSync(home(link)).isSymbolicLink()).toBe(true);
      expect(readlinkSync(home(link))).toBe(s.path(canary));
    }
    expect({ content: s.read(canary), mtimeMs: statSync(s.path(canary)).mtimeMs }).toEqual(canaryBefore);
    expect(run.calls.filter((c) => c.includes(home("")))).toEqual([]);
  });
});

describe("apply.sh writes only into directories of root's own", () => {
  const fleet = fleetOf([BASE_DEVELOPERS[0]]);
  const elsewhere = "/var/tmp/elsewhere";

  it("refuses a home that is a symbolic link, and starts no container on it", () => {
    const s = host(fleet);
    mkdirSync(s.path(elsewhere), { recursive: true });
    mkdirSync(s.path(`${DATA_MOUNT}/alice`), { recursive: true });
    symlinkSync(s.path(elsewhere), s.path(`${DATA_MOUNT}/alice/home`));
    const run = s.run("scripts/apply.sh");
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/\/alice\/home is a symbolic link: refusing to mount it as alice's home/);
    expect(calls(run, "docker compose").filter((c) => c.includes(" up "))).toEqual([]);
    expect(readdirSync(s.path(elsewhere))).toEqual([]);
  });

  it("refuses a developer directory that is a symbolic link, and chowns nothing through it", () => {
    const s = host(fleet);
    s.write(`${elsewhere}/file`, "of the host\n", 0o600);
    mkdirSync(s.path(DATA_MOUNT), { recursive: true });
    chmodSync(s.path(elsewhere), 0o700);
    symlinkSync(s.path(elsewhere), s.path(`${DATA_MOUNT}/alice`));
    const before = statSync(s.path(elsewhere));
    const run = s.run("scripts/apply.sh");
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/\/alice is a symbolic link: refusing to use it as a developer's directory/);
    const after = statSync(s.path(elsewhere));
    expect({ mode: after.mode, uid: after.uid }).toEqual({ mode: before.mode, uid: before.uid });
    expect(readdirSync(s.path(elsewhere))).toEqual(["file"]);
  });

  it("refuses to write the code-server config through a link where its directory should be", () => {
    const s = host(fleet);
    ok(s.run("scripts/apply.sh"));
    const dir = hostPaths(fleet).codeServerConfigDir;
    mkdirSync(s.path(elsewhere), { recursive: true });
    spawnSync("rm", ["-rf", s.path(dir)]);
    symlinkSync(s.path(elsewhere), s.path(dir));
    const run = s.run("scripts/apply.sh");
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/code-server is not a directory: refusing to write into it/);
    expect(readdirSync(s.path(elsewhere))).toEqual([]);
  });

  it("refuses to write a rotated password's hash through a link where the secrets directory should be", () => {
    const s = host(fleet);
    ok(s.run("scripts/apply.sh"));
    const dir = hostPaths(fleet).secretsDir;
    mkdirSync(s.path(elsewhere), { recursive: true });
    spawnSync("rm", ["-rf", s.path(dir)]);
    symlinkSync(s.path(elsewhere), s.path(dir));
    s.setSecret(secretName(fleet, fleet.developers[0], "password"), "Rotated-Passw0rd!Rotated-Passw0rd");
    const run = s.run("scripts/apply.sh");
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/secrets is not a directory: refusing to write into it/);
    expect(readdirSync(s.path(elsewhere))).toEqual([]);
  });
});
