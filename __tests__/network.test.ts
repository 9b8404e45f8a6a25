/**
 * NetworkLayer: one public subnet per roster zone, an internet route, a default security group
 * that allows nothing, and two security groups: the ALB open on 443 and 80 to allowed CIDRs only,
 * and one rule per direction between ALB and host over the roster's port range, however large the
 * team.
 */
import { DefaultSecurityGroup } from "@cdktf/provider-aws/lib/default-security-group";
import { Route } from "@cdktf/provider-aws/lib/route";
import { Subnet } from "@cdktf/provider-aws/lib/subnet";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { TerraformVariable, Testing } from "cdktf";
import { NetworkLayer, type NetworkLayerProps } from "../src/constructs/network";
import { defaultFleet, editedFleet, generatedRosterText } from "./helpers/fleet";
import { parseRoster } from "../src/roster";
import { refToOnly, synthLayer } from "./helpers/layer";
import { resources } from "./helpers/synth";

const fleet = defaultFleet();
/** The default roster with only its first developer. */
const fleetOf1 = () => editedFleet((r) => (r.developers = [r.developers[0]]));
let network!: NetworkLayer;
const { json, config } = synthLayer((scope) => {
  network = new NetworkLayer(scope, "network", { fleet });
});
const rules = (type: string) => resources(config, type).map(([, rule]) => rule);
const refTo = (type: string, name: string, attribute: string) => `\${${type}.${name}.${attribute}}`;
/** The logical id synthScope gave a construct (hashed there; the stack's are readable). */
const idOf = (construct: { friendlyUniqueId: string }) => construct.friendlyUniqueId;
const hostSg = refTo("aws_security_group", idOf(network.hostSecurityGroup!), "id");
const albSg = refTo("aws_security_group", idOf(network.albSecurityGroup), "id");

describe("subnets and routes", () => {
  it("makes one public subnet per roster zone, in zone order, carved from the default VPC CIDR", () => {
    expect(rules("aws_subnet").map((s) => [s.availability_zone, s.cidr_block, s.map_public_ip_on_launch])).toEqual([
      ["ap-southeast-7a", '${cidrsubnet("10.40.0.0/16", 4, 0)}', false],
      ["ap-southeast-7b", '${cidrsubnet("10.40.0.0/16", 4, 1)}', false],
    ]);
    expect(network.hostSubnet).toBe(network.publicSubnets[0]);
  });

  it("follows the roster's zones, however many", () => {
    const three = editedFleet((r) => (r.availabilityZones = ["ap-southeast-7a", "ap-southeast-7b", "ap-southeast-7c"]));
    const { json: wider } = synthLayer((scope) => new NetworkLayer(scope, "network", { fleet: three, vpcCidr: "10.0.0.0/20" }));
    expect(wider).toHaveResourceWithProperties(Subnet, {
      availability_zone: "ap-southeast-7c",
      cidr_block: '${cidrsubnet("10.0.0.0/20", 4, 2)}',
    });
  });

  it("routes every subnet to the internet gateway", () => {
    expect(json).toHaveResourceWithProperties(Route, {
      destination_cidr_block: "0.0.0.0/0",
      gateway_id: refToOnly(config, "aws_internet_gateway", "id"),
    });
    expect(rules("aws_route_table_association").map((a) => a.subnet_id)).toEqual(
      network.publicSubnets.map((s) => refTo("aws_subnet", idOf(s), "id")),
    );
  });

  it("manages the VPC's default security group so that it allows nothing", () => {
    expect(json).toHaveResourceWithProperties(DefaultSecurityGroup, { ingress: [], egress: [] });
  });
});

