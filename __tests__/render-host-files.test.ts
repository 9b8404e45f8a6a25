import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import {
  CONTAINER_PORT,
  DATA_MOUNT,
  DEVELOPER_BRIDGE_PREFIX,
  HEALTH_PATH,
  containerName,
  developerBridgeName,
  hostPaths,
  isolationChains,
  logGroupNames,
  metricNames,
  secretName,
} from "../src/naming";
import { renderBootstrap, renderHostFiles, renderOperatorScripts, type RenderedFile } from "../src/render";
import { TARGET_GROUP_SETTINGS, routingTable } from "../src/routing";
import { loadRoster } from "../src/roster";
import { BASE_DEVELOPERS, fleetOf } from "./fixtures/rosters";
import { sleepingAlarmNamesOf } from "./helpers/synth";

const fleet = fleetOf();
const files = renderHostFiles(fleet);
const fileAt = (path: string, from: readonly RenderedFile[] = files) => {
  const file = from.find((f) => f.path === path);
  if (!file) throw new Error(`no rendered file ${path}; have ${from.map((f) => f.path).join(", ")}`);
  return file;
};
const json = (path: string) => JSON.parse(fileAt(path).content);

interface ComposeService {
  image: string;
  container_name: string;
  command: string[];
  restart: string;
  ports: string[];
  cpus: number;
  cpu_shares: number;
  mem_limit: string;
  mem_reservation: string;
  pids_limit: number;
  user: string;
  read_only: boolean;
  tmpfs: string[];
  cap_drop: string[];
  security_opt: string[];
  ulimits: { nofile: { soft: number; hard: number } };
  environment: Record<string, string>;
  env_file: string[];
  volumes: { type: string; source: string; target: string; read_only?: boolean; bind: { create_host_path: boolean } }[];
  networks: string[];
  healthcheck: { test: string[]; interval: string; timeout: string; retries: number; start_period: string };
  logging: { driver: string; options: Record<string, string> };
}
const compose = parse(fileAt("docker/docker-compose.yml").content) as {
  name: string;
  services: Record<string, ComposeService>;
  networks: Record<string, { driver: string; driver_opts: Record<string, string> }>;
};

