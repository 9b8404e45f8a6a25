/**
 * The ECS leg: each developer's synthesized task definition run on the real engine as the ECS
 * agent would run it (rehearse/ecs/tasks.ts), reached through the ALB stand-in built from the same
 * routing table, and the migration of a home from the host's data volume through the maintenance
 * task. It runs beside the host leg's containers and leaves them as it found them.
 */
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { layout } from "../lib/layout";
import { run } from "../lib/run";
import { ARCHIVE_BUCKET } from "../host";
import { EcsLeg, putSecretValue } from "../ecs/leg";
import { engine, execIn, resolvedEnvironment, waitExit, type Task } from "../ecs/tasks";
import { proxyRequest } from "../proxy";
import type { ContainerDefinition } from "../ecs/definitions";
import { expectedArgv, launchDeviations, type ExpectedEnvironment, type ImageView, type LaunchView } from "../ecs/launch";
import type { Rehearsal } from "../rehearsal";
import { authNoneAttack, KILL_CODE_SERVER } from "./auth-none";
import { check, expect } from "./check";
import { MIGRATION_CHECK } from "./ecs-migration";
import { PRIVILEGES_CHECK } from "./ecs-privileges";

const ZERO_CAPS = "0000000000000000";
/** The variable the Claude extension reads its key from. */
const API_KEY_VARIABLE = "ANTHROPIC_API_KEY";

function leg(r: Rehearsal): EcsLeg {
  expect(r.ecs, "no ECS tasks: the first ECS check failed");
  return r.ecs;
}

interface Inspected extends LaunchView {
  Config: LaunchView["Config"] & {
    User: string;
    Healthcheck?: { Test: string[]; Interval: number; Timeout: number; Retries: number; StartPeriod: number };
  };
  HostConfig: { ReadonlyRootfs: boolean; CapDrop: string[] | null; CapAdd: string[] | null; Init: boolean | null; NetworkMode: string };
  State: { Status: string; ExitCode: number; StartedAt: string; FinishedAt: string; Health?: { Status: string } };
  Mounts: { Type: string; Source: string; Destination: string; RW: boolean }[];
}

async function inspect(container: string): Promise<Inspected> {
  const result = await engine(["inspect", container]);
  expect(result.code === 0, `docker inspect ${container}: ${result.stderr.trim()}`);
  return (JSON.parse(result.stdout) as Inspected[])[0];
}

/** What the engine holds under an image reference: the rehearsal's build of the definition's image. */
async function imageView(reference: string): Promise<ImageView> {
  const result = await engine(["image", "inspect", reference]);
  expect(result.code === 0, `docker image inspect ${reference}: ${result.stderr.trim()}`);
  return (JSON.parse(result.stdout) as ImageView[])[0];
}

/** The environment ECS gives the container: the definition's values as Terraform resolves them, and its secrets' current values. */
async function expectedEnvironment(ecs: EcsLeg, task: Task, def: ContainerDefinition): Promise<ExpectedEnvironment> {
  const secrets = new Map<string, string>();
  for (const { name, valueFrom } of def.secrets ?? []) {
    const secret = ecs.context.secretNames.get(valueFrom);
    expect(secret, `${task.id}/${def.name}: ${name} comes from ${valueFrom}, no secret of the stack`);
    secrets.set(name, await ecs.context.secretValue(secret));
  }
  return { values: resolvedEnvironment(task.definition, def, ecs.context.deployTimeValues), secrets };
}

/** The same capabilities, whether or not spelled with CAP_ (the engine adds it). */
const same = (a: readonly string[] | null | undefined, b: readonly string[] | undefined) => {
  const norm = (caps: readonly string[] | null | undefined) => JSON.stringify([...(caps ?? [])].map((c) => c.replace(/^CAP_/, "")).sort());
  return norm(a) === norm(b);
};

