/**
 * What `sudo` and the image's setuid-root programs can do in a developer's task, where Fargate has
 * no no-new-privileges switch: the setuid bit takes effect, but the task's capability bounding set
 * is empty, so uid 0 comes with no capability at all (docs/ecs.md, "`sudo` in a task").
 */
import { engine, execIn, type Task } from "../ecs/tasks";
import type { Rehearsal } from "../rehearsal";
import { check, expect } from "./check";

const ZERO_CAPS = "0000000000000000";

/** `key: value` lines of a /proc status. */
const fields = (text: string) => Object.fromEntries([...text.matchAll(/^(\w+):\s*(.*)$/gm)].map((m) => [m[1], m[2].trim()]));

/**
 * A setuid-root program of the image caught while it waits for a password that never comes (su,
 * else passwd): its path and the kernel's record of its ids and capabilities.
 */
const SETUID_PROBE = `for prog in su passwd; do
  path=$(command -v "$prog") || continue
  [ -u "$path" ] && [ "$(stat -c %u "$path")" = 0 ] || continue
  sleep 4 2>/dev/null | "$path" >/dev/null 2>&1 &
  sleep 1
  pid=$(pgrep -n -x "$prog") || continue
  echo "Path: $path"
  grep -E '^(Uid|CapPrm|CapEff|CapBnd):' "/proc/$pid/status"
  kill "$pid" 2>/dev/null
  exit 0
done
echo "no setuid-root program of the image stayed long enough to be seen" >&2
exit 1`;

/** As uid 0 without capabilities: what the doc says it cannot do, and what it still can. */
const ROOT_PROBE = [
  'echo "Uid: $(id -u)"',
  "grep '^CapEff:' /proc/self/status",
  'echo "RootWrite: $(touch /rehearsal-root-write 2>&1 || true)"',
  'echo "Hostname: $(hostname rehearsal-probe 2>&1 || true)"',
  'echo "Shadow: $(head -c0 /etc/shadow 2>&1 && echo readable)"',
  'echo "PortStart: $(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)"',
].join("; ");

/** Binds port 80, then 8081, as the process is: the refusal of the first is about the port alone. */
const BIND_PROBE = [
  "perl",
  "-MSocket",
  "-e",
  'for my $p (80, 8081) { socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!\\n"; print bind($s, sockaddr_in($p, INADDR_ANY)) ? "$p bound\\n" : "$p $!\\n" }',
];

/** sudo as the container's user: refused, or what it runs has no capability. */
async function sudoOutcome(task: Task, container: string): Promise<string> {
  const sudo = await execIn(task, container, "sudo -n sh -c 'id -u; grep ^CapEff: /proc/self/status'");
  if (sudo.code === 0) {
    const caps = fields(sudo.stdout).CapEff;
    expect(caps === ZERO_CAPS, `sudo in the task runs a command with CapEff ${caps}: it gains capabilities`);
    return `sudo runs as uid ${sudo.stdout.trim().split("\n")[0]} with CapEff ${caps}`;
  }
  const message = sudo.stderr.trim().split("\n")[0];
  expect(!/no new privileges/.test(message), `sudo is refused for no-new-privileges, which a Fargate task does not have: ${message}`);
  return `sudo refused: "${message}"`;
}

/** The engine's own privileged-port rule in the task, and the kernel's rule where the namespace keeps its default. */
async function bindOutcome(task: Task, container: string, image: string): Promise<string> {
  const inTask = await engine(["exec", "--user=0", task.containers.get(container)!, ...BIND_PROBE]);
  const kernel = await engine([
    "run",
    "--rm",
    "--network=none",
    "--user=0",
    "--cap-drop=ALL",
    "--read-only",
    "--sysctl=net.ipv4.ip_unprivileged_port_start=1024",
    "--entrypoint=perl",
    image,
    ...BIND_PROBE.slice(1),
  ]);
  const lines = kernel.stdout.trim().split("\n");
  expect(
    kernel.code === 0 && /^80 Permission denied$/.test(lines[0]) && lines[1] === "8081 bound",
    `uid 0 without capabilities, privileged ports from 1024: ${kernel.stdout.trim()} ${kernel.stderr.trim()}`,
  );
  return `uid 0 without capabilities where ports below 1024 are privileged (the kernel's default): "${lines.join(", ")}"; in the task, where the engine makes every port unprivileged: "${inTask.stdout.trim().split("\n").join(", ")}"`;
}

