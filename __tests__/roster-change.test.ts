/**
 * A roster change touches only what it names. Two rosters that
 * differ by one developer (dev5) synthesize to stacks whose instance, user_data and data volume
 * are byte-identical and whose other developers' resources are unchanged.
 */
import { defaultFleet, editedFleet } from "./helpers/fleet";
import { only, synthStack } from "./helpers/synth";
import type { ProviderBlock, TerraformJson } from "../src/terraform/plan-json";

const before = synthStack(defaultFleet());
const after = synthStack(editedFleet((r) => (r.developers = r.developers.filter((d: { name: string }) => d.name !== "dev5"))));

/** Every resource as `type.logicalId` → config without cdktf's metadata. */
function index(config: ProviderBlock): Map<string, ProviderBlock> {
  const out = new Map<string, ProviderBlock>();
  for (const [type, named] of Object.entries<ProviderBlock>(config.resource)) {
    for (const [id, { "//": _meta, ...body }] of Object.entries<ProviderBlock>(named)) out.set(`${type}.${id}`, body);
  }
  return out;
}

const a = index(before);
const b = index(after);
const changed = [...a.keys()].filter((k) => b.has(k) && JSON.stringify(a.get(k)) !== JSON.stringify(b.get(k)));
const removed = [...a.keys()].filter((k) => !b.has(k));
const added = [...b.keys()].filter((k) => !a.has(k));

describe("removing a developer from the roster", () => {
  it("leaves the instance, its user_data, the data volume and its attachment byte-identical", () => {
    expect(JSON.stringify(only(after, "aws_instance"))).toBe(JSON.stringify(only(before, "aws_instance")));
    expect(only(after, "aws_instance").user_data).toBe(only(before, "aws_instance").user_data);
    expect(JSON.stringify(only(after, "aws_ebs_volume"))).toBe(JSON.stringify(only(before, "aws_ebs_volume")));
    expect(JSON.stringify(only(after, "aws_volume_attachment"))).toBe(JSON.stringify(only(before, "aws_volume_attachment")));
    expect(changed.filter((k) => /aws_instance|aws_ebs_volume|aws_volume_attachment|aws_iam_|aws_kms_/.test(k))).toEqual([]);
  });

  it("removes only dev5's resources and adds nothing", () => {
    expect(added).toEqual([]);
    expect(removed.length).toBeGreaterThan(0);
    for (const key of removed) {
      const body = a.get(key)!;
      const isDev5 = body.tags?.developer === "dev5" || JSON.stringify(body).includes("dev5");
      expect([key, isDev5]).toEqual([key, true]);
    }
  });

  it("changes only shared host files, the association's hash and the dashboard", () => {
    const kinds = changed.map((k) => k.split(".")[0]);
    expect(new Set(kinds)).toEqual(new Set(["aws_s3_object", "aws_ssm_association", "aws_cloudwatch_dashboard"]));
    const association = (c: TerraformJson) => only(c, "aws_ssm_association");
    const { hostFilesHash: h1, ...rest1 } = association(before).parameters;
    const { hostFilesHash: h2, ...rest2 } = association(after).parameters;
    expect(h1).not.toBe(h2);
    expect(rest1).toEqual(rest2);
  });

  it("keeps every other developer's target group, rule priority, DNS record and secrets as they were", () => {
    for (const [key, body] of a) {
      if (!b.has(key) || body.tags?.developer === undefined || body.tags.developer === "dev5") continue;
      expect([key, JSON.stringify(b.get(key))]).toEqual([key, JSON.stringify(body)]);
    }
    const priorities = (c: ProviderBlock) =>
      Object.values<ProviderBlock>(c.resource.aws_lb_listener_rule).map((r) => [r.tags.developer, r.priority]);
    expect(priorities(after)).toEqual(priorities(before).filter(([name]) => name !== "dev5"));
  });
});
