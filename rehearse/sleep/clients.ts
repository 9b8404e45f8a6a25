/**
 * The sleep leg's AWS stand-in at work: the functions' own SDK clients (makeClients) with their
 * `send` answered by the stand-in's state through aws-sdk-client-mock, command by command, typed
 * by each command's input and output. A command the functions do not make here is refused, named.
 */
import { CloudWatchClient, DescribeAlarmsCommand, DisableAlarmActionsCommand, EnableAlarmActionsCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeInstancesCommand, EC2Client, StartInstancesCommand, StopInstancesCommand } from "@aws-sdk/client-ec2";
import { ECSClient } from "@aws-sdk/client-ecs";
import {
  DescribeRulesCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ModifyRuleCommand,
  type Rule,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
} from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { randomUUID } from "node:crypto";
import { SLEEP_INSTANCE_ID, modifyRuleProblem } from "./account";
import { commandScript, type CommandDocument } from "./document";

/** A command sent through SSM Run Command and what became of it. */
export interface SentCommand {
  readonly id: string;
  /** `<script>.sh [--developer <name>]`, for the leg's messages. */
  readonly line: string;
  readonly parameters: Record<string, string[]>;
  readonly requestedAt: Date;
  status: "InProgress" | "Success" | "Failed";
  output: string;
  readonly done: Promise<void>;
}

/** What the stand-in needs from the leg: the host's scripts, the containers' health, the proxy. */
export interface StandInHooks {
  /** Runs the shell script an SSM command's document makes of its parameters on the host; its exit code and output. */
  readonly runOnHost: (script: string) => Promise<{ code: number | null; output: string }>;
  /** Whether the target group's developer container is healthy now (the host runs). */
  readonly targetHealthy: (targetGroupArn: string) => Promise<boolean>;
  /** Called after a rule's actions changed, with every rule: the proxy routes by them. */
  readonly rulesChanged: (rules: readonly Rule[]) => Promise<void>;
}

/** Every write the functions made, in order, as `<service> <call> <what>`. */
export type Journal = string[];

export class SleepStandIn {
  readonly journal: Journal = [];
  readonly commands: SentCommand[] = [];
  instance: { state: "running" | "stopped" | "pending"; launchTime: Date };
  private readonly elb = mockClient(ElasticLoadBalancingV2Client);
  private readonly ec2 = mockClient(EC2Client);
  private readonly ssm = mockClient(SSMClient);
  private readonly cloudwatch = mockClient(CloudWatchClient);
  /** The host platform makes no ECS call: any is refused. */
  private readonly ecs = mockClient(ECSClient);

  constructor(
    readonly rules: Map<string, Rule>,
    /** Alarm name to whether its actions are on. */
    readonly alarms: Map<string, boolean>,
    private readonly hooks: StandInHooks,
    /** When the host last started (a host started moments ago is not stopped by the sleeper). */
    launchTime: Date,
    /** The fleet's host script document, the only one the stand-in's agent runs. */
    private readonly document: { readonly name: string; readonly content: CommandDocument },
  ) {
    this.instance = { state: "running", launchTime };
    const refused = new Error("the sleep leg's AWS stand-in does not answer this call");
    for (const mock of this.mocks()) mock.onAnyCommand().rejects(refused);
    this.answerElb();
    this.answerEc2();
    this.answerSsm();
    this.answerCloudWatch();
  }

  /** Gives the SDK clients their own `send` back. */
  restore(): void {
    for (const mock of this.mocks()) mock.restore();
  }

  private mocks(): { onAnyCommand(): { rejects(error: Error): unknown }; restore(): void }[] {
    return [this.elb, this.ec2, this.ssm, this.cloudwatch, this.ecs];
  }

  /** Waits until every command sent so far has ended on the host. */
  async settled(): Promise<void> {
    await Promise.all(this.commands.map((c) => c.done));
  }

  private ruleByArn(arn: string | undefined): Rule {
    const rule = [...this.rules.values()].find((r) => r.RuleArn === arn);
    if (!rule) throw Object.assign(new Error(`One or more rules not found: ${arn}`), { name: "RuleNotFoundException" });
    return rule;
  }

  private answerElb(): void {
    const elb = this.elb;
    elb.on(DescribeRulesCommand).callsFake((input: DescribeRulesCommand["input"]) => ({
      Rules: input.RuleArns ? input.RuleArns.map((arn) => this.ruleByArn(arn)) : [...this.rules.values()],
    }));
    elb.on(ModifyRuleCommand).callsFake(async (input: ModifyRuleCommand["input"]) => {
      const rule = this.ruleByArn(input.RuleArn);
      const problem = modifyRuleProblem(input.Actions);
      if (problem) throw Object.assign(new Error(problem), { name: "ValidationError" });
      rule.Actions = structuredClone(input.Actions);
      this.journal.push(`elbv2 ModifyRule ${rule.Conditions?.[0]?.HostHeaderConfig?.Values?.[0]}`);
      await this.hooks.rulesChanged([...this.rules.values()]);
      return { Rules: [rule] };
    });
    elb.on(DescribeTargetHealthCommand).callsFake(async (input: DescribeTargetHealthCommand["input"]) => {
      const healthy = this.instance.state === "running" && (await this.hooks.targetHealthy(input.TargetGroupArn ?? ""));
      return {
        TargetHealthDescriptions: [{ Target: { Id: SLEEP_INSTANCE_ID }, TargetHealth: { State: healthy ? "healthy" : "unhealthy" } }],
      };
    });
  }

