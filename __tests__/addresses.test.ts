/**
 * Terraform addresses: readable (the construct path below the stack,
 * joined with `_`, never a hash), the same for a developer whatever else is in the roster, and a
 * compatibility contract: the default roster's list is checked in and a change must be made on
 * purpose, with `moved` blocks.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { Testing } from "cdktf";
import { Construct } from "constructs";
import { stackProps } from "../src/app";
import { type HclFiles, renderHcl } from "../src/export/hcl";
import { TERRAFORM_ADDRESSES, developerKeptAddresses, terraformAddress } from "../src/naming";
import { DevEnvironmentStack } from "../src/stacks/dev-environment-stack";
import { ReadableAddressStack } from "../src/stacks/readable-addresses";
import { defaultFleet, editedFleet } from "./helpers/fleet";
import { synthesize } from "./helpers/synth";
import type { ProviderBlock } from "../src/terraform/plan-json";

const ADDRESS_LIST = join(__dirname, "fixtures", "terraform-addresses.txt");
/** What cdktf's default naming appends: `_` and 8 upper-case hex digits of a path hash. */
const HASH_SUFFIX = /_[0-9A-F]{8}$/;

const { stack, config } = synthesize(defaultFleet());
const hcl: HclFiles = renderHcl(stack);

/** `[address, construct path]` of every resource and data source, and the variables and outputs, of Terraform JSON. */
function jsonAddresses(json: ProviderBlock): [string, string | undefined][] {
  const named = (kind: string, prefix: (type: string) => string) =>
    Object.entries((json[kind] as ProviderBlock | undefined) ?? {}).flatMap(([type, byName]) =>
      Object.entries(byName as ProviderBlock).map(
        ([name, body]) => [`${prefix(type)}${name}`, (body as ProviderBlock)["//"]?.metadata?.path] as [string, string],
      ),
    );
  return [
    ...named("resource", (type) => `${type}.`),
    ...named("data", (type) => `data.${type}.`),
    ...Object.keys((json.variable as ProviderBlock | undefined) ?? {}).map((name) => [`var.${name}`, undefined] as [string, undefined]),
    ...Object.keys((json.output as ProviderBlock | undefined) ?? {}).map((name) => [`output.${name}`, undefined] as [string, undefined]),
  ];
}

