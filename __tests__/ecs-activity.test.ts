/**
 * The ECS task's `activity` container, its program run for real against a stand-in code-server
 * (`/healthz`) and a stand-in task metadata endpoint (CPU stats): it prints one embedded-metric
 * line a sample with `Active` by the host's idle rule, at its edges (a forgotten tab's live
 * heartbeat, a held connection whose heartbeat stopped, a busy terminal with no tab, nothing).
 */
import { spawn } from "node:child_process";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ACTIVITY_PROGRAM } from "../src/platforms/ecs/activity";

interface Stand {
  healthz: object | undefined;
  /** CPU nanoseconds code-server has used, read at each stats request. */
  cpu: () => number;
}

function listen(handler: Parameters<typeof createServer>[1]): Promise<Server> {
  const server = createServer(handler);
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}
const portOf = (server: Server) => (server.address() as AddressInfo).port;

/** Runs the program for `samples` samples 400 ms apart; each printed line, parsed. */
async function run(stand: Stand, samples: number, during?: (codeServerPort: number) => () => void) {
  const codeServer = await listen((req, res) => {
    if (req.url === "/healthz" && stand.healthz) res.end(JSON.stringify(stand.healthz));
    else if (req.url === "/held")
      res.writeHead(200).write("open"); // answered, never ended
    else res.writeHead(404).end();
  });
  const metadata = await listen((req, res) => {
    if (req.url === "/task")
      res.end(
        JSON.stringify({
          Containers: [
            { Name: "code-server", DockerId: "abc" },
            { Name: "activity", DockerId: "def" },
          ],
        }),
      );
    else if (req.url === "/task/stats") res.end(JSON.stringify({ abc: { cpu_stats: { cpu_usage: { total_usage: stand.cpu() } } } }));
    else res.writeHead(404).end();
  });
  const stop = during?.(portOf(codeServer));
  const child = spawn(
    process.execPath,
    ["-e", ACTIVITY_PROGRAM, String(portOf(codeServer)), "dev1", "code-server/dev/containers", "code-server"],
    {
      env: { ...process.env, ACTIVITY_INTERVAL_MS: "400", ECS_CONTAINER_METADATA_URI_V4: `http://127.0.0.1:${portOf(metadata)}` },
    },
  );
  const lines: Record<string, unknown>[] = [];
  let buffered = "";
  await new Promise<void>((resolve) => {
    child.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split("\n");
      buffered = parts.pop()!;
      lines.push(...parts.filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>));
      if (lines.length >= samples) resolve();
    });
  });
  child.kill();
  stop?.();
  codeServer.closeAllConnections();
  await Promise.all([codeServer, metadata].map((s) => new Promise((r) => s.close(r))));
  return lines;
}

const EXPIRED = { status: "expired", lastHeartbeat: Date.now() - 3_600_000 };

describe("the ECS activity container's program", () => {
  it("prints the embedded metric format line for Active per developer in the container namespace", async () => {
    const [line] = await run({ healthz: { status: "alive", lastHeartbeat: Date.now() }, cpu: () => 0 }, 1);
    expect(line).toEqual({
      _aws: {
        Timestamp: expect.any(Number),
        CloudWatchMetrics: [
          { Namespace: "code-server/dev/containers", Dimensions: [["Developer"]], Metrics: [{ Name: "Active", Unit: "None" }] },
        ],
      },
      Developer: "dev1",
      Active: 1,
    });
  });

  it("nothing going on: inactive, also when code-server does not answer", async () => {
    expect((await run({ healthz: EXPIRED, cpu: () => 0 }, 2)).map((l) => l.Active)).toEqual([0, 0]);
    expect((await run({ healthz: undefined, cpu: () => 0 }, 2)).map((l) => l.Active)).toEqual([0, 0]);
  });

  it("a busy terminal with no tab: active from the second sample, by code-server's CPU time", async () => {
    let used = 0;
    // 0.1 s of CPU per stats request, some 400 ms apart: about a quarter of a vCPU.
    const lines = await run({ healthz: EXPIRED, cpu: () => (used += 100_000_000) }, 3);
    expect(lines.map((l) => l.Active)).toEqual([0, 1, 1]);
  });

  it("a tab whose heartbeat stopped: active once its connection has lasted from one sample to the next", async () => {
    const lines = await run({ healthz: EXPIRED, cpu: () => 0 }, 3, (port) => {
      const held = request({ host: "127.0.0.1", port, path: "/held" });
      held.end();
      return () => held.destroy();
    });
    expect(lines.slice(1).map((l) => l.Active)).toEqual([1, 1]);
  });
});
