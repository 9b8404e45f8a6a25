/**
 * The rehearsal's pure parts (npm run rehearse itself needs root and an engine, and is not part
 * of npm test): the ALB stand-in's nginx configuration from the routing table, the choice of
 * the code-server release the image is built from, and the ECS leg's reading of a synthesized task
 * definition and its translation into the engine's options.
 */
import { codeServerReleaseFor } from "../rehearse/image";
import { nginxConfig } from "../rehearse/proxy";
import { listenerResponseHeaders } from "../rehearse/rosters";
import { synthStack } from "./helpers/synth";
import { routingTable } from "../src/routing";
import { fleetOf } from "./fixtures/rosters";
import { editedFleet } from "./helpers/fleet";
import { ecsStackOf } from "../rehearse/ecs/definitions";
import { containerArgs, resolvedEnvironment, startOrder } from "../rehearse/ecs/tasks";
import { expectedArgv, launchDeviations, type ImageView, type LaunchView } from "../rehearse/ecs/launch";

const fleet = fleetOf();
const routes = routingTable(fleet);
const paths = { dir: "/p", pidFile: "/p/nginx.pid", certificateFile: "/p/tls.crt", keyFile: "/p/tls.key" };
/** The `server { ... }` blocks of a generated configuration, as text. */
const servers = (config: string) => config.split(/\n {2}server \{\n/).slice(1);

describe("the ALB stand-in's nginx.conf", () => {
  const config = nginxConfig(routes, { https: 443, http: 80 }, paths);

  it("has one TLS server per developer that forwards its host name to the developer's port, Host kept, websockets upgraded", () => {
    for (const route of routes) {
      const [server] = servers(config).filter((s) => s.includes(`server_name ${route.host};`));
      expect(server).toBeDefined();
      expect(server).toContain("listen 127.0.0.1:443 ssl;");
      expect(server).toContain(`proxy_pass http://127.0.0.1:${route.port};`);
      expect(server).toContain("proxy_set_header Host $http_host;");
      expect(server).toContain("proxy_set_header Upgrade $http_upgrade;");
    }
    expect(servers(config)).toHaveLength(routes.length + 2);
  });

  it("answers an unknown host with 404 and redirects plain HTTP to HTTPS with a 301", () => {
    const defaults = servers(config).filter((s) => s.includes("default_server"));
    expect(defaults.find((s) => s.includes("listen 127.0.0.1:443 ssl default_server;"))).toContain("return 404");
    expect(defaults.find((s) => s.includes("listen 127.0.0.1:80 default_server;"))).toContain("return 301 https://$host$request_uri;");
  });

  it("adds the HTTPS listener's response headers to every developer's answers, replacing the target's, and nowhere else", () => {
    const headers = { "Strict-Transport-Security": "max-age=31536000; includeSubDomains", "X-Frame-Options": "SAMEORIGIN" };
    const withHeaders = nginxConfig(routes, { https: 443, http: 80 }, paths, headers);
    for (const route of routes) {
      const [server] = servers(withHeaders).filter((s) => s.includes(`server_name ${route.host};`));
      expect(server).toContain("proxy_hide_header Strict-Transport-Security;");
      expect(server).toContain('add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;');
      expect(server).toContain('add_header X-Frame-Options "SAMEORIGIN" always;');
    }
    expect(servers(withHeaders).filter((s) => s.includes("add_header"))).toHaveLength(routes.length);
    expect(config).not.toContain("add_header");
  });

  it("reads those headers from the synthesized HTTPS listener's routing.http.response attributes", () => {
    const headers = listenerResponseHeaders(synthStack(fleet));
    expect(headers["Strict-Transport-Security"]).toMatch(/^max-age=\d+/);
    expect(headers["X-Content-Type-Options"]).toBe("nosniff");
    expect(
      Object.keys(headers).every((h) =>
        ["Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options", "Content-Security-Policy"].includes(h),
      ),
    ).toBe(true);
  });

  it("forwards a route with an address of its own (an ECS task's) to that address, the others to this machine's ports", () => {
    const [first, second] = routes;
    const mixed = servers(nginxConfig([first, { ...second, address: "172.30.0.2", port: 8080 }], { https: 443, http: 80 }, paths));
    expect(mixed.find((s) => s.includes(`server_name ${first.host};`))).toContain(`proxy_pass http://127.0.0.1:${first.port};`);
    expect(mixed.find((s) => s.includes(`server_name ${second.host};`))).toContain("proxy_pass http://172.30.0.2:8080;");
  });

  it("keeps a non-standard HTTPS port in the redirect", () => {
    expect(nginxConfig(routes, { https: 8443, http: 8080 }, paths)).toContain("return 301 https://$host:8443$request_uri;");
  });
});

describe("codeServerReleaseFor", () => {
  it("builds the roster's tag when npm has that release, else the next release after it", () => {
    const published = ["4.100.3", "4.103.2", "4.104.0", "4.105.0-rc.1"];
    expect(codeServerReleaseFor("4.103.2", published)).toBe("4.103.2");
    expect(codeServerReleaseFor("4.102.2", published)).toBe("4.103.2");
    expect(() => codeServerReleaseFor("4.200.0", published)).toThrow(/no code-server release on npm at or after 4.200.0/);
  });
});

describe("the ECS leg's reading of a synthesized stack and its engine options", () => {
  const ecsFleet = editedFleet((r) => {
    r.platform = "ecs";
    delete r.host;
  });
  const stack = ecsStackOf(synthStack(ecsFleet));
  const [developer] = ecsFleet.developers;
  const service = stack.services.find((s) => s.service === developer.name)!;
  const definition = stack.tasks.get(service.family)!;
  const task = { id: "ecs-x", pause: "ecs-x-pause", scratchVolumes: new Map([["tmp", "ecs-x-tmp"]]) };
  const context = { efsRoot: "/efs", nofileMax: 20000, deployTimeValues: {}, healthStartInterval: 1 };
  const argsOf = (name: string) =>
    containerArgs(
      definition,
      definition.containers.find((c) => c.name === name)!,
      task,
      context,
    );

  it("finds each developer's service with the host name its listener rule forwards, and the access point's creation owner", () => {
    expect(stack.services.map((s) => s.service).sort()).toEqual(ecsFleet.developers.map((d) => d.name).sort());
    expect(service.host).toBe(developer.hostname);
    const home = definition.volumes.find((v) => v.accessPoint)!.accessPoint!;
    expect(home.path).toBe(`/home/${developer.name}`);
    expect(home.creation).toEqual({ uid: 1000, gid: 1000, mode: 0o750 });
    expect(stack.initializer.passwords).toContain(
      stack.secretNames.get(definition.containers.flatMap((c) => c.secrets ?? []).find((s) => s.name === "PASSWORD")!.valueFrom),
    );
  });

  it("starts every container after those it depends on", () => {
    const order = startOrder(definition).map((c) => c.name);
    for (const c of definition.containers)
      for (const d of c.dependsOn ?? []) expect(order.indexOf(d.containerName)).toBeLessThan(order.indexOf(c.name));
  });

  it("gives the engine the definition's user, read-only root, capabilities, init, mounts, health check and command, joining the task's namespace", () => {
    const def = definition.containers.find((c) => c.name === service.container)!;
    const args = argsOf(service.container);
    expect(args).toEqual(
      expect.arrayContaining([`--network=container:${task.pause}`, `--user=${def.user}`, "--read-only", "--cap-drop=ALL", "--init"]),
    );
    expect(args).toContain(`--mount=type=bind,src=/efs/home/${developer.name},dst=/home/coder`);
    expect(args).toContain("--mount=type=volume,src=ecs-x-tmp,dst=/tmp");
    expect(args).toContain(`--health-cmd=${def.healthCheck!.command.slice(1).join(" ")}`);
    expect(args).toContain(`--health-interval=${def.healthCheck!.interval}s`);
    expect(args).toContain("--ulimit=nofile=20000:20000");
    const image = args.indexOf(def.image);
    expect(args[image - 1]).toBe(`--entrypoint=${def.entryPoint![0]}`);
    expect(args.slice(image + 1)).toEqual([...def.entryPoint!.slice(1), ...def.command!]);
  });

  it("never puts a secret in the options: secrets travel in an env file", () => {
    const args = definition.containers.flatMap((c) => containerArgs(definition, c, task, context)).join(" ");
    for (const c of definition.containers) for (const secret of c.secrets ?? []) expect(args).not.toContain(secret.name + "=");
  });

  it("refuses an environment value Terraform resolves at deploy time that the rehearsal has no stand-in for, naming it", () => {
    const maintenance = [...stack.tasks.values()].find((t) => !stack.services.some((s) => s.family === t.family))!;
    expect(() => containerArgs(maintenance, maintenance.containers[0], task, context)).toThrow(
      /no stand-in value for ARCHIVE_BUCKET \(Terraform sets \$\{aws_s3_bucket\./,
    );
    expect(
      containerArgs(maintenance, maintenance.containers[0], task, { ...context, deployTimeValues: { ARCHIVE_BUCKET: "b" } }),
    ).toContain("--env=ARCHIVE_BUCKET=b");
  });

  describe("judging a running container against its definition (image, argv, environment)", () => {
    const serving = definition.containers.find((c) => c.name === service.container)!;
    const prepare = definition.containers.find((c) => c.name !== service.container)!;
    const image: ImageView = {
      Id: "sha256:built",
      Config: { Entrypoint: ["/usr/bin/entrypoint.sh"], Cmd: ["--bind-addr", "0.0.0.0:8080", "."], Env: ["PATH=/usr/bin", "LANG=C.UTF-8"] },
    };
    const key = "sk-ant-the-real-key";
    const secrets = new Map((serving.secrets ?? []).map((s) => [s.name, s.name === "PASSWORD" ? "pw" : key]));
    const values = resolvedEnvironment(definition, serving, {});
    /** The container as the leg starts it: the definition's entry point split as docker create splits it. */
    const started = (): LaunchView => {
      const [entry, ...rest] = serving.entryPoint!;
      const env = new Map([["PATH", "/usr/bin"], ["LANG", "C.UTF-8"], ...values, ...secrets]);
      return {
        Image: image.Id,
        Config: {
          Image: serving.image,
          Entrypoint: [entry],
          Cmd: [...rest, ...serving.command!],
          Env: [...env].map(([k, v]) => `${k}=${v}`),
        },
      };
    };
    const judge = (info: LaunchView) => launchDeviations("t/c", serving, image, info, { values, secrets });

    it("combines entry point and command as ECS does, the image's where the definition has none", () => {
      expect(expectedArgv(prepare, image)).toEqual([...prepare.entryPoint!, ...prepare.command!]);
      expect(expectedArgv({ ...serving, entryPoint: undefined }, image)).toEqual(["/usr/bin/entrypoint.sh", ...serving.command!]);
      expect(expectedArgv({ ...serving, entryPoint: undefined, command: undefined }, image)).toEqual([
        "/usr/bin/entrypoint.sh",
        "--bind-addr",
        "0.0.0.0:8080",
        ".",
      ]);
      expect(expectedArgv({ ...serving, command: undefined }, image)).toEqual(serving.entryPoint);
    });

    it("finds nothing wrong with a container started as the definition says", () => {
      expect(secrets.size).toBeGreaterThan(0);
      expect(judge(started())).toEqual([]);
    });

    it("names another image, by reference and by id", () => {
      const info = started();
      expect(judge({ ...info, Config: { ...info.Config, Image: "codercom/code-server:latest" } })).toEqual([
        `t/c: image codercom/code-server:latest, defined ${serving.image}`,
      ]);
      expect(judge({ ...info, Image: "sha256:other" })).toEqual([
        `t/c: runs image sha256:other, not sha256:built, which the engine holds as ${serving.image}`,
      ]);
    });

    it("names the first argument that differs, and a missing one", () => {
      const info = started();
      const cmd = [...info.Config.Cmd!];
      const auth = cmd.indexOf("password");
      cmd[auth] = "none";
      expect(judge({ ...info, Config: { ...info.Config, Cmd: cmd } })).toEqual([
        `t/c: argument ${auth + 1} of what it runs is "none", defined "password"`,
      ]);
      expect(judge({ ...info, Config: { ...info.Config, Cmd: info.Config.Cmd!.slice(0, -1) } })).toEqual([
        `t/c: argument ${info.Config.Cmd!.length} of what it runs is nothing, defined "/home/coder/workspace"`,
      ]);
    });

    it("names a changed, missing or extra variable, and a wrong or missing secret without its value", () => {
      const info = started();
      const env = info.Config.Env!;
      const varied = env
        .filter((e) => !e.startsWith("PROXY_DOMAIN="))
        .map((e) => (e.startsWith("ANTHROPIC_API_KEY=") ? "ANTHROPIC_API_KEY=sk-ant-another-key" : e))
        .filter((e) => !e.startsWith("CLAUDE_API_KEY="))
        .concat("EXTRA=1", "LANG=C");
      const problems = judge({ ...info, Config: { ...info.Config, Env: varied } });
      expect(problems).toEqual([
        't/c: LANG is "C", defined "C.UTF-8"',
        `t/c: PROXY_DOMAIN is undefined, defined ${JSON.stringify(values.get("PROXY_DOMAIN"))}`,
        "t/c: ANTHROPIC_API_KEY is not the value of its secret in Secrets Manager",
        "t/c: the secret CLAUDE_API_KEY is not in the environment",
        "t/c: EXTRA in the environment, which neither the image nor the definition sets",
      ]);
      expect(problems.join("\n")).not.toMatch(/sk-ant-/);
    });
  });
});
