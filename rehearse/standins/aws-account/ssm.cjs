"use strict";
// SSM: the agent's ping (Online while the instance runs, unless the instance says otherwise in
// SsmPingStatus) and Run Command. A command runs at once, with bash, the host's paths under
// <state>/host (ROOT_PREFIX); one that runs the host's own scripts (bash /.../scripts/<name>.sh)
// is only recorded, answered as a success. AWS_STANDIN_FAULT_SSM_COMMAND=Failed (or another
// status) ends every command so, whatever it did.
const { spawnSync } = require("node:child_process");
const { shorthandFilter } = require("./ec2.cjs");

const HOST_SCRIPT = /(^|[;&|]\s*)bash \/\S+\/scripts\/[\w.-]+\.sh\b/;

function describeInstanceInformation(ctx) {
  const filters = ctx.many("filters").map(shorthandFilter);
  const wanted = filters.find((f) => f.name === "InstanceIds")?.values;
  const list = ctx.account
    .list("instances")
    .filter((i) => !wanted || wanted.includes(i.InstanceId))
    .filter((i) => i.State.Name !== "terminated")
    .map((i) => ({
      InstanceId: i.InstanceId,
      PingStatus: i.State.Name === "running" ? (i.SsmPingStatus ?? "Online") : "ConnectionLost",
      PlatformType: "Linux",
      ResourceType: "EC2Instance",
    }));
  return { InstanceInformationList: list };
}

function execute(ctx, command) {
  if (HOST_SCRIPT.test(command)) return { status: "Success", stdout: `host output of: ${command}\n`, stderr: "" };
  const ran = spawnSync("bash", ["-c", command], {
    encoding: "utf8",
    env: { ...ctx.env, ROOT_PREFIX: ctx.account.dirOf("host") },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return { status: ran.status === 0 ? "Success" : "Failed", stdout: ran.stdout, stderr: ran.stderr };
}

function sendCommand(ctx) {
  const [instanceId] = ctx.many("instance-ids", true);
  const instance = ctx.account.list("instances").find((i) => i.InstanceId === instanceId);
  if (!instance || instance.State.Name !== "running") ctx.fail("InvalidInstanceId", "Instances not in a valid state for account");
  const parameters = JSON.parse(ctx.one("parameters", true));
  const outcome = execute(ctx, parameters.commands.join("\n"));
  const command = {
    CommandId: require("node:crypto").randomUUID(),
    InstanceId: instanceId,
    DocumentName: ctx.one("document-name", true),
    Comment: ctx.one("comment") ?? "",
    Commands: parameters.commands,
    Status: ctx.env.AWS_STANDIN_FAULT_SSM_COMMAND || outcome.status,
    StandardOutputContent: outcome.stdout,
    StandardErrorContent: outcome.stderr,
  };
  ctx.account.list("commands").push(command);
  ctx.account.save();
  return {
    Command: {
      CommandId: command.CommandId,
      DocumentName: command.DocumentName,
      Comment: command.Comment,
      InstanceIds: [instanceId],
      Status: "Pending",
    },
  };
}

function getCommandInvocation(ctx) {
  const id = ctx.one("command-id", true);
  const command = ctx.account.list("commands").find((c) => c.CommandId === id && c.InstanceId === ctx.one("instance-id", true));
  if (!command) ctx.fail("InvocationDoesNotExist", "");
  return {
    CommandId: id,
    InstanceId: command.InstanceId,
    DocumentName: command.DocumentName,
    Comment: command.Comment,
    Status: command.Status,
    StatusDetails: command.Status,
    ResponseCode: command.Status === "Success" ? 0 : 1,
    StandardOutputContent: command.StandardOutputContent,
    StandardErrorContent: command.StandardErrorContent,
  };
}

module.exports = {
  "describe-instance-information": describeInstanceInformation,
  "send-command": sendCommand,
  "get-command-invocation": getCommandInvocation,
};
