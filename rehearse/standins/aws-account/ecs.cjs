"use strict";
// ECS: services (a new deployment or a new desired count is reached at once), their tasks, task
// definitions, and the one-off task run-task starts: the maintenance program
// (AWS_STANDIN_MAINTENANCE) runs with the task's command, the homes' file system at <state>/fs.
// AWS_STANDIN_FAULT_ECS_NEVER_STABLE=1: no service becomes stable (the waiter gives up).
const { spawnSync } = require("node:child_process");
const { CliError } = require("./cli.cjs");
const { hex, now } = require("./state.cjs");

const clusterOf = (ctx) => ctx.one("cluster") ?? "default";
const inCluster = (ctx, record) => record.clusterArn === ctx.account.arn("ecs", `cluster/${clusterOf(ctx)}`);

function findService(ctx, name) {
  return ctx.account.list("services").find((s) => inCluster(ctx, s) && (s.serviceName === name || s.serviceArn === name));
}

function describeServices(ctx) {
  const names = ctx.many("services", true);
  const services = names.map((name) => findService(ctx, name)).filter(Boolean);
  const failures = names
    .filter((name) => !findService(ctx, name))
    .map((name) => ({ arn: ctx.account.arn("ecs", `service/${clusterOf(ctx)}/${name}`), reason: "MISSING" }));
  return { services, failures };
}

function updateService(ctx) {
  const service = findService(ctx, ctx.one("service", true));
  if (!service || service.status !== "ACTIVE") ctx.fail("ServiceNotActiveException", "Service was not ACTIVE.");
  if (ctx.one("desired-count") !== undefined) service.desiredCount = Number(ctx.one("desired-count"));
  if (ctx.has("force-new-deployment") || ctx.one("desired-count") !== undefined) {
    service.deployments = [{ id: `ecs-svc/${hex(8)}`, status: "PRIMARY", desiredCount: service.desiredCount, createdAt: now() }];
  }
  if (ctx.env.AWS_STANDIN_FAULT_ECS_NEVER_STABLE !== "1") service.runningCount = service.desiredCount;
  ctx.account.save();
  return { service };
}

function wait(ctx) {
  if (ctx.positional[0] !== "services-stable")
    throw new CliError(`aws stand-in: the waiter ecs wait ${ctx.positional[0]} is not supported`, 252);
  const services = ctx.many("services", true).map((name) => findService(ctx, name));
  const stable = services.every((s) => s && s.status === "ACTIVE" && s.runningCount === s.desiredCount);
  if (!stable || ctx.env.AWS_STANDIN_FAULT_ECS_NEVER_STABLE === "1") {
    throw new CliError("\nWaiter ServicesStable failed: Max attempts exceeded", 255);
  }
}

function listTasks(ctx) {
  const service = ctx.one("service-name");
  const status = ctx.one("desired-status") ?? "RUNNING";
  const tasks = ctx.account
    .list("tasks")
    .filter((t) => inCluster(ctx, t) && t.desiredStatus === status && (!service || t.group === `service:${service}`));
  return { taskArns: tasks.map((t) => t.taskArn) };
}

function describeTasks(ctx) {
  const wanted = ctx.many("tasks", true);
  const tasks = ctx.account
    .list("tasks")
    .filter((t) => inCluster(ctx, t) && wanted.some((w) => t.taskArn === w || t.taskArn.endsWith(`/${w}`)));
  return { tasks, failures: [] };
}

function taskDefinition(ctx, name) {
  const found = ctx.account
    .list("taskDefinitions")
    .filter((d) => d.taskDefinitionArn === name || d.family === name || `${d.family}:${d.revision}` === name)
    .pop();
  if (!found) ctx.fail("ClientException", "Unable to describe task definition.");
  return found;
}

function describeTaskDefinition(ctx) {
  return { taskDefinition: taskDefinition(ctx, ctx.one("task-definition", true)) };
}

/** Runs the maintenance program with the override's command; the task is STOPPED when this returns. */
function runTask(ctx) {
  const definition = taskDefinition(ctx, ctx.one("task-definition", true));
  const override = JSON.parse(ctx.one("overrides") ?? "{}").containerOverrides?.[0] ?? {};
  const program = ctx.env.AWS_STANDIN_MAINTENANCE;
  if (!program) throw new CliError("aws stand-in: ecs run-task runs the program AWS_STANDIN_MAINTENANCE names; it is not set", 252);
  const environment = Object.fromEntries((definition.containerDefinitions[0].environment ?? []).map((e) => [e.name, e.value]));
  const ran = spawnSync("bash", [program, ...(override.command ?? [])], {
    env: { ...ctx.env, ...environment, FS_ROOT: ctx.account.dirOf("fs") },
    stdio: ["ignore", "ignore", "pipe"],
  });
  ctx.appendLog("task.log", ran.stderr);
  const task = {
    taskArn: ctx.account.arn("ecs", `task/${clusterOf(ctx)}/${hex(16)}`),
    clusterArn: ctx.account.arn("ecs", `cluster/${clusterOf(ctx)}`),
    taskDefinitionArn: definition.taskDefinitionArn,
    group: `family:${definition.family}`,
    startedBy: ctx.one("started-by") ?? "",
    lastStatus: "STOPPED",
    desiredStatus: "STOPPED",
    stoppedReason: "Essential container in task exited",
    containers: [{ name: override.name ?? definition.containerDefinitions[0].name, exitCode: ran.status ?? 1, lastStatus: "STOPPED" }],
    overrides: { containerOverrides: [override] },
  };
  ctx.account.list("tasks").push(task);
  ctx.account.save();
  return { tasks: [{ ...task, lastStatus: "PROVISIONING", desiredStatus: "RUNNING" }], failures: [] };
}

function executeCommand(ctx) {
  const task = ctx.account.list("tasks").find((t) => inCluster(ctx, t) && t.taskArn === ctx.one("task", true));
  if (!task || task.lastStatus !== "RUNNING")
    ctx.fail("InvalidParameterException", "The execute command failed because the task is not running.");
  process.stdout.write(`session in ${task.taskArn}: ${ctx.one("container")} ${ctx.one("command", true)}\n`);
}

module.exports = {
  "describe-services": describeServices,
  "update-service": updateService,
  wait,
  "list-tasks": listTasks,
  "describe-tasks": describeTasks,
  "describe-task-definition": describeTaskDefinition,
  "run-task": runTask,
  "execute-command": executeCommand,
};