describe("docker-compose.yml", () => {
  it("has exactly one service per developer, named containerName(developer)", () => {
    expect(Object.keys(compose.services)).toEqual(fleet.developers.map(containerName));
  });

  it.each(fleet.developers.map((d) => [d.name, d] as const))(
    "maps %s's port, limits, volumes, secrets file and log group",
    (_, developer) => {
      const service = compose.services[containerName(developer)];
      expect(service.container_name).toBe(containerName(developer));
      expect(service.ports).toEqual([`${developer.port}:${CONTAINER_PORT}`]);
      expect(service.cpus).toBe(developer.cpuLimit);
      expect(service.cpu_shares).toBe(Math.round(developer.cpus * 1024));
      expect(service.mem_limit).toBe(`${developer.memoryLimitMiB}m`);
      expect(service.mem_reservation).toBe(`${developer.memoryMiB}m`);
      expect(service.restart).toBe("unless-stopped");
      expect(service.ulimits.nofile).toEqual({ soft: 64000, hard: 64000 });
      // Host paths follow the scripts' ROOT_PREFIX seam: empty on the host, so the real paths.
      // The whole home is on the data volume; a missing one is an error, never created by Docker.
      expect(service.volumes[0]).toEqual({
        type: "bind",
        source: `\${ROOT_PREFIX:-}${DATA_MOUNT}/${developer.name}/home`,
        target: "/home/coder",
        bind: { create_host_path: false },
      });
      // code-server's config: root's, read-only, outside the home (CODE_SERVER_CONFIG names it).
      expect(service.volumes[1]).toEqual({
        type: "bind",
        source: `\${ROOT_PREFIX:-}${hostPaths(fleet).codeServerConfigDir}/${developer.name}.yaml`,
        target: "/etc/code-server/config.yaml",
        read_only: true,
        bind: { create_host_path: false },
      });
      expect(service.volumes).toHaveLength(2);
      expect(service.environment.CODE_SERVER_CONFIG).toBe("/etc/code-server/config.yaml");
      expect(service.environment.PROXY_DOMAIN).toBe(developer.hostname);
      expect(service.env_file).toEqual([`\${ROOT_PREFIX:-}${hostPaths(fleet).secretsDir}/${developer.name}.env`]);
      // The auth mode on the command line, which wins over any config file.
      expect(service.command).toEqual(["--bind-addr", `0.0.0.0:${CONTAINER_PORT}`, "--auth", "password", "/home/coder/workspace"]);
      expect(service.pids_limit).toBe(4096);
      // The user is the compose file's, not the image's; nothing it runs writes the root disk.
      expect(service.user).toBe("1000:1000");
      expect(service.read_only).toBe(true);
      const quarter = `${Math.floor(developer.memoryLimitMiB / 4)}m`;
      expect(service.tmpfs).toEqual([
        `/tmp:size=${quarter},mode=1777,exec,nosuid,nodev`,
        `/var/tmp:size=${quarter},mode=1777,exec,nosuid,nodev`,
      ]);
      expect(service.cap_drop).toEqual(["ALL"]);
      expect(service.security_opt).toEqual(["no-new-privileges:true"]);
      expect(service.logging).toEqual({
        driver: "awslogs",
        options: expect.objectContaining({
          "awslogs-region": fleet.region,
          "awslogs-group": logGroupNames(fleet).container(developer),
          "awslogs-create-group": "false",
        }),
      });
    },
  );

  it("bob's smaller reservation gets proportionally fewer cpu_shares than alice's", () => {
    expect(compose.services["code-server-alice"].cpu_shares).toBe(1024);
    expect(compose.services["code-server-bob"].cpu_shares).toBe(512);
  });

  it("uses the health check against /healthz", () => {
    const { healthcheck } = compose.services["code-server-alice"];
    expect(healthcheck.test.join(" ")).toContain(`curl -fsS -o /dev/null http://localhost:${CONTAINER_PORT}${HEALTH_PATH}`);
    expect(healthcheck).toMatchObject({ interval: "30s", timeout: "10s", retries: 3, start_period: "60s" });
  });

  it("gives every developer a bridge network of their own, whose Linux bridge the isolation rules match by name", () => {
    const networks = Object.values(compose.services).map((s) => s.networks);
    expect(networks.every((n) => n.length === 1)).toBe(true);
    expect(new Set(networks.flat()).size).toBe(fleet.developers.length);
    expect(Object.keys(compose.networks).sort()).toEqual(networks.flat().sort());
    expect(Object.values(compose.networks).every((n) => n.driver === "bridge")).toBe(true);
    for (const developer of fleet.developers) {
      const [network] = compose.services[containerName(developer)].networks;
      expect(compose.networks[network].driver_opts).toEqual({ "com.docker.network.bridge.name": `devnet-${developer.port}` });
    }
  });

  it("names bridges within Linux's 15 characters and chains within iptables' 28, for the longest names allowed", () => {
    expect(developerBridgeName({ port: 65535 })).toBe("devnet-65535");
    expect(developerBridgeName({ port: 65535 }).length).toBeLessThanOrEqual(15);
    expect(developerBridgeName({ port: 65535 }).startsWith(DEVELOPER_BRIDGE_PREFIX)).toBe(true);
    const longest = isolationChains({ project: "p".repeat(16) });
    expect(Math.max(longest.forward.length, longest.input.length)).toBeLessThanOrEqual(28);
  });

  it("pins the roster's image tag, never latest", () => {
    for (const service of Object.values(compose.services)) {
      expect(service.image).toBe(`${fleet.codeServer.image}:${fleet.codeServer.tag}`);
      expect(service.image).not.toMatch(/:latest$/);
    }
  });

  it("interpolates nothing but the ROOT_PREFIX seam, which defaults to empty", () => {
    const lines = fileAt("docker/docker-compose.yml")
      .content.split("\n")
      .filter((line) => !line.trimStart().startsWith("#"));
    const interpolations =
      lines
        .join("\n")
        .replace(/\$\$/g, "")
        .match(/\$\{?[A-Za-z_][^}\s]*\}?/g) ?? [];
    expect(new Set(interpolations)).toEqual(new Set(["${ROOT_PREFIX:-}"]));
  });

  it("carries no secret: no password, hash or API key variables", () => {
    for (const service of Object.values(compose.services)) {
      expect(Object.keys(service.environment).sort()).toEqual(["CODE_SERVER_CONFIG", "PROXY_DOMAIN"]);
    }
    const lines = fileAt("docker/docker-compose.yml")
      .content.split("\n")
      .filter((line) => !line.trimStart().startsWith("#"));
    expect(lines.join("\n")).not.toMatch(/HASHED_PASSWORD|API_KEY|sk-ant|argon2/i);
  });
});