/** How a container differs from its definition, as the engine reports it. */
function deviations(task: Task, def: ContainerDefinition, info: Inspected): string[] {
  const problems: string[] = [];
  const name = `${task.id}/${def.name}`;
  if (info.Config.User !== (def.user ?? "")) problems.push(`${name}: user ${info.Config.User}, defined ${def.user}`);
  if (info.HostConfig.ReadonlyRootfs !== Boolean(def.readonlyRootFilesystem))
    problems.push(`${name}: read-only root ${info.HostConfig.ReadonlyRootfs}`);
  const caps = def.linuxParameters?.capabilities;
  if (!same(info.HostConfig.CapDrop, caps?.drop) || !same(info.HostConfig.CapAdd, caps?.add))
    problems.push(
      `${name}: drops ${JSON.stringify(info.HostConfig.CapDrop)} adds ${JSON.stringify(info.HostConfig.CapAdd)}, defined ${JSON.stringify(caps)}`,
    );
  if (Boolean(info.HostConfig.Init) !== Boolean(def.linuxParameters?.initProcessEnabled))
    problems.push(`${name}: init ${info.HostConfig.Init}`);
  if (!info.HostConfig.NetworkMode.startsWith("container:"))
    problems.push(`${name}: network ${info.HostConfig.NetworkMode}, not the task's namespace`);
  for (const point of def.mountPoints ?? []) {
    const mount = info.Mounts.find((m) => m.Destination === point.containerPath);
    if (!mount || mount.RW === Boolean(point.readOnly))
      problems.push(`${name}: ${point.containerPath} is ${mount ? (mount.RW ? "rw" : "ro") : "not mounted"}`);
  }
  return problems;
}

/** What the kernel says of the serving container's first process, and whether its root refuses a write. */
async function insideView(
  task: Task,
  container: string,
): Promise<{ uid: string; caps: string; pid1: string; rootWrite: string; home: string; argv: string[] }> {
  const script = [
    "id -u",
    "grep '^CapEff:' /proc/self/status | cut -f2",
    "cat /proc/1/comm",
    "touch /rehearsal-root-write 2>&1 || true",
    "stat -c '%u:%g %a' \"$HOME\"",
    "base64 -w0 /proc/1/cmdline",
  ].join("; ");
  const result = await execIn(task, container, script);
  expect(result.code === 0, `inside ${task.id}/${container}: ${result.stderr.trim()}`);
  const [uid, caps, pid1, rootWrite, home, cmdline] = result.stdout.trim().split("\n");
  const argv = Buffer.from(cmdline ?? "", "base64")
    .toString()
    .split("\0")
    .slice(0, -1);
  return { uid, caps, pid1, rootWrite, home, argv };
}