/** The same addresses, read from the block labels of the HCL export. */
function hclAddresses(files: HclFiles): string[] {
  const text = Object.values(files).join("\n");
  return [
    ...[...text.matchAll(/^resource "([^"]+)" "([^"]+)" \{/gm)].map((m) => `${m[1]}.${m[2]}`),
    ...[...text.matchAll(/^data "([^"]+)" "([^"]+)" \{/gm)].map((m) => `data.${m[1]}.${m[2]}`),
    ...[...text.matchAll(/^variable "([^"]+)" \{/gm)].map((m) => `var.${m[1]}`),
    ...[...text.matchAll(/^output "([^"]+)" \{/gm)].map((m) => `output.${m[1]}`),
  ];
}

const addresses = jsonAddresses(config);
const names = (list: readonly string[]) => list.map((address) => address.slice(address.lastIndexOf(".") + 1));

describe("addresses of the default roster", () => {
  it("are the same in the JSON, in the HCL export and in the stack's own list", () => {
    const fromJson = addresses.map(([address]) => address).sort();
    expect(hclAddresses(hcl).sort()).toEqual(fromJson);
    expect(stack.terraformAddresses()).toEqual(fromJson);
  });

  it("carry no construct-path hash, in the JSON or in the HCL export, in a block label or in a reference", () => {
    for (const name of [...names(addresses.map(([address]) => address)), ...names(hclAddresses(hcl))]) {
      expect([name, HASH_SUFFIX.test(name)]).toEqual([name, false]);
    }
    const hashed = /[A-Za-z0-9-]_[0-9A-F]{8}\b/g;
    expect(JSON.stringify(config).match(hashed)).toBeNull();
    expect(Object.values(hcl).join("\n").match(hashed)).toBeNull();
  });

  it("are each resource's construct path below the stack, joined with '_', except the three a restore swaps", () => {
    const pinned = new Set(Object.values(TERRAFORM_ADDRESSES).map(terraformAddress));
    for (const [address, path] of addresses) {
      if (path === undefined || pinned.has(address)) continue;
      expect([address, names([address])[0]]).toEqual([address, path.split("/").slice(1).join("_")]);
    }
    expect(addresses.map(([address]) => address)).toEqual(expect.arrayContaining([...pinned]));
    expect(addresses.map(([address]) => address)).toEqual(
      expect.arrayContaining(["aws_lb_target_group.alb_tg-dev1", "aws_vpc.network_vpc"]),
    );
  });

  it("match the checked-in list, so that a rename is always deliberate", () => {
    expectCheckedInAddresses(addresses, ADDRESS_LIST, "the default roster (roster.yaml)");
  });
});

/**
 * The default roster with every optional part that adds resources or changes the stack's setup:
 * the working-hours schedule, the WAF and the S3 state backend. Its address list pins the
 * addresses the default roster does not have (`aws_scheduler_schedule.schedule_start-host`, ...).
 */
const FULL_ROSTER = (roster: ProviderBlock) => {
  roster.schedule = { timezone: "Asia/Bangkok", days: ["mon", "tue", "wed", "thu", "fri"], start: "08:00", stop: "20:00" };
  roster.waf = { enabled: true };
  roster.state = { backend: "s3", bucket: "example-terraform-state" };
};
const FULL_ADDRESS_LIST = join(__dirname, "fixtures", "terraform-addresses-full.txt");

describe("addresses of a roster with a schedule, the WAF and the S3 backend", () => {
  const full = synthesize(editedFleet(FULL_ROSTER));
  const fullAddresses = jsonAddresses(full.config);

  it("are the default roster's and those of the schedule and the WAF", () => {
    const all = fullAddresses.map(([address]) => address);
    expect(all).toEqual(expect.arrayContaining(addresses.map(([address]) => address)));
    expect(all).toEqual(expect.arrayContaining(["aws_scheduler_schedule.schedule_start-host", "aws_wafv2_web_acl.waf_web-acl"]));
    expect(full.config.terraform.backend).toEqual({ s3: expect.objectContaining({ bucket: "example-terraform-state" }) });
  });

  it("are the same in the JSON, in the HCL export and in the stack's own list", () => {
    const fromJson = fullAddresses.map(([address]) => address).sort();
    expect(hclAddresses(renderHcl(full.stack)).sort()).toEqual(fromJson);
    expect(full.stack.terraformAddresses()).toEqual(fromJson);
  });

  it("match their own checked-in list, so that a rename is always deliberate", () => {
    expectCheckedInAddresses(fullAddresses, FULL_ADDRESS_LIST, "the default roster with a schedule, the WAF and the S3 backend");
  });
});

/**
 * Fails, listing what is gone and what is new, when `found` differs from the list in `file`;
 * with UPDATE_ADDRESSES=1 it rewrites the list first.
 */
function expectCheckedInAddresses(found: readonly [string, string | undefined][], file: string, roster: string): void {
  const actual = found.map(([address]) => address).sort();
  if (process.env.UPDATE_ADDRESSES === "1") {
    writeFileSync(file, `${listHeader(roster)}${actual.join("\n")}\n`);
    console.warn(`UPDATE_ADDRESSES=1: rewrote ${file}; commit it with the moved blocks of every renamed address`);
  }
  const expected = readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line && !line.startsWith("#"));
  const gone = expected.filter((address) => !actual.includes(address));
  const added = actual.filter((address) => !expected.includes(address));
  if (gone.length > 0 || added.length > 0) {
    throw new Error(
      [
        `The Terraform addresses of ${roster} changed (${file}): ${gone.length} gone, ${added.length} new.`,
        "Addresses are a compatibility contract: on the next deploy Terraform destroys every resource whose address is gone and",
        "creates it anew (the data volume, with prevent_destroy, makes that deploy fail). A rename must ship with moved blocks:",
        "call moveFromId('<old address>') on the renamed resource, so both the JSON and deployment/terraform carry",
        "`moved { from = <old> to = <new> }`. Then update the lists on purpose and commit them with the change:",
        "  UPDATE_ADDRESSES=1 npx jest __tests__/addresses.test.ts",
        ...gone.map((address) => `  - ${address}`),
        ...added.map((address) => `  + ${address}`),
      ].join("\n"),
    );
  }
}

const listHeader = (roster: string) => `# Terraform addresses of ${roster}, sorted. A compatibility contract:
# __tests__/addresses.test.ts fails when they change. A rename ships with moved blocks
# (moveFromId), and this list is then updated on purpose: UPDATE_ADDRESSES=1 npx jest __tests__/addresses.test.ts
`;

describe("a developer's addresses", () => {
  it("include those readd-developer.sh imports (secrets, log group), as naming.ts spells them", () => {
    const all = stack.terraformAddresses();
    for (const developer of defaultFleet().developers) {
      for (const address of Object.values(developerKeptAddresses(developer)))
        expect([address, all.includes(address)]).toEqual([address, true]);
    }
  });

  /** Addresses with the name as a whole segment: `secrets_dev5-password`, not `dev50`. */
  const mentions = (name: string) => new RegExp(`(^|[._-])${name}([._-]|$)`);
  const developerAddresses = (s: DevEnvironmentStack, name: string) => s.terraformAddresses().filter((a) => mentions(name).test(a));

  it("are the same whatever else is in the roster", () => {
    const other = editedFleet((r) => {
      r.host = { instanceType: "m5.4xlarge" };
      r.developers = [
        { name: "zed", port: 9000 },
        { name: "dev5", port: 8447 },
      ];
    });
    const otherStack = new DevEnvironmentStack(Testing.app(), "code-server-dev", stackProps(other));
    const mine = developerAddresses(otherStack, "dev5");
    expect(mine.length).toBeGreaterThanOrEqual(10);
    expect(mine).toEqual(developerAddresses(stack, "dev5"));
    const shared = (list: string[]) => list.filter((a) => !mentions("(dev\\d|zed)").test(a));
    expect(shared(otherStack.terraformAddresses())).toEqual(shared(stack.terraformAddresses()));
  });
});

describe("the naming scheme", () => {
  class Probe extends ReadableAddressStack {
    constructor(build: (stack: Probe) => void) {
      super(Testing.app(), "probe");
      new AwsProvider(this, "aws", { region: "ap-southeast-7" });
      build(this);
    }
  }
  const synth = (build: (stack: Probe) => void) => Testing.synth(new Probe(build), true);

  it("fails synth naming both construct paths when two elements would share an address", () => {
    expect(() =>
      synth((stack) => {
        new SnsTopic(stack, "alarms", {});
        new SnsTopic(new Construct(stack, "other"), "topic", {}).overrideLogicalId("alarms");
      }),
    ).toThrow(/probe\/alarms and probe\/other\/topic both have the Terraform address aws_sns_topic\.alarms: rename one construct id/);
  });

  it("refuses a construct id that would make the path ambiguous", () => {
    expect(() => synth((stack) => new SnsTopic(new Construct(stack, "alb"), "tg_dev1", {}))).toThrow(
      `construct id "tg_dev1" at probe/alb/tg_dev1 cannot be part of a Terraform address: use letters, digits and '-' only ('_' joins the path)`,
    );
  });

  it("refuses a name Terraform would refuse", () => {
    expect(() => synth((stack) => new SnsTopic(stack, "443", {}))).toThrow(
      `probe/443 would be named "443"; a Terraform name starts with a letter`,
    );
  });

  it("carries a deliberate rename into the HCL export as a moved block", () => {
    const renamed = new Probe((stack) => new S3Bucket(new Construct(stack, "backup"), "archive", {}).moveFromId("aws_s3_bucket.archive"));
    Testing.synth(renamed, true);
    expect(renderHcl(renamed)["main.tf"]).toContain("moved {\n  from = aws_s3_bucket.archive\n  to   = aws_s3_bucket.backup_archive\n}");
  });
});