describe("code-server configs", () => {
  it.each(BASE_DEVELOPERS.map((d) => [d.name]))(
    "config/%s/config.yaml.tmpl binds 8080 and uses a password, and holds no password or hash (the env file does)",
    (name) => {
      const file = fileAt(`config/${name}/config.yaml.tmpl`);
      expect(file.mode).toBe(0o644);
      const config = parse(file.content);
      expect(config).toEqual({
        "bind-addr": `0.0.0.0:${CONTAINER_PORT}`,
        auth: "password",
        cert: false,
        "disable-update-check": true,
        "disable-telemetry": true,
      });
    },
  );
});

describe("isolation of the developer networks", () => {
  const script = fileAt("scripts/isolate-developers.sh");
  const unit = fileAt(`systemd/${fleet.project}-isolation.service`).content;
  const lib = fileAt("scripts/lib.sh").content;

  it("isolate-developers.sh loads the rules lib.sh holds, for the chains and bridge names of naming.ts", () => {
    expect(script.mode).toBe(0o755);
    expect(script.content).toMatch(/^\s+isolate_developer_networks$/m);
    const { forward, input } = isolationChains(fleet);
    expect(lib).toContain(`ISOLATION_FORWARD_CHAIN='${forward}'`);
    expect(lib).toContain(`ISOLATION_INPUT_CHAIN='${input}'`);
    expect(lib).toContain(`DEVELOPER_BRIDGES='${DEVELOPER_BRIDGE_PREFIX}+'`);
  });

  it("its unit runs it once, before dockerd, and stays active", () => {
    expect(unit).toContain(`ExecStart=/bin/bash ${hostPaths(fleet).root}/scripts/isolate-developers.sh`);
    expect(unit).toMatch(/^Before=docker\.service$/m);
    expect(unit).toMatch(/^Type=oneshot$/m);
    expect(unit).toMatch(/^RemainAfterExit=yes$/m);
  });

  it("docker.service requires the unit (Requires= and After=, in a drop-in): dockerd does not start when the rules cannot be loaded", () => {
    const dropIn = fileAt(`systemd/${fleet.project}-isolation.conf`).content;
    expect(dropIn).toMatch(/^\[Unit\]$/m);
    expect(dropIn).toMatch(new RegExp(`^Requires=${fleet.project}-isolation\\.service$`, "m"));
    expect(dropIn).toMatch(new RegExp(`^After=${fleet.project}-isolation\\.service$`, "m"));
  });

  it("systemd itself loads the units, and cannot build docker.service's start job without the isolation unit", () => {
    const which = spawnSync("sh", ["-c", "command -v systemd-analyze"], { encoding: "utf8" });
    expect(which.status).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), "units-"));
    try {
      mkdirSync(join(dir, "docker.service.d"));
      // docker.service as Docker's package has it, reduced to what systemd needs to build its start job.
      writeFileSync(join(dir, "docker.service"), "[Unit]\nDescription=Docker\n[Service]\nExecStart=/bin/true\n");
      for (const file of files.filter((f) => f.path.startsWith("systemd/"))) {
        const name = file.path.slice("systemd/".length);
        writeFileSync(join(dir, name.endsWith(".conf") ? `docker.service.d/${name}` : name), file.content);
      }
      const verify = (...units: string[]) =>
        spawnSync("systemd-analyze", ["verify", ...units.map((u) => join(dir, u))], {
          encoding: "utf8",
          env: { ...process.env, SYSTEMD_UNIT_PATH: `${dir}:` },
        });
      const all = verify(
        "docker.service",
        `${fleet.project}-isolation.service`,
        `${fleet.project}-metrics.timer`,
        `${fleet.project}-disk-usage.timer`,
      );
      expect(all.stderr).toBe("");
      expect(all.status).toBe(0);
      rmSync(join(dir, `${fleet.project}-isolation.service`));
      const without = verify("docker.service");
      expect(without.status).not.toBe(0);
      expect(without.stderr).toContain(`Unit ${fleet.project}-isolation.service not found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("config files", () => {
  it("alb-rules.json is the routing table and the target group settings, serialized", () => {
    expect(json("config/alb-rules.json")).toEqual(
      JSON.parse(JSON.stringify({ targetGroup: TARGET_GROUP_SETTINGS, rules: routingTable(fleet) })),
    );
  });

  it("secrets.json.example names each developer's secrets and holds placeholders only", () => {
    const example = json("config/secrets.json.example");
    expect(Object.keys(example.developers)).toEqual(fleet.developers.map((d) => d.name));
    for (const d of fleet.developers) {
      const entry = example.developers[d.name];
      expect(entry.password.secretName).toBe(secretName(fleet, d, "password"));
      expect(entry.anthropicApiKey.secretName).toBe(secretName(fleet, d, "anthropic-api-key"));
      for (const secret of [entry.password, entry.anthropicApiKey]) expect(secret.value).toMatch(/^<[^<>]*>$/);
    }
  });

  it("the CloudWatch agent publishes exactly the host series the alarms read", () => {
    const agent = json("config/cloudwatch-agent.json");
    const metrics = metricNames(fleet);
    expect(agent.metrics.namespace).toBe(metrics.hostNamespace);
    expect(agent.metrics.append_dimensions).toEqual({ InstanceId: "${aws:InstanceId}" });
    // Memory has only the appended InstanceId; disk is rolled up to {InstanceId, path}.
    expect(agent.metrics.aggregation_dimensions).toEqual([["InstanceId", "path"]]);
    // The agent names a metric <section>_<measurement>.
    const published = Object.entries(agent.metrics.metrics_collected as Record<string, { measurement: string[] }>).flatMap(([section, m]) =>
      m.measurement.map((measurement) => `${section}_${measurement}`),
    );
    expect(published.sort()).toEqual([metrics.diskUsedPercent, metrics.memoryUsedPercent].sort());
    expect(agent.metrics.metrics_collected.disk.resources).toContain(DATA_MOUNT);
  });

  it("the CloudWatch agent ships syslog and dockerd's log to the system and docker groups", () => {
    const files = json("config/cloudwatch-agent.json").logs.logs_collected.files.collect_list;
    expect(files).toEqual([
      expect.objectContaining({ file_path: "/var/log/syslog", log_group_name: logGroupNames(fleet).system }),
      expect.objectContaining({ file_path: "/var/log/dockerd.log", log_group_name: logGroupNames(fleet).docker }),
    ]);
    // rsyslog writes dockerd's messages to the file the agent tails.
    expect(fileAt("config/rsyslog-dockerd.conf").content).toContain('file="/var/log/dockerd.log"');
  });

  it("daemon.json pins docker0 to the address pool's first subnet, so the pool keeps room for every developer network", () => {
    const daemon = json("config/daemon.json");
    const [pool] = daemon["default-address-pools"] as { base: string; size: number }[];
    const toInt = (ip: string) => ip.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
    const [bipAddress, bipLength] = (daemon.bip as string).split("/");
    const [poolBase, poolLength] = pool.base.split("/");
    // Without bip, a dockerd that once ran with its defaults keeps docker0 on all of 172.17.0.0/16,
    // which overlaps every subnet of this pool: no developer network could be created.
    expect(Number(bipLength)).toBe(pool.size);
    const subnetOf = (ip: string, length: number) => toInt(ip) - (toInt(ip) % 2 ** (32 - length));
    expect(subnetOf(bipAddress, Number(poolLength))).toBe(toInt(poolBase));
    expect(subnetOf(bipAddress, pool.size)).toBe(toInt(poolBase));
    expect(2 ** (pool.size - Number(poolLength)) - 1).toBeGreaterThanOrEqual(BASE_DEVELOPERS.length);
  });

  it("daemon.json keeps logging and ulimits", () => {
    expect(json("config/daemon.json")).toMatchObject({
      "log-driver": "json-file",
      "log-opts": { "max-size": "10m", "max-file": "3" },
      "default-ulimits": { nofile: { Name: "nofile", Hard: 64000, Soft: 64000 } },
    });
  });

  it("the sysctl drop-in sets network and swap values and does not lower fs.file-max", () => {
    const settings = fileAt("config/sysctl.conf")
      .content.split("\n")
      .filter((line) => line && !line.startsWith("#"));
    expect(settings).toEqual(["net.core.somaxconn = 4096", "net.ipv4.tcp_max_syn_backlog = 8192", "vm.swappiness = 10"]);
  });

  it("the metrics timer runs publish-metrics.sh from the host files every minute", () => {
    const service = fileAt(`systemd/${fleet.project}-metrics.service`).content;
    expect(service).toContain(`ExecStart=/bin/bash ${hostPaths(fleet).root}/scripts/publish-metrics.sh`);
    expect(fileAt(`systemd/${fleet.project}-metrics.timer`).content).toMatch(/OnUnitActiveSec=60s[\s\S]*WantedBy=timers.target/);
  });

  it("dockerd waits for the data volume to be mounted", () => {
    expect(fileAt(`systemd/${fleet.project}-data-mount.conf`).content).toContain(`RequiresMountsFor=${DATA_MOUNT}`);
  });
});

describe("renderHostFiles", () => {
  it("is sorted by path, deterministic, and gives scripts mode 0755", () => {
    expect(files.map((f) => f.path)).toEqual([...files.map((f) => f.path)].sort());
    expect(renderHostFiles(fleetOf())).toEqual(files);
    for (const file of files) expect(file.mode).toBe(file.path.endsWith(".sh") ? 0o755 : 0o644);
  });

  it("holds the deployment layout", () => {
    const paths = files.map((f) => f.path);
    for (const path of [
      "docker/docker-compose.yml",
      "scripts/setup.sh",
      "scripts/start-containers.sh",
      "scripts/stop-containers.sh",
      "scripts/backup.sh",
      "config/alb-rules.json",
      "config/secrets.json.example",
    ]) {
      expect(paths).toContain(path);
    }
  });

  it("renders the project's own roster.yaml", () => {
    const own = loadRoster("roster.yaml", {});
    const rendered = renderHostFiles(own);
    expect(rendered.filter((f) => f.path.endsWith("config.yaml.tmpl"))).toHaveLength(own.developers.length);
  });

  const SHARED_FILES = ["config/alb-rules.json", "config/secrets.json.example", "docker/docker-compose.yml", "scripts/lib.sh"];
  const diff = (before: readonly RenderedFile[], after: readonly RenderedFile[]) => {
    const old = new Map(before.map((f) => [f.path, f.content]));
    const now = new Map(after.map((f) => [f.path, f.content]));
    return {
      added: [...now.keys()].filter((p) => !old.has(p)),
      removed: [...old.keys()].filter((p) => !now.has(p)),
      changed: [...now.keys()].filter((p) => old.has(p) && old.get(p) !== now.get(p)).sort(),
    };
  };

  it("adding a developer adds only their config and changes only the shared files", () => {
    const grown = renderHostFiles(fleetOf([...BASE_DEVELOPERS, { name: "dave", port: 8446 }]));
    expect(diff(files, grown)).toEqual({ added: ["config/dave/config.yaml.tmpl"], removed: [], changed: SHARED_FILES });
  });

  it("removing a developer removes only their config and changes only the shared files", () => {
    const shrunk = renderHostFiles(fleetOf(BASE_DEVELOPERS.filter((d) => d.name !== "bob")));
    expect(diff(files, shrunk)).toEqual({ added: [], removed: ["config/bob/config.yaml.tmpl"], changed: SHARED_FILES });
  });
});

describe("no secret values", () => {
  it("no rendered file holds a password, hash or API key value", () => {
    for (const file of [...files, ...renderOperatorScripts(fleet, { sleepingAlarmNames: sleepingAlarmNamesOf(fleet) })]) {
      expect(file.content).not.toMatch(/sk-ant-[A-Za-z0-9]/);
      expect(file.content).not.toMatch(/\$argon2/);
      expect(file.content).not.toMatch(/^\s*(password|hashed-password)\s*:/m);
    }
  });
});

describe("renderBootstrap", () => {
  it("is byte-identical for rosters that differ only in developers", () => {
    const other = fleetOf([{ name: "zed", port: 9000, cpus: 2, cpuLimit: 4, memoryGiB: 8, memoryLimitGiB: 8 }]);
    expect(renderBootstrap(other)).toBe(renderBootstrap(fleet));
  });

  it("is a short script that only makes sure the SSM agent runs", () => {
    const bootstrap = renderBootstrap(fleet);
    expect(bootstrap.startsWith("#!/bin/bash\n")).toBe(true);
    expect(bootstrap.split("\n").length).toBeLessThan(25);
    expect(bootstrap).toContain("amazon-ssm-agent");
    for (const d of fleet.developers) expect(bootstrap).not.toContain(d.name);
  });
});