  private answerEc2(): void {
    const ec2 = this.ec2;
    const only = (ids: string[] | undefined) => {
      if (!ids || ids.length !== 1 || ids[0] !== SLEEP_INSTANCE_ID)
        throw Object.assign(new Error(`The instance IDs '${ids?.join(",")}' do not exist`), { name: "InvalidInstanceID.NotFound" });
    };
    ec2.on(DescribeInstancesCommand).callsFake((input: DescribeInstancesCommand["input"]) => {
      only(input.InstanceIds);
      const { state, launchTime } = this.instance;
      return { Reservations: [{ Instances: [{ InstanceId: SLEEP_INSTANCE_ID, State: { Name: state }, LaunchTime: launchTime }] }] };
    });
    ec2.on(StopInstancesCommand).callsFake((input: StopInstancesCommand["input"]) => {
      only(input.InstanceIds);
      this.journal.push(`ec2 StopInstances ${SLEEP_INSTANCE_ID}`);
      this.instance = { ...this.instance, state: "stopped" };
      return { StoppingInstances: [{ InstanceId: SLEEP_INSTANCE_ID, CurrentState: { Name: "stopping" } }] };
    });
    ec2.on(StartInstancesCommand).callsFake((input: StartInstancesCommand["input"]) => {
      only(input.InstanceIds);
      this.journal.push(`ec2 StartInstances ${SLEEP_INSTANCE_ID}`);
      this.instance = { state: "running", launchTime: new Date() };
      return { StartingInstances: [{ InstanceId: SLEEP_INSTANCE_ID, CurrentState: { Name: "pending" } }] };
    });
  }

  private send(line: string, parameters: Record<string, string[]>, script: string): SentCommand {
    let finish!: () => void;
    const command: SentCommand = {
      id: randomUUID(),
      line,
      parameters,
      requestedAt: new Date(),
      status: "InProgress",
      output: "",
      done: new Promise<void>((resolve) => (finish = resolve)),
    };
    this.commands.push(command);
    this.journal.push(`ssm SendCommand ${line}`);
    void this.hooks
      .runOnHost(script)
      .then((result) => Object.assign(command, { status: result.code === 0 ? "Success" : "Failed", output: result.output }))
      .catch((err: Error) => Object.assign(command, { status: "Failed", output: err.message }))
      .finally(finish);
    return command;
  }

  private answerSsm(): void {
    const ssm = this.ssm;
    ssm.on(SendCommandCommand).callsFake((input: SendCommandCommand["input"]) => {
      const refuse = (message: string) => Object.assign(new Error(message), { name: "InvalidParameters" });
      if (input.DocumentName !== this.document.name || input.InstanceIds?.join() !== SLEEP_INSTANCE_ID)
        throw refuse(`the stand-in runs only ${this.document.name} on ${SLEEP_INSTANCE_ID}`);
      const parameters = { ...input.Parameters } as Record<string, string[]>;
      const made = commandScript(this.document.content, parameters);
      if ("refused" in made) throw refuse(made.refused);
      if (this.instance.state !== "running")
        throw Object.assign(new Error("Instances not in a valid state"), { name: "InvalidInstanceId" });
      const developer = parameters.developer?.[0] ?? "";
      const command = this.send(`${parameters.script?.[0]}.sh${developer ? ` --developer ${developer}` : ""}`, parameters, made.script);
      return { Command: { CommandId: command.id, DocumentName: input.DocumentName, Parameters: input.Parameters } };
    });
    ssm.on(ListCommandsCommand).callsFake((input: ListCommandsCommand["input"]) => {
      const after = input.Filters?.find((f) => f.key === "InvokedAfter")?.value;
      const commands = this.commands.filter((c) => !after || c.requestedAt >= new Date(after));
      return {
        Commands: commands.map((c) => ({
          CommandId: c.id,
          DocumentName: this.document.name,
          Parameters: c.parameters,
          RequestedDateTime: c.requestedAt,
          Status: c.status,
        })),
      };
    });
    ssm.on(GetCommandInvocationCommand).callsFake((input: GetCommandInvocationCommand["input"]) => {
      const command = this.commands.find((c) => c.id === input.CommandId);
      if (!command) throw Object.assign(new Error("invocation does not exist"), { name: "InvocationDoesNotExist" });
      return { CommandId: command.id, InstanceId: SLEEP_INSTANCE_ID, Status: command.status };
    });
    ssm.on(DescribeInstanceInformationCommand).callsFake(() => ({
      InstanceInformationList: this.instance.state === "running" ? [{ InstanceId: SLEEP_INSTANCE_ID, PingStatus: "Online" as const }] : [],
    }));
  }

  private answerCloudWatch(): void {
    const cloudwatch = this.cloudwatch;
    const flip = (names: string[] | undefined, enabled: boolean) => {
      for (const name of names ?? []) if (this.alarms.has(name)) this.alarms.set(name, enabled);
      this.journal.push(`cloudwatch ${enabled ? "Enable" : "Disable"}AlarmActions ${(names ?? []).join(" ")}`);
      return {};
    };
    cloudwatch.on(EnableAlarmActionsCommand).callsFake((input: EnableAlarmActionsCommand["input"]) => flip(input.AlarmNames, true));
    cloudwatch.on(DisableAlarmActionsCommand).callsFake((input: DisableAlarmActionsCommand["input"]) => flip(input.AlarmNames, false));
    cloudwatch.on(DescribeAlarmsCommand).callsFake((input: DescribeAlarmsCommand["input"]) => ({
      MetricAlarms: (input.AlarmNames ?? [])
        .filter((name) => this.alarms.has(name))
        .map((name) => ({ AlarmName: name, ActionsEnabled: this.alarms.get(name) })),
    }));
  }
}
