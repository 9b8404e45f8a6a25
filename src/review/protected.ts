/**
 * The resources whose change a reviewer must not miss: the host instance, the data volume, its
 * attachment, the archive bucket and, on ECS, the file system of the homes. They are found by what they are (the stack's outputs
 * point at them), not by how their addresses are spelled, and each change is named with what it
 * means for the developers.
 */
import type { TerraformJson } from "../terraform/plan-json";
import { BACKUP_SELECTION_TAG, GUIDE_LINKS } from "../naming";
import type { ResourceChange } from "../terraform/plan-json";
import { isReplacement } from "../terraform/plan-json";
import { attributeChanges, type ResourceEntry } from "./diff";

export type ProtectedRole = "host" | "dataVolume" | "dataVolumeAttachment" | "archiveBucket" | "homes";

export const ROLE_NAMES: Record<ProtectedRole, string> = {
  host: "host instance",
  dataVolume: "data volume",
  dataVolumeAttachment: "data volume attachment",
  archiveBucket: "archive bucket",
  homes: "homes file system (EFS)",
};

/** What Terraform would do to a protected resource. */
export type ProtectedAction = "unchanged" | "update" | "replace" | "create" | "delete" | "forget";

export interface ProtectedVerdict {
  readonly role: ProtectedRole;
  readonly address: string;
  readonly action: ProtectedAction;
  /** Attributes that change, from the plan. */
  readonly changed: readonly string[];
  /** For a replacement: the attributes that force it. */
  readonly forcedBy: readonly string[];
  /** Terraform would refuse to apply this (the resource has prevent_destroy). */
  readonly refused: boolean;
  /** What it means for the developers. */
  readonly consequence: string;
  /** Terraform refused to plan the change, so nothing would be done to it (see the review's refusals). */
  readonly notPlanned?: boolean;
  /** Terraform plans it, but AWS would refuse it (the consequence says why): the apply would fail. */
  readonly impossible?: boolean;
}

/** `${aws_x.name.attr}` as an output's value: the address it points at. */
function outputTarget(config: TerraformJson, output: string, type: string): string | undefined {
  const value = config.output?.[output]?.value;
  const match = typeof value === "string" ? new RegExp(`^\\$\\{(${type}\\.[A-Za-z0-9_-]+)\\.`).exec(value) : null;
  return match?.[1];
}

/** The sole resource of `type`, when there is exactly one. */
function sole(entries: ReadonlyMap<string, ResourceEntry>, type: string): string | undefined {
  const all = [...entries.values()].filter((e) => e.type === type);
  return all.length === 1 ? all[0].address : undefined;
}

/** Address of each protected resource of `config`. */
export function protectedResources(config: TerraformJson, entries: ReadonlyMap<string, ResourceEntry>): Map<ProtectedRole, string> {
  const found = new Map<ProtectedRole, string>();
  const host = outputTarget(config, "instance_id", "aws_instance") ?? sole(entries, "aws_instance");
  const volume = outputTarget(config, "data_volume_id", "aws_ebs_volume") ?? sole(entries, "aws_ebs_volume");
  const archive = outputTarget(config, "archive_bucket", "aws_s3_bucket");
  const homes = outputTarget(config, "homes_file_system_id", "aws_efs_file_system") ?? sole(entries, "aws_efs_file_system");
  const attachment = [...entries.values()].find(
    (e) => e.type === "aws_volume_attachment" && volume && JSON.stringify(e.body.volume_id ?? "").includes(`${volume}.`),
  )?.address;
  if (host) found.set("host", host);
  if (volume) found.set("dataVolume", volume);
  if (attachment) found.set("dataVolumeAttachment", attachment);
  if (archive) found.set("archiveBucket", archive);
  if (homes) found.set("homes", homes);
  return found;
}

/**
 * Attributes the AWS provider (5.100) changes on a running instance by stopping and starting it
 * (its documentation of aws_instance: "Updates to this field will trigger a stop/start of the
 * EC2 instance"). Other in-place changes (tags, monitoring, metadata options, security groups,
 * the instance profile, credit specification) apply while it runs.
 */
export const STOP_START_ATTRIBUTES = ["instance_type", "user_data", "user_data_base64"];

