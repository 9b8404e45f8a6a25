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

/**
 * The fleet's own SSM document (src/constructs/host-script-document.ts) runs exactly one of the two
 * scripts, for one developer or for all: its parameters, checked by SSM against the document's
 * allowed values and pattern before anything runs on the host.
 */
export function scriptParameters(script: Script, developer?: string): Record<string, string[]> {
  return { script: [script], developer: [developer ?? ""] };
}

/** Sends `script` to the host; its command id. */
export async function runScript(ssm: SSMClient, host: HostSettings, script: Script, developer?: string): Promise<string> {
  const { Command } = await ssm.send(
    new SendCommandCommand({
      InstanceIds: [host.instanceId],
      DocumentName: host.scriptDocument,
      Parameters: scriptParameters(script, developer),
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
    { key: "DocumentName" as const, value: host.scriptDocument },
  ];
  for await (const page of paginateListCommands({ client: ssm }, { InstanceId: host.instanceId, Filters: filters })) {
    for (const command of page.Commands ?? []) {
      const script = command.Parameters?.script?.[0];
      const developer = command.Parameters?.developer?.[0] ?? "";
      if ((script !== "start-containers" && script !== "stop-containers") || !command.RequestedDateTime) continue;
      sent.push({
        script,
        ...(developer !== "" ? { developer } : {}),
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