export const PRIVILEGES_CHECK = check(
  "ecs: sudo and a setuid-root program in a task gain no capability (no no-new-privileges, an empty bounding set): uid 0 there cannot write the root, set the host name, bind a privileged port or see another container's processes",
  async (r: Rehearsal) => {
    const ecs = r.ecs;
    expect(ecs, "no ECS tasks: the first ECS check failed");
    const [service] = ecs.services;
    const task = ecs.tasks.get(service.service)!;
    const container = service.container;
    const pid1 = fields((await execIn(task, container, "cat /proc/1/status")).stdout);
    expect(
      pid1.NoNewPrivs === "0",
      `NoNewPrivs ${pid1.NoNewPrivs} in the task: the engine blocks setuid, which Fargate cannot, so the probe would prove nothing`,
    );
    expect(pid1.CapBnd === ZERO_CAPS, `the task's bounding set is ${pid1.CapBnd}, not empty`);
    const sudo = await sudoOutcome(task, container);
    const setuid = await execIn(task, container, SETUID_PROBE);
    expect(setuid.code === 0, `${setuid.stdout}${setuid.stderr}`.trim());
    const prog = fields(setuid.stdout);
    const [, effective] = (prog.Uid ?? "").split(/\s+/);
    expect(
      effective === "0",
      `${prog.Path} runs with uids ${prog.Uid}: the setuid bit had no effect, so nothing is shown of what uid 0 gains`,
    );
    expect(
      prog.CapPrm === ZERO_CAPS && prog.CapEff === ZERO_CAPS,
      `${prog.Path}, setuid root, holds CapPrm ${prog.CapPrm} CapEff ${prog.CapEff}`,
    );
    const root = fields((await execIn(task, container, ROOT_PROBE, { user: "0" })).stdout);
    const problems: string[] = [];
    if (root.Uid !== "0" || root.CapEff !== ZERO_CAPS) problems.push(`uid 0 in the task: uid ${root.Uid}, CapEff ${root.CapEff}`);
    if (!/Read-only file system/.test(root.RootWrite)) problems.push(`uid 0 writing /: "${root.RootWrite}"`);
    // Debian's hostname words EPERM as "you must be root".
    if (!/not permitted|must be root/i.test(root.Hostname)) problems.push(`uid 0 setting the host name: "${root.Hostname}"`);
    const processes = (await execIn(task, container, "ps -e -o args=")).stdout.trim().split("\n");
    const pause = await engine(["top", task.pause]);
    if (!/sleep infinity/.test(pause.stdout))
      problems.push(`the pause container runs no sleep to look for: ${pause.stdout}${pause.stderr}`.trim());
    if (processes.includes("sleep infinity"))
      problems.push(`the code-server container sees another container's processes: ${processes.join(", ")}`);
    expect(problems.length === 0, problems.join("\n"));
    const ports = await bindOutcome(task, container, task.definition.containers.find((c) => c.name === container)!.image);
    return `${service.service}: NoNewPrivs 0, CapBnd ${ZERO_CAPS}; ${sudo}; ${prog.Path} (setuid root) runs with uids ${prog.Uid.replace(/\s+/g, "/")}, CapPrm and CapEff ${ZERO_CAPS}; uid 0 in the task: "${root.RootWrite.replace(/^touch: /, "")}", host name: "${root.Hostname}", /etc/shadow ${root.Shadow || "not readable"} (what it still can); ${processes.length} processes seen from code-server's container, none of the pause container's; ${ports}`;
  },
);