export const ECS = [
  check(
    "ecs: each developer's task runs as its synthesized task definition says (image, entry point and command, environment and secrets, user, read-only root, capabilities, init, mounts, the task's network namespace)",
    async (r) => {
      r.ecs = await EcsLeg.prepare(r, ARCHIVE_BUCKET, Number(r.engineEnv.REHEARSAL_NOFILE_MAX));
      const ecs = r.ecs;
      const started = Date.now();
      for (const service of ecs.services) await ecs.start(service.service);
      const seconds = ((Date.now() - started) / 1000).toFixed(0);
      const problems: string[] = [];
      const views: string[] = [];
      for (const [name, task] of ecs.tasks) {
        for (const def of task.definition.containers) {
          const info = await inspect(task.containers.get(def.name)!);
          problems.push(...deviations(task, def, info));
          const image = await imageView(def.image);
          problems.push(...launchDeviations(`${task.id}/${def.name}`, def, image, info, await expectedEnvironment(ecs, task, def)));
        }
        const service = ecs.service(name);
        const def = task.definition.containers.find((c) => c.name === service.container)!;
        const view = await insideView(task, service.container);
        // Under an init, the kernel shows the definition's argv after the init's own "--".
        const argv = def.linuxParameters?.initProcessEnabled ? view.argv.slice(view.argv.indexOf("--") + 1) : view.argv;
        if (JSON.stringify(argv) !== JSON.stringify(expectedArgv(def, await imageView(def.image))))
          problems.push(`${name}: the kernel shows pid 1 running ${JSON.stringify(view.argv)}`);
        if (def.user && view.uid !== def.user.split(":")[0]) problems.push(`${name}: runs as uid ${view.uid}`);
        if (def.linuxParameters?.capabilities?.drop?.includes("ALL") && view.caps !== ZERO_CAPS)
          problems.push(`${name}: CapEff ${view.caps}`);
        if (def.linuxParameters?.initProcessEnabled && view.pid1 !== "docker-init")
          problems.push(`${name}: pid 1 is ${view.pid1}, not an init`);
        if (def.readonlyRootFilesystem && !/Read-only file system/.test(view.rootWrite))
          problems.push(`${name}: a write to / gave "${view.rootWrite}"`);
        const home = task.definition.volumes.find((v) => v.accessPoint)?.accessPoint?.creation;
        if (home && view.home !== `${home.uid}:${home.gid} ${home.mode.toString(8)}`)
          problems.push(`${name}: home is ${view.home}, the access point creates ${home.uid}:${home.gid} ${home.mode.toString(8)}`);
        const env = await expectedEnvironment(ecs, task, def);
        views.push(
          `${name} (${task.address}): ${def.image} (${(await imageView(def.image)).Id.slice(7, 19)}) running ${argv.join(" ")} with ${env.values.size} variables and ${env.secrets.size} secrets as defined, uid ${view.uid}, CapEff ${view.caps}, pid 1 ${view.pid1}, root "${view.rootWrite.replace(/^touch: /, "")}", home ${view.home}`,
        );
      }
      expect(problems.length === 0, problems.join("\n"));
      return `${ecs.tasks.size} tasks of ${ecs.synthesized.stack.tasks.size} synthesized definitions started and healthy in ${seconds}s; ${views.join("; ")}`;
    },
  ),

  check("ecs: the init container ran to completion before code-server started (dependsOn), seeding the home", async (r) => {
    const ecs = leg(r);
    const outcomes: string[] = [];
    for (const [name, task] of ecs.tasks) {
      for (const def of task.definition.containers) {
        const info = await inspect(task.containers.get(def.name)!);
        for (const dep of def.dependsOn ?? []) {
          const before = await inspect(task.containers.get(dep.containerName)!);
          if (dep.condition === "COMPLETE" || dep.condition === "SUCCESS") {
            expect(before.State.Status === "exited", `${name}: ${dep.containerName} is ${before.State.Status}, not complete`);
            expect(
              dep.condition === "COMPLETE" || before.State.ExitCode === 0,
              `${name}: ${dep.containerName} exited ${before.State.ExitCode}`,
            );
            expect(
              Date.parse(before.State.FinishedAt) <= Date.parse(info.State.StartedAt),
              `${name}: ${def.name} started at ${info.State.StartedAt}, before ${dep.containerName} finished (${before.State.FinishedAt})`,
            );
            outcomes.push(
              `${name}: ${dep.containerName} exited ${before.State.ExitCode} at ${before.State.FinishedAt.slice(11, 22)}, ${def.name} started ${info.State.StartedAt.slice(11, 22)}`,
            );
          }
        }
      }
      const seeded = await execIn(task, ecs.service(name).container, "test -f ~/.bashrc && test -d ~/workspace");
      expect(seeded.code === 0, `${name}'s home has no .bashrc or workspace after the init container`);
    }
    expect(outcomes.length > 0, "no container of the tasks depends on another's completion: nothing to show");
    return `${outcomes.join("; ")}; each home holds the image's .bashrc and a workspace`;
  }),

  check("ecs: the definition's health check runs in the container and reports healthy", async (r) => {
    const ecs = leg(r);
    const outcomes: string[] = [];
    for (const [name, task] of ecs.tasks) {
      const service = ecs.service(name);
      const def = task.definition.containers.find((c) => c.name === service.container)!;
      expect(def.healthCheck, `${name}: the serving container has no health check`);
      const info = await inspect(task.containers.get(service.container)!);
      const test = info.Config.Healthcheck?.Test ?? [];
      expect(
        test[1] === def.healthCheck.command.slice(1).join(" "),
        `${name}: the engine checks ${JSON.stringify(test)}, defined ${JSON.stringify(def.healthCheck.command)}`,
      );
      expect(
        info.Config.Healthcheck?.Interval === (def.healthCheck.interval ?? 30) * 1e9,
        `${name}: interval ${info.Config.Healthcheck?.Interval}ns`,
      );
      expect(info.State.Health?.Status === "healthy", `${name}: ${info.State.Health?.Status}`);
      outcomes.push(`${name}: ${info.State.Health.Status}`);
    }
    const [first] = ecs.tasks.values();
    const def = first.definition.containers.find((c) => c.healthCheck)!;
    return `${outcomes.join(", ")} by "${def.healthCheck!.command.slice(1).join(" ")}" every ${def.healthCheck!.interval}s`;
  }),

  check("ecs: a developer logs in through the ALB stand-in with the password from Secrets Manager, and the workbench loads", async (r) => {
    const ecs = leg(r);
    const [service] = ecs.services;
    const password = await ecs.context.secretValue(ecs.synthesized.stack.secretNames.get(passwordReference(ecs, service.service))!);
    const browser = await r.browser();
    const wrong = await browser.tryLogin(service.host, `not-the-password-${randomBytes(6).toString("hex")}`);
    expect(!wrong.accepted, `${service.host} accepted a wrong password`);
    const { page, websocketFrames } = await browser.openWorkbench(service.host, password);
    await page.close();
    expect(!readFileSync(layout.log, "utf8").includes(password), `the rehearsal's log ${layout.log} holds ${service.service}'s password`);
    return `${browser.url(service.host)} -> ${ecs.tasks.get(service.service)!.address}:${service.port}: workbench rendered, websocket ${websocketFrames()} frames; a wrong password: "${wrong.accepted ? "" : wrong.message}"; the password is nowhere in the rehearsal's log`;
  }),

  check("ecs: a file written in the home survives a task replacement; the task's /tmp does not", async (r) => {
    const ecs = leg(r);
    const [service] = ecs.services;
    const content = randomBytes(8).toString("hex");
    const before = ecs.tasks.get(service.service)!;
    const wrote = await execIn(before, service.container, `echo ${content} > ~/workspace/kept.txt && echo ${content} > /tmp/scratch.txt`);
    expect(wrote.code === 0, `writing in ${service.service}'s task: ${wrote.stderr.trim()}`);
    const oldId = (await inspect(before.containers.get(service.container)!)).State.StartedAt;
    const after = await ecs.start(service.service);
    const newId = (await inspect(after.containers.get(service.container)!)).State.StartedAt;
    expect(newId !== oldId, "the task was not replaced");
    const read = await execIn(after, service.container, "cat ~/workspace/kept.txt; test ! -e /tmp/scratch.txt && echo tmp-empty");
    expect(read.stdout.trim() === `${content}\ntmp-empty`, `after the replacement: ${read.stdout.trim()} ${read.stderr.trim()}`);
    const page = await (await r.browser()).tryLogin(service.host, "x".repeat(20));
    expect(!page.accepted, "the replaced task accepted a wrong password");
    return `${service.service}: ~/workspace/kept.txt written in the task started ${oldId.slice(11, 19)}, read back in its replacement started ${newId.slice(11, 19)} (${after.address}, reached through the proxy); /tmp was the old task's`;
  }),

  check("ecs: one developer's task cannot reach another's code-server; the ALB stand-in reaches both", async (r) => {
    const ecs = leg(r);
    const [from, to] = ecs.services;
    expect(from && to, "the ECS roster needs two developers");
    const target = ecs.tasks.get(to.service)!;
    const url = `http://${target.address}:${to.port}/healthz`;
    const control = await run("curl", ["-sS", "-o", "/dev/null", "--max-time", "8", "-w", "%{http_code}", url]);
    expect(
      control.stdout === "200",
      `the ALB stand-in's machine gets ${control.stdout} ${control.stderr} from ${url}: a refusal would prove nothing`,
    );
    const probe = await execIn(
      ecs.tasks.get(from.service)!,
      from.container,
      `curl -sS --connect-timeout 4 --max-time 8 -o /dev/null -w '%{http_code}' ${url}`,
      { timeoutSeconds: 30 },
    );
    // 7: refused; 28: no answer.
    expect(
      probe.code === 7 || probe.code === 28,
      `${from.service}'s task reached ${url}: curl exit ${probe.code}, HTTP ${probe.stdout} ${probe.stderr}`,
    );
    const own = await execIn(
      ecs.tasks.get(from.service)!,
      from.container,
      `curl -sS -o /dev/null -w '%{http_code}' http://localhost:${from.port}/healthz`,
    );
    expect(own.stdout === "200", `${from.service}'s own code-server on localhost: ${own.stdout} ${own.stderr}`);
    return `${url} (${to.service}'s task): 200 from the ALB stand-in, ${probe.code === 7 ? "refused" : "no answer"} from ${from.service}'s task (curl exit ${probe.code}), which reaches its own code-server on localhost`;
  }),

  check(
    `ecs: the Anthropic API key put into Secrets Manager reaches code-server's environment as ${API_KEY_VARIABLE} in the service's next task (compared inside the task by its hash, never shown)`,
    async (r) => {
      const ecs = leg(r);
      const service = ecs.services[ecs.services.length - 1];
      const def = servingDefinition(ecs, service.service);
      const reference = def.secrets?.find((s) => s.name === API_KEY_VARIABLE)?.valueFrom;
      expect(reference, `${service.service}'s ${def.name} gets no ${API_KEY_VARIABLE} secret`);
      const secret = ecs.synthesized.stack.secretNames.get(reference)!;
      const names = (def.secrets ?? []).filter((s) => s.valueFrom === reference).map((s) => s.name);
      const key = `sk-ant-api03-rehearsal-${randomBytes(24).toString("base64url")}`;
      // A new version, then a new deployment of that one service: what set-api-key does.
      await putSecretValue(r, secret, key);
      const task = await ecs.start(service.service);
      const digest = createHash("sha256").update(key).digest("hex");
      // In code-server's own process (pid 1's child), whose environment the extension host inherits.
      const probe = await execIn(
        task,
        service.container,
        `pid=$(pgrep -o -P 1); for name in ${names.join(" ")}; do
           v=$(tr '\\0' '\\n' < /proc/$pid/environ | sed -n "s/^$name=//p")
           if [ -z "$v" ]; then echo "$name missing"; elif [ "$(printf %s "$v" | sha256sum | cut -d' ' -f1)" = ${digest} ]; then echo "$name same"; else echo "$name different"; fi
         done`,
      );
      const outcomes = probe.stdout.trim().split("\n");
      expect(
        probe.code === 0 && outcomes.length === names.length && outcomes.every((o) => o.endsWith(" same")),
        `in ${service.service}'s next task, code-server's environment against the key put into ${secret}: ${outcomes.join(", ")} ${probe.stderr.trim()}`,
      );
      expect(!readFileSync(layout.log, "utf8").includes(key), `the rehearsal's log ${layout.log} holds the API key`);
      return `a new ${key.length}-character key put into ${secret}; in ${service.service}'s next task (${task.address}) code-server's process has ${outcomes.join(", ")} (SHA-256 against the stored key); the key is nowhere in the rehearsal's log`;
    },
  ),

  check(
    "ecs: with auth: none written from inside the task into every config file code-server could read, code-server killed and the task replaced, the password is still required",
    async (r) => {
      const ecs = leg(r);
      const service = ecs.services[ecs.services.length - 1];
      const name = service.service;
      const browser = await r.browser();
      return authNoneAttack({
        exec: (script) => execIn(ecs.tasks.get(name)!, service.container, script),
        restartAfterKill: async () => {
          const task = ecs.tasks.get(name)!;
          await execIn(task, service.container, KILL_CODE_SERVER);
          const code = await waitExit(task, service.container, 60);
          // The essential container exited: ECS stops the task, and the service starts another on the same home.
          const next = await ecs.start(name);
          return `${name}'s code-server killed from inside (the essential container exited ${code}), the service's next task (${next.address}) healthy on the same home`;
        },
        get: (path) => proxyRequest("https", service.host, path, r.ports),
        login: (password) => browser.tryLogin(service.host, password),
        password: () => ecs.context.secretValue(ecs.synthesized.stack.secretNames.get(passwordReference(ecs, name))!),
      });
    },
  ),

  PRIVILEGES_CHECK,

  MIGRATION_CHECK,

  check("ecs: the leg's tasks are gone and the ALB stand-in routes the host's developers alone again", async (r) => {
    const ecs = leg(r);
    await ecs.stopAll();
    const left = (await engine(["ps", "-aq", "--filter", "name=^ecs-"])).stdout.trim().split("\n").filter(Boolean);
    // Removed either way: the faults leg must find the host's containers alone.
    if (left.length) await engine(["rm", "--force", ...left]);
    expect(left.length === 0, `${left.length} containers of the leg remained after its tasks were stopped`);
    const config = readFileSync(join(layout.proxy, "nginx.conf"), "utf8");
    expect(!ecs.services.some((s) => config.includes(`server_name ${s.host};`)), "the proxy still routes an ECS developer");
    const [developer] = r.host.fleet.developers;
    const answer = await r.get(developer.name, "/healthz");
    expect(answer.status === 200, `${developer.name} through the proxy: ${answer.status}`);
    return `no container of the leg left; the proxy routes the host's ${r.host.fleet.developers.length} developers alone, ${developer.name}'s /healthz 200 through it`;
  }),
];

/** The definition of the container a service's target group forwards to. */
function servingDefinition(ecs: EcsLeg, service: string): ContainerDefinition {
  const s = ecs.service(service);
  return ecs.synthesized.stack.tasks.get(s.family)!.containers.find((c) => c.name === s.container)!;
}

/** The `valueFrom` of the serving container's PASSWORD. */
function passwordReference(ecs: EcsLeg, service: string): string {
  const def = servingDefinition(ecs, service);
  const secret = def.secrets?.find((x) => x.name === "PASSWORD");
  expect(secret, `${service}'s ${def.name} gets no PASSWORD secret`);
  return secret.valueFrom;
}
