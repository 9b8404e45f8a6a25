/**
 * A stand-in for the internet: this machine has no route to it, so the isolation checks need an
 * address outside every private range, reached through the host's routing as the internet is on
 * EC2. A network namespace holds 198.51.100.1 (TEST-NET-2) behind a veth pair whose host side is
 * 198.51.100.2/30, and serves HTTP there; Docker's NAT and forwarding rules carry a container's
 * traffic to it as they would to the internet gateway. sh/net-cleanup.sh removes it with the rest.
 */
import { spawn } from "node:child_process";
import { run, runOk, sleep } from "./lib/run";

export const INTERNET_NAMESPACE = "rehearsal-inet";
export const INTERNET_ADDRESS = "198.51.100.1";
const HOST_SIDE = { name: "rh-inet-host", address: "198.51.100.2/30" };
const NAMESPACE_SIDE = { name: "rh-inet", address: `${INTERNET_ADDRESS}/30` };
/** What the internet stand-in answers on port 80. */
export const INTERNET_GREETING = "hello from the internet stand-in";

/** Creates the namespace, its link and its web server, unless they are there already. */
export async function startInternet(): Promise<void> {
  if ((await internetAnswers()) === true) return;
  await stopInternet();
  await runOk("ip", ["netns", "add", INTERNET_NAMESPACE]);
  await runOk("ip", ["link", "add", HOST_SIDE.name, "type", "veth", "peer", "name", NAMESPACE_SIDE.name, "netns", INTERNET_NAMESPACE]);
  await runOk("ip", ["addr", "add", HOST_SIDE.address, "dev", HOST_SIDE.name]);
  await runOk("ip", ["link", "set", HOST_SIDE.name, "up"]);
  const inside = (args: string[]) => runOk("ip", ["-n", INTERNET_NAMESPACE, ...args]);
  await inside(["addr", "add", NAMESPACE_SIDE.address, "dev", NAMESPACE_SIDE.name]);
  await inside(["link", "set", NAMESPACE_SIDE.name, "up"]);
  await inside(["link", "set", "lo", "up"]);
  // The web server lives in the namespace, detached: net-cleanup.sh kills it with the namespace.
  const server = `require("http").createServer((q, s) => s.end(${JSON.stringify(`${INTERNET_GREETING}\n`)})).listen(80, ${JSON.stringify(INTERNET_ADDRESS)})`;
  spawn("ip", ["netns", "exec", INTERNET_NAMESPACE, process.execPath, "-e", server], { detached: true, stdio: "ignore" }).unref();
  for (let i = 0; i < 50; i++) {
    if ((await internetAnswers()) === true) return;
    await sleep(200);
  }
  throw new Error(`the internet stand-in at ${INTERNET_ADDRESS} does not answer`);
}

async function internetAnswers(): Promise<boolean> {
  const result = await run("curl", ["-sS", "--max-time", "2", `http://${INTERNET_ADDRESS}/`], { quiet: true });
  return result.code === 0 && result.stdout.trim() === INTERNET_GREETING;
}

export async function stopInternet(): Promise<void> {
  const pids = (await run("ip", ["netns", "pids", INTERNET_NAMESPACE])).stdout.split("\n").filter(Boolean);
  for (const pid of pids) await run("kill", ["-KILL", pid]);
  await run("ip", ["netns", "delete", INTERNET_NAMESPACE]);
  await run("ip", ["link", "delete", HOST_SIDE.name]);
}
