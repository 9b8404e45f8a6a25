"use strict";
// EC2: instances, EBS volumes and snapshots, their tags, and the waiters the scripts use.
const { CliError } = require("./cli.cjs");
const { newId, now } = require("./state.cjs");

/** "Name=x,Values=a,b" (or Key=...) → { name, values }, as the CLI's shorthand reads it. */
function shorthandFilter(text) {
  const match = /^(?:Name|Key)=([^,]+),Values=(.*)$/.exec(text);
  if (!match) throw new CliError(`aws stand-in: cannot read the filter ${text} (Name=<name>,Values=<v>,<v>...)`, 252);
  return { name: match[1], values: match[2].split(",") };
}

/** "Key=k,Value=v" (or Key=k alone) → { Key, Value }; JSON lists are read as they are. */
function shorthandTags(values) {
  if (values.length === 1 && values[0].trim().startsWith("[")) return JSON.parse(values[0]);
  return values.map((text) => {
    const match = /^Key=([^,]*)(?:,Value=(.*))?$/.exec(text);
    if (!match) throw new CliError(`aws stand-in: cannot read the tag ${text} (Key=<k>,Value=<v>)`, 252);
    return match[2] === undefined ? { Key: match[1] } : { Key: match[1], Value: match[2] };
  });
}

const tagValue = (resource, key) => (resource.Tags ?? []).find((t) => t.Key === key)?.Value;

const INSTANCE_FILTERS = {
  "instance-state-name": (i) => i.State.Name,
  "instance-id": (i) => i.InstanceId,
};
function instanceMatches(instance, filter) {
  if (filter.name.startsWith("tag:")) return filter.values.includes(tagValue(instance, filter.name.slice(4)));
  const read = INSTANCE_FILTERS[filter.name];
  if (!read) throw new CliError(`aws stand-in: the filter ${filter.name} of DescribeInstances is not supported`, 252);
  return filter.values.includes(read(instance));
}

/** The records with these ids, failing as EC2 does when one does not exist. */
function byIds(ctx, collection, idKey, ids, notFound, what) {
  const all = ctx.account.list(collection);
  return ids.map((id) => {
    const found = all.find((r) => r[idKey] === id);
    if (!found) ctx.fail(notFound, `The ${what} '${id}' does not exist.`);
    return found;
  });
}

function describeInstances(ctx) {
  const ids = ctx.many("instance-ids");
  let instances = ids.length
    ? byIds(ctx, "instances", "InstanceId", ids, "InvalidInstanceID.NotFound", "instance ID")
    : ctx.account.list("instances");
  for (const filter of ctx.many("filters").map(shorthandFilter)) instances = instances.filter((i) => instanceMatches(i, filter));
  const shown = instances.map(({ SsmPingStatus: _ssm, ...instance }) => instance);
  return { Reservations: shown.map((instance) => ({ ReservationId: `r-${instance.InstanceId.slice(2)}`, Instances: [instance] })) };
}

/** start-instances and stop-instances: the state moves, as EC2 reports the change. */
function power(from, to) {
  return (ctx) => {
    const instances = byIds(ctx, "instances", "InstanceId", ctx.many("instance-ids", true), "InvalidInstanceID.NotFound", "instance ID");
    const changes = instances.map((instance) => {
      const previous = instance.State.Name;
      if (previous === "terminated")
        ctx.fail("IncorrectInstanceState", `The instance '${instance.InstanceId}' is not in a state from which it can be started.`);
      if (from.includes(previous)) instance.State = { Name: to };
      return { InstanceId: instance.InstanceId, CurrentState: instance.State, PreviousState: { Name: previous } };
    });
    ctx.account.save();
    return { [to === "running" ? "StartingInstances" : "StoppingInstances"]: changes };
  };
}