describe("security groups", () => {
  const ingress = rules("aws_vpc_security_group_ingress_rule");
  const egress = rules("aws_vpc_security_group_egress_rule");

  it("lets the host in only from the ALB security group, only on the roster's port range, in one rule", () => {
    const hostIngress = ingress.filter((r) => r.security_group_id === hostSg && r.from_port !== 22);
    expect(hostIngress.map((r) => [r.from_port, r.to_port, r.referenced_security_group_id, r.cidr_ipv4])).toEqual([
      [8443, 8450, albSg, undefined],
    ]);
    expect(hostIngress[0].description).toBe("The developers' code-server (ports 8443-8450), from the ALB only");
  });

  it("lets the ALB in on 443 and 80 from the allowed CIDRs only (anywhere by default), and out only to the host on the port range", () => {
    const albIn = ingress.filter((r) => r.security_group_id === albSg);
    expect(albIn.map((r) => [r.from_port, r.for_each, r.cidr_ipv4])).toEqual([
      [443, '${toset(["0.0.0.0/0"])}', "${each.value}"],
      [80, '${toset(["0.0.0.0/0"])}', "${each.value}"],
    ]);
    const { config: office } = synthLayer(
      (scope) => new NetworkLayer(scope, "network", { fleet, allowedCidrs: ["203.0.113.0/24", "198.51.100.7/32"] }),
    );
    expect(
      resources(office, "aws_vpc_security_group_ingress_rule")
        .map(([, r]) => r)
        .filter((r) => r.from_port !== 22)
        .map((r) => r.for_each),
    ).toEqual(['${toset(["203.0.113.0/24", "198.51.100.7/32"])}', '${toset(["203.0.113.0/24", "198.51.100.7/32"])}']);
    const albOut = egress.filter((r) => r.security_group_id === albSg);
    expect(albOut.map((r) => [r.from_port, r.to_port, r.referenced_security_group_id])).toEqual([[8443, 8450, hostSg]]);
  });

  it("keeps the ALB's rules deployed before allowed_cidrs, open to 0.0.0.0/0, as that key (moved blocks)", () => {
    expect(config.moved).toEqual(
      ["443", "80"].map((port) => {
        const address = `aws_vpc_security_group_ingress_rule.${Object.keys(config.resource.aws_vpc_security_group_ingress_rule).find((id) => id.includes(`alb-in-${port}`))}`;
        return { from: address, to: `${address}["0.0.0.0/0"]` };
      }),
    );
  });

  it("has as many rules for 100 developers as for one: the count does not grow with the team", () => {
    const count = (layerFleet: typeof fleet) => {
      const { config: layer } = synthLayer((scope) => new NetworkLayer(scope, "network", { fleet: layerFleet }));
      return ["aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule"].map((type) => resources(layer, type).length);
    };
    const hundred = parseRoster(
      generatedRosterText(100, "m5.24xlarge")
        .replace(/cpus: 1\b/, "cpus: 0.5")
        .replace(/memoryGiB: 3\b/, "memoryGiB: 2"),
    );
    expect(hundred.developers).toHaveLength(100);
    expect(count(hundred)).toEqual(count(fleetOf1()));
    const { config: wide } = synthLayer((scope) => new NetworkLayer(scope, "network", { fleet: hundred }));
    const range = resources(wide, "aws_vpc_security_group_ingress_rule").find(([id]) => id.includes("host-in-developers"))![1];
    expect([range.from_port, range.to_port]).toEqual([8443, 8542]);
  });

  it("gives the host only the outbound it needs: HTTPS, HTTP, DNS to the VPC resolver, NTP to Amazon Time Sync", () => {
    const hostOut = egress.filter((r) => r.security_group_id === hostSg);
    expect(hostOut.map((r) => `${r.ip_protocol}/${r.from_port} ${r.cidr_ipv4}`).sort()).toEqual([
      "tcp/443 0.0.0.0/0",
      'tcp/53 ${cidrhost("10.40.0.0/16", 2)}/32',
      "tcp/80 0.0.0.0/0",
      "udp/123 169.254.169.123/32",
      'udp/53 ${cidrhost("10.40.0.0/16", 2)}/32',
    ]);
  });

  it("opens SSH with one rule per admin CIDR, IPv4 or IPv6, and none by default", () => {
    expect(json).toHaveResourceWithProperties(VpcSecurityGroupIngressRule, {
      for_each: "${toset([])}",
      from_port: 22,
      to_port: 22,
      cidr_ipv4: '${strcontains(each.value, ":") ? null : each.value}',
      cidr_ipv6: '${strcontains(each.value, ":") ? each.value : null}',
    });
    const { json: withAdmin } = synthLayer((scope) => new NetworkLayer(scope, "network", { fleet, adminCidrs: ["203.0.113.10/32"] }));
    expect(withAdmin).toHaveResourceWithProperties(VpcSecurityGroupIngressRule, {
      for_each: '${toset(["203.0.113.10/32"])}',
      from_port: 22,
    });
  });

  it("describes every security group and rule", () => {
    for (const type of ["aws_security_group", "aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule"]) {
      for (const [id, r] of resources(config, type)) expect([id, (r.description as string).length > 10]).toEqual([id, true]);
    }
    expect(json).toHaveResourceWithProperties(VpcSecurityGroupEgressRule, { description: "NTP: Amazon Time Sync Service" });
  });

  it("keeps the load balancers' group when its description changes with the platform (a new group would be refused while they hold it)", () => {
    const [, alb] = [...resources(config, "aws_security_group")].find(([, r]) => String(r.name).endsWith("-alb"))!;
    expect(alb.lifecycle).toEqual({ ignore_changes: ["description"] });
  });
});

