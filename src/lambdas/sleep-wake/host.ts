/**
 * The host platform's compute: the EC2 instance, its SSM agent, and the host scripts that start
 * and stop one developer's container (or all of them), run through SSM Run Command. The commands
 * the scripts were sent recently are how every Lambda instance knows a start is under way.
 */
import {
  type EC2Client,
  DescribeInstancesCommand,
  type InstanceStateName,
  StartInstancesCommand,
  StopInstancesCommand,
} from "@aws-sdk/client-ec2";
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  paginateListCommands,
  SendCommandCommand,
  type SSMClient,
} from "@aws-sdk/client-ssm";
import type { HostSettings } from "./config";

/** pending, running, stopping, stopped, shutting-down or terminated. */
export type HostState = InstanceStateName;

export interface HostView {
  readonly state: HostState;
  /** When the instance last started. */
  readonly launchTime?: Date;
}

export async function describeHost(ec2: EC2Client, instanceId: string): Promise<HostView> {
  const { Reservations } = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  const instance = Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === instanceId);
  if (!instance?.State?.Name) throw new Error(`the host ${instanceId} is not found: check HOST_INSTANCE_ID`);
  return { state: instance.State.Name, ...(instance.LaunchTime ? { launchTime: instance.LaunchTime } : {}) };
}

export async function startHost(ec2: EC2Client, instanceId: string): Promise<void> {
  await ec2.send(new StartInstancesCommand({ InstanceIds: [instanceId] }));
}

export async function stopHost(ec2: EC2Client, instanceId: string): Promise<void> {
  await ec2.send(new StopInstancesCommand({ InstanceIds: [instanceId] }));
}

/** Whether the host's SSM agent is connected, so that a command reaches it now. */
export async function agentOnline(ssm: SSMClient, instanceId: string): Promise<boolean> {
  const { InstanceInformationList } = await ssm.send(
    new DescribeInstanceInformationCommand({ Filters: [{ Key: "InstanceIds", Values: [instanceId] }] }),
  );
  return (InstanceInformationList ?? []).some((i) => i.InstanceId === instanceId && i.PingStatus === "Online");
}

export type Script = "start-containers" | "stop-containers";

/** SSM's document that runs shell lines as root. */
export const RUN_SHELL = "AWS-RunShellScript";

/** The shell line that runs `script` for one developer (a DNS label: nothing to quote), or for all. */
export function scriptCommand(host: Pick<HostSettings, "scriptsDir">, script: Script, developer?: string): string {
  return `${host.scriptsDir.replace(/\/+$/, "")}/${script}.sh${developer === undefined ? "" : ` --developer ${developer}`}`;
}

/** Sends `script` to the host; its command id. */
export async function runScript(ssm: SSMClient, host: HostSettings, script: Script, developer?: string): Promise<string> {
  const { Command } = await ssm.send(
    new SendCommandCommand({
      InstanceIds: [host.instanceId],
      DocumentName: RUN_SHELL,
      // A start waits for the container to be healthy; neither should take minutes.
      Parameters: { commands: [scriptCommand(host, script, developer)], executionTimeout: ["600"] },
      TimeoutSeconds: 300,
      Comment: `${script}${developer === undefined ? "" : ` ${developer}`}`,
    }),
  );
  if (!Command?.CommandId) throw new Error(`SSM sent ${script} to ${host.instanceId} without a command id`);
  return Command.CommandId;
}

export interface SentScript {
  readonly script: Script;
  /** Absent: the script ran for every developer. */
  readonly developer?: string;
  /** SSM's command status: Pending, InProgress, Success, Failed, TimedOut, Cancelled, Cancelling. */
  readonly status: string;
  readonly requestedAt: Date;
}

/** The host scripts sent to the host since `since`, newest first. */
export async function recentScripts(ssm: SSMClient, host: HostSettings, since: Date): Promise<SentScript[]> {
  const sent: SentScript[] = [];
  const filters = [
    { key: "InvokedAfter" as const, value: since.toISOString() },
    { key: "DocumentName" as const, value: RUN_SHELL },
  ];
  for await (const page of paginateListCommands({ client: ssm }, { InstanceId: host.instanceId, Filters: filters })) {
    for (const command of page.Commands ?? []) {
      const line = command.Parameters?.commands?.join("\n") ?? "";
      const match = /^(.*)\/(start-containers|stop-containers)\.sh(?: --developer ([a-z0-9-]+))?$/.exec(line);
      if (!match || match[1] !== host.scriptsDir.replace(/\/+$/, "") || !command.RequestedDateTime) continue;
      const script = match[2] as Script;
      sent.push({
        script,
        ...(match[3] ? { developer: match[3] } : {}),
        status: command.Status ?? "Pending",
        requestedAt: command.RequestedDateTime,
      });
    }
  }
  return sent.sort((a, b) => b.requestedAt.getTime() - a.requestedAt.getTime());
}

/** Statuses after which a command does nothing more. */
const FINAL = new Set([
  "Success",
  "Failed",
  "TimedOut",
  "Cancelled",
  "DeliveryTimedOut",
  "ExecutionTimedOut",
  "Undeliverable",
  "Terminated",
]);

/** Waits, polling, until the command has ended on the host or `timeoutMs` has passed; its last status. */
export async function waitForScript(
  ssm: SSMClient,
  instanceId: string,
  commandId: string,
  { timeoutMs, pollMs, sleep }: { timeoutMs: number; pollMs: number; sleep: (ms: number) => Promise<void> },
): Promise<string> {
  let status = "Pending";
  for (let waited = 0; ; waited += pollMs) {
    try {
      const invocation = await ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }));
      status = invocation.Status ?? status;
    } catch (err) {
      // SSM knows the invocation only a moment after the command was sent.
      if (!(err instanceof Error && err.name === "InvocationDoesNotExist")) throw err;
    }
    if (FINAL.has(status) || waited >= timeoutMs) return status;
    await sleep(pollMs);
  }
}