const VOLUME_FILTERS = {
  "attachment.instance-id": (v) => (v.Attachments ?? []).map((a) => a.InstanceId),
  "volume-id": (v) => [v.VolumeId],
  status: (v) => [v.State],
};
function describeVolumes(ctx) {
  const ids = ctx.many("volume-ids");
  let volumes = ids.length ? byIds(ctx, "volumes", "VolumeId", ids, "InvalidVolume.NotFound", "volume") : ctx.account.list("volumes");
  for (const filter of ctx.many("filters").map(shorthandFilter)) {
    const read = filter.name.startsWith("tag:") ? (v) => [tagValue(v, filter.name.slice(4))] : VOLUME_FILTERS[filter.name];
    if (!read) throw new CliError(`aws stand-in: the filter ${filter.name} of DescribeVolumes is not supported`, 252);
    volumes = volumes.filter((v) => read(v).some((value) => filter.values.includes(value)));
  }
  return { Volumes: volumes };
}

function createVolume(ctx) {
  const snapshotId = ctx.one("snapshot-id");
  const snapshot = snapshotId ? byIds(ctx, "snapshots", "SnapshotId", [snapshotId], "InvalidSnapshot.NotFound", "snapshot")[0] : undefined;
  const spec = JSON.parse(ctx.one("tag-specifications") ?? "[]").find((s) => s.ResourceType === "volume");
  const volume = {
    VolumeId: newId("vol"),
    AvailabilityZone: ctx.one("availability-zone", true),
    Size: Number(ctx.one("size") ?? snapshot?.VolumeSize),
    SnapshotId: snapshotId ?? "",
    VolumeType: ctx.one("volume-type") ?? "gp3",
    ...(ctx.one("iops") ? { Iops: Number(ctx.one("iops")) } : {}),
    ...(ctx.one("throughput") ? { Throughput: Number(ctx.one("throughput")) } : {}),
    Encrypted: ctx.has("encrypted"),
    ...(ctx.one("kms-key-id") ? { KmsKeyId: ctx.one("kms-key-id") } : {}),
    CreateTime: now(),
    State: "available",
    Attachments: [],
    Tags: spec?.Tags ?? [],
  };
  ctx.account.list("volumes").push(volume);
  ctx.account.save();
  return { ...volume, State: "creating" };
}

function volumeOf(ctx) {
  return byIds(ctx, "volumes", "VolumeId", [ctx.one("volume-id", true)], "InvalidVolume.NotFound", "volume")[0];
}

function attachVolume(ctx) {
  const volume = volumeOf(ctx);
  const instanceId = ctx.one("instance-id", true);
  byIds(ctx, "instances", "InstanceId", [instanceId], "InvalidInstanceID.NotFound", "instance ID");
  if (volume.State !== "available") ctx.fail("VolumeInUse", `${volume.VolumeId} is already attached to an instance`);
  const attachment = {
    VolumeId: volume.VolumeId,
    InstanceId: instanceId,
    Device: ctx.one("device", true),
    State: "attached",
    AttachTime: now(),
  };
  volume.Attachments = [attachment];
  volume.State = "in-use";
  ctx.account.save();
  return { ...attachment, State: "attaching" };
}

function detachVolume(ctx) {
  const volume = volumeOf(ctx);
  const [attachment] = volume.Attachments ?? [];
  if (!attachment) ctx.fail("IncorrectState", `Volume '${volume.VolumeId}' is in the 'available' state.`);
  volume.Attachments = [];
  volume.State = "available";
  ctx.account.save();
  return { ...attachment, State: "detaching" };
}

function describeSnapshots(ctx) {
  const ids = ctx.many("snapshot-ids");
  const snapshots = ids.length
    ? byIds(ctx, "snapshots", "SnapshotId", ids, "InvalidSnapshot.NotFound", "snapshot")
    : ctx.account.list("snapshots");
  return { Snapshots: snapshots };
}