describe("props validation", () => {
  test.each<[string, Partial<NetworkLayerProps>, RegExp]>([
    [
      "a VPC larger than /16",
      { vpcCidr: "10.0.0.0/8" },
      /^NetworkLayer stack\/network: vpcCidr "10\.0\.0\.0\/8" is not an IPv4 CIDR block from \/16 to \/22$/,
    ],
    [
      "a VPC smaller than /22",
      { vpcCidr: "10.0.0.0/24" },
      /^NetworkLayer stack\/network: vpcCidr "10\.0\.0\.0\/24" is not an IPv4 CIDR block from \/16 to \/22$/,
    ],
    [
      "SSH from anywhere",
      { adminCidrs: ["0.0.0.0/0"] },
      /^NetworkLayer stack\/network: adminCidrs entry "0\.0\.0\.0\/0" opens SSH to the whole internet$/,
    ],
    [
      "an address that is not a CIDR",
      { adminCidrs: ["203.0.113.10"] },
      /^NetworkLayer stack\/network: adminCidrs entry "203\.0\.113\.10" is not a CIDR block such as 203\.0\.113\.10\/32$/,
    ],
    [
      "no allowed CIDR",
      { allowedCidrs: [] },
      /^NetworkLayer stack\/network: allowedCidrs has 0 entries; at least 1 are needed \(nobody could reach the ALB\)$/,
    ],
    [
      "an IPv6 allowed CIDR",
      { allowedCidrs: ["2001:db8::/32"] },
      /^NetworkLayer stack\/network: allowedCidrs entry "2001:db8::\/32" is not an IPv4 CIDR block such as 203\.0\.113\.0\/24 \(the ALB has IPv4 addresses only\)$/,
    ],
    [
      "more allowed CIDRs than the security group's rules hold",
      { allowedCidrs: Array.from({ length: 26 }, (_, i) => `203.0.113.${i}/32`) },
      /^NetworkLayer stack\/network: allowedCidrs has 26 entries; at most 25 fit AWS's 60 rules per security group \(two each\)$/,
    ],
    [
      "more zones than subnets fit",
      { fleet: { ...fleet, availabilityZones: Array.from({ length: 17 }, (_, i) => `ap-southeast-7${String.fromCharCode(97 + i)}`) } },
      /^NetworkLayer stack\/network: fleet\.availabilityZones has 17 zones; at most 16 fit the subnet scheme \(cidrsubnet with 4 new bits\)$/,
    ],
  ])("refuses %s", (_, overrides, message) => {
    expect(() => Testing.synthScope((scope) => new NetworkLayer(scope, "network", { fleet, ...overrides }))).toThrow(message);
  });

  it("leaves plan-time values to the variables' own validation", () => {
    const { json: planned } = synthLayer((scope) => {
      const vpcCidr = new TerraformVariable(scope, "vpc-cidr", { type: "string" }).stringValue;
      const adminCidrs = new TerraformVariable(scope, "admin-cidrs", { type: "list(string)" }).listValue;
      new NetworkLayer(scope, "network", { fleet, vpcCidr, adminCidrs });
    });
    expect(planned).toHaveResourceWithProperties(Subnet, { cidr_block: "${cidrsubnet(var.vpc-cidr, 4, 0)}" });
  });
});