function hostConsequence(action: ProtectedAction, changes: readonly { path: string; description: string }[]): string {
  switch (action) {
    case "update": {
      const restarting = changes.filter((c) => STOP_START_ATTRIBUTES.includes(c.path.split(/[.[]/)[0]));
      if (restarting.length === 0) return "changed in place while it runs: no container restarts";
      const type = restarting.find((c) => c.path === "instance_type");
      return `${type ? `the host stops and starts to change its type (${type.description.replace(/"/g, "")})` : "the host stops and starts to apply the change"}: every developer's container restarts, editors disconnect for a few minutes, and the host's public IP changes`;
    }
    case "replace":
      return "the host is destroyed and a new one created: every container stops, anything on the old host's root disk is lost, the data volume is attached to the new host, and developers wait for it to set itself up";
    case "delete":
      return "the host is destroyed: no developer can work until it is created again";
    case "create":
      return "a new host is created";
    case "forget":
      return "Terraform stops managing it and leaves it running";
    case "unchanged":
      return "unchanged";
  }
}

/** The top-level attribute a change path belongs to: `tags` for `tags.Name`, `ebs_block_device` for `ebs_block_device[0].size`. */
const rootOf = (path: string) => path.split(/[.[]/)[0];

/**
 * Attributes of aws_ebs_volume that EBS changes with an Elastic Volumes modification, on the
 * attached volume; only a larger size needs the filesystem grown.
 */
export const VOLUME_MODIFICATION_ATTRIBUTES = ["size", "type", "iops", "throughput"];
const TAG_ATTRIBUTES = ["tags", "tags_all"];

/** What an in-place update of the data volume means, by what it changes (the report lists the attributes). */
function dataVolumeUpdate(changes: readonly { path: string; description: string }[]): string {
  const roots = new Set(changes.map((c) => rootOf(c.path)));
  const modified = [...roots].filter((root) => VOLUME_MODIFICATION_ATTRIBUTES.includes(root));
  const onlyTags = roots.size > 0 && [...roots].every((root) => TAG_ATTRIBUTES.includes(root));
  const parts = [
    modified.length > 0
      ? `EBS modifies it while it stays attached, with no downtime${modified.includes("size") ? "; once that is done, grow the filesystem on the host (resize2fs)" : ""}`
      : onlyTags
        ? "only its tags change: the data and the host are untouched"
        : "changed in place while it stays attached: the data and the host are untouched",
  ];
  if (changes.some((c) => TAG_ATTRIBUTES.some((root) => c.path === `${root}.${BACKUP_SELECTION_TAG}`))) {
    parts.push(
      `its ${BACKUP_SELECTION_TAG} tag, by which AWS Backup selects it, changes with the backup plan's name (both come from the roster's project and environment)`,
    );
  }
  return parts.join("; ");
}

function consequenceOf(role: ProtectedRole, action: ProtectedAction, changes: readonly { path: string; description: string }[]): string {
  if (role === "host") return hostConsequence(action, changes);
  if (action === "unchanged") return "unchanged";
  if (action === "forget") {
    return role === "dataVolume"
      ? "Terraform forgets it and does not destroy it: the volume, with every home the host had, stays in AWS (its backup tag keeps it in the backup plan) until you delete it yourself"
      : `Terraform forgets the ${ROLE_NAMES[role]} and does not destroy it: it stays in AWS until you delete it yourself`;
  }
  if (action === "create") {
    return role === "homes"
      ? "a new, empty file system for the homes is created: each developer's home is created empty at their task's first start, or filled from the host by scripts/migrate-homes.sh"
      : `a new ${ROLE_NAMES[role]} is created`;
  }
  switch (role) {
    case "dataVolume":
      return action === "update"
        ? dataVolumeUpdate(changes)
        : `a new, empty data volume would replace it: every developer's workspace would be lost. Restore from a snapshot instead (${GUIDE_LINKS.backups})`;
    case "dataVolumeAttachment":
      return action === "update"
        ? "changed in place: no effect on the host"
        : "the data volume is detached and attached again; the host stops first (stop_instance_before_detaching), so every container stops until it is back";
    case "archiveBucket":
      return action === "update"
        ? "bucket settings change in place: archived workspaces stay"
        : "a new, empty archive bucket would replace it: the archived workspaces of removed developers would be lost";
    case "homes":
      return action === "update"
        ? "changed in place: every home stays, and the tasks keep their mounts"
        : "a new, empty file system would replace it: every developer's home would be lost. Restore from an AWS Backup recovery point instead";
  }
}

/**
 * Why AWS would refuse a planned change of a protected resource that Terraform itself accepts, or
 * undefined: an EBS volume can grow, never shrink.
 */
export function impossibleChange(role: ProtectedRole, change: ResourceChange | undefined): string | undefined {
  if (role !== "dataVolume" || !change?.change.actions.includes("update")) return undefined;
  const [was, is] = [change.change.before?.size, change.change.after?.size];
  if (typeof was !== "number" || typeof is !== "number" || is >= was) return undefined;
  return (
    `EBS volumes cannot shrink (${was} → ${is} GiB): AWS refuses the modification, and the apply fails with the rest of it half done. ` +
    `Keep data_volume_size_gb at ${was} or more; a smaller volume means a new one and a copy of every home (${GUIDE_LINKS.backups})`
  );
}

/** The verdict for a protected resource from Terraform's plan of it. */
export function verdictFromPlan(
  role: ProtectedRole,
  address: string,
  change: ResourceChange | undefined,
  preventDestroy: ReadonlySet<string>,
  attributes: readonly { path: string; description: string }[],
): ProtectedVerdict {
  const actions = change?.change.actions ?? ["no-op"];
  const action: ProtectedAction = isReplacement(actions)
    ? "replace"
    : actions.includes("delete")
      ? "delete"
      : actions.includes("create")
        ? "create"
        : actions.includes("update")
          ? "update"
          : actions.includes("forget")
            ? "forget"
            : "unchanged";
  const planned = change
    ? attributeChanges(change.change.before ?? {}, change.change.after ?? {}).filter((c) => !c.description.startsWith("(none)"))
    : [];
  // The review's reading of the plan's changes, sensitive and unknown values said as such.
  const changes = attributes.length > 0 ? attributes : planned;
  const forcedBy = (change?.change.replace_paths ?? []).map((p) => p.filter((part) => typeof part === "string").join("."));
  const impossible = impossibleChange(role, change);
  return {
    role,
    address,
    action,
    changed: changes.map((c) => c.path),
    forcedBy,
    refused: (action === "replace" || action === "delete") && preventDestroy.has(address),
    consequence: impossible ?? consequenceOf(role, action, changes),
    ...(impossible ? { impossible: true } : {}),
  };
}