/** A snapshot completes at once here; the answer says pending, as EC2's does. */
function createSnapshot(ctx) {
  const volumeId = ctx.one("volume-id", true);
  const [volume] = byIds(ctx, "volumes", "VolumeId", [volumeId], "InvalidVolume.NotFound", "volume");
  const spec = JSON.parse(ctx.one("tag-specifications") ?? "[]").find((s) => s.ResourceType === "snapshot");
  const snapshot = {
    SnapshotId: newId("snap"),
    VolumeId: volumeId,
    VolumeSize: volume.Size,
    Description: ctx.one("description") ?? "",
    StartTime: now(),
    State: "completed",
    Progress: "100%",
    OwnerId: ctx.account.accountId,
    Encrypted: volume.Encrypted,
    Tags: spec?.Tags ?? [],
  };
  ctx.account.list("snapshots").push(snapshot);
  ctx.account.save();
  return { ...snapshot, State: "pending", Progress: "" };
}

/** The resource (instance, volume or snapshot) with this id. */
function resource(ctx, id) {
  for (const [collection, key] of [
    ["instances", "InstanceId"],
    ["volumes", "VolumeId"],
    ["snapshots", "SnapshotId"],
  ]) {
    const found = ctx.account.list(collection).find((r) => r[key] === id);
    if (found) return found;
  }
  return ctx.fail("InvalidID", `The ID '${id}' is not valid`);
}

function createTags(ctx) {
  const tags = shorthandTags(ctx.many("tags", true));
  for (const target of ctx.many("resources", true).map((id) => resource(ctx, id))) {
    target.Tags = [
      ...(target.Tags ?? []).filter((t) => !tags.some((n) => n.Key === t.Key)),
      ...tags.map((t) => ({ Key: t.Key, Value: t.Value ?? "" })),
    ];
  }
  ctx.account.save();
}

function deleteTags(ctx) {
  const tags = shorthandTags(ctx.many("tags", true));
  for (const target of ctx.many("resources", true).map((id) => resource(ctx, id))) {
    target.Tags = (target.Tags ?? []).filter((t) => !tags.some((d) => d.Key === t.Key && (d.Value === undefined || d.Value === t.Value)));
  }
  ctx.account.save();
}

/** The waiters succeed when every resource is in the state already (this account changes at once). */
const WAITERS = {
  "instance-running": ["instances", "InstanceId", "instance-ids", (i) => i.State.Name === "running", "InstanceRunning"],
  "instance-stopped": ["instances", "InstanceId", "instance-ids", (i) => i.State.Name === "stopped", "InstanceStopped"],
  "volume-available": ["volumes", "VolumeId", "volume-ids", (v) => v.State === "available", "VolumeAvailable"],
  "volume-in-use": ["volumes", "VolumeId", "volume-ids", (v) => v.State === "in-use", "VolumeInUse"],
};
function wait(ctx) {
  const waiter = WAITERS[ctx.positional[0]];
  if (!waiter) throw new CliError(`aws stand-in: the waiter ec2 wait ${ctx.positional[0]} is not supported`, 252);
  const [collection, key, option, done, name] = waiter;
  const all = ctx.account.list(collection);
  const ids = ctx.many(option, true);
  if (!ids.every((id) => all.some((r) => r[key] === id && done(r)))) {
    throw new CliError(
      `\nWaiter ${name} failed: Waiter encountered a terminal failure state: For expression was not the expected state`,
      255,
    );
  }
}

const calls = {
  "describe-instances": describeInstances,
  "start-instances": power(["stopped"], "running"),
  "stop-instances": power(["pending", "running"], "stopped"),
  "describe-volumes": describeVolumes,
  "create-volume": createVolume,
  "attach-volume": attachVolume,
  "detach-volume": detachVolume,
  "describe-snapshots": describeSnapshots,
  "create-snapshot": createSnapshot,
  "create-tags": createTags,
  "delete-tags": deleteTags,
  wait,
};

module.exports = { calls, shorthandFilter };
