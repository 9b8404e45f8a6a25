/**
 * Network layer: VPC, one public subnet per availability zone of the roster, internet gateway
 * and routes, and the two security groups. The host lives in the first subnet with a public IP
 * (outbound without a NAT gateway); ingress reaches it only from the ALB, on roster ports.
 *
 * The rules between the ALB and the host cover the roster's port range, one rule per direction,
 * so their number does not grow with the team (AWS allows 60 rules per group by default). The
 * ALB accepts 443 and 80 from `allowedCidrs` only.
 */
import { DefaultSecurityGroup } from "@cdktf/provider-aws/lib/default-security-group";
import { InternetGateway } from "@cdktf/provider-aws/lib/internet-gateway";
import { Route } from "@cdktf/provider-aws/lib/route";
import { RouteTable } from "@cdktf/provider-aws/lib/route-table";
import { RouteTableAssociation } from "@cdktf/provider-aws/lib/route-table-association";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { Subnet } from "@cdktf/provider-aws/lib/subnet";
import { Vpc } from "@cdktf/provider-aws/lib/vpc";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { Fn, TerraformIterator, Token } from "cdktf";
import { Construct } from "constructs";
import { GUIDE_LINKS } from "../naming";
import type { Fleet } from "../roster";
import { address, expression } from "./expressions";
import { MAX_ALLOWED_CIDRS, VARIABLES } from "./inputs";
import { MovedToInstance } from "./moved";
import { TerraformData } from "./terraform-data";
import { check, checkMinCount, checkPattern } from "./validation";

/** Extra prefix bits of each subnet (`cidrsubnet(vpc, 4, i)`): at most 16 subnets, so 16 zones. */
export const SUBNET_NEWBITS = 4;
/** The VPC sizes the subnet scheme fits: a /16 gives /20 subnets, a /22 gives /26. */
const VPC_CIDR = /^(\d{1,3}\.){3}\d{1,3}\/(1[6-9]|2[0-2])$/;
const CIDR = /^((\d{1,3}\.){3}\d{1,3}\/\d{1,2}|[0-9a-fA-F:]+\/\d{1,3})$/;
const IPV4_CIDR = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/;

export interface NetworkLayerProps {
  /** The roster: a public subnet per zone, an ALB-to-host rule per developer port. */
  readonly fleet: Fleet;
  /**
   * IPv4 CIDR block of the VPC, /16 to /22 (the `vpc_cidr` variable in the stack). Subnets are
   * `cidrsubnet(vpcCidr, 4, i)`.
   * @default "10.40.0.0/16"
   */
  readonly vpcCidr?: string;
  /**
   * CIDR blocks allowed on SSH (port 22), one rule each; never a /0 (the `admin_cidrs` variable,
   * whose validation refuses /0, in the stack).
   * @default - none: no SSH rule at all (shell access is SSM Session Manager)
   */
  readonly adminCidrs?: string[];
  /**
   * IPv4 CIDR blocks allowed to reach the ALB on 443 and 80, at most 25 (two rules each); the
   * `allowed_cidrs` variable in the stack.
   * @default ["0.0.0.0/0"] (anywhere)
   */
  readonly allowedCidrs?: string[];
  /**
   * Whether the host runs: its security group and its rules (the developers' ports from the ALB,
   * SSH from admin CIDRs, its own way out) exist only then.
   * @default true
   */
  readonly hostRuns?: boolean;
}

/** The lowest and the highest developer port: the range the ALB-to-host rules open. */
export function developerPortRange(fleet: Fleet): { readonly from: number; readonly to: number } {
  const ports = fleet.developers.map((d) => d.port);
  return { from: Math.min(...ports), to: Math.max(...ports) };
}

/** Outbound rules of the host: what it really needs, each with the reason. */
const HOST_EGRESS = [
  { id: "https", protocol: "tcp", port: 443, description: "HTTPS: AWS APIs, SSM, Docker Hub, Open VSX, api.anthropic.com, git over HTTPS" },
  { id: "http", protocol: "tcp", port: 80, description: "HTTP: Ubuntu package mirrors (apt verifies signatures)" },
  { id: "ntp", protocol: "udp", port: 123, cidr: "169.254.169.123/32", description: "NTP: Amazon Time Sync Service" },
] as const;

/**
 * The VPC's precondition: the recorded region is the roster's. Terraform manages one region: after
 * a region change it would find none of the environment's resources there, plan a second, empty
 * environment, and leave the first (its data volume with every home among it) running, billed and
 * unmanaged. So the plan stops, naming both regions and the way forward.
 */
export function regionPrecondition(record: TerraformData, fleet: Pick<Fleet, "region">) {
  const recorded = `${address(record)}.output.region`;
  return {
    condition: expression(record, `${recorded} == "${fleet.region}"`),
    errorMessage:
      `This environment was deployed in \${${recorded}}, and the roster's region is ${fleet.region}. ` +
      `Planned in ${fleet.region}, Terraform would find none of its resources there and build a second, empty environment, ` +
      `while the one in \${${recorded}} kept running and billing, no longer managed, with the data volume and every developer's home. ` +
      `To keep it, set region back to \${${recorded}}. ` +
      `To move it, follow ${GUIDE_LINKS.regionMove}.`,
  };
}

export class NetworkLayer extends Construct {
  readonly vpc: Vpc;
  /**
   * The region the environment was deployed in, recorded when it was created and kept (changes to
   * its input are ignored): the VPC's precondition compares it with the roster's (`regionPrecondition`).
   */
  readonly regionRecord: TerraformData;
  /** Public subnets, in the roster's zone order. */
  readonly publicSubnets: readonly Subnet[];
  /** The first public subnet: the host and its data volume live in its zone. */
  readonly hostSubnet: Subnet;
  readonly albSecurityGroup: SecurityGroup;
  /** The host's security group, when the host runs. */
  readonly hostSecurityGroup?: SecurityGroup;

  constructor(scope: Construct, id: string, props: NetworkLayerProps) {
    super(scope, id);
    const { fleet } = props;
    const vpcCidr = props.vpcCidr ?? VARIABLES.vpc_cidr.default;
    const adminCidrs = props.adminCidrs ?? [];
    const allowedCidrs = props.allowedCidrs ?? VARIABLES.allowed_cidrs.default;
    this.validate(fleet, vpcCidr, adminCidrs, allowedCidrs);

    const { regionRecord, vpc, publicSubnets } = this.vpcAndSubnets(fleet, vpcCidr);
    this.regionRecord = regionRecord;
    this.vpc = vpc;
    this.publicSubnets = publicSubnets;
    this.hostSubnet = this.publicSubnets[0];
    const { alb, host } = this.securityGroups(fleet.namePrefix, props.hostRuns ?? true);
    this.albSecurityGroup = alb;
    this.hostSecurityGroup = host;
    this.albIngress(allowedCidrs);
    if (host) {
      this.developerRules(fleet, host);
      this.hostRules(adminCidrs, vpcCidr, host);
    }
  }

  private validate(fleet: Fleet, vpcCidr: string, adminCidrs: string[], allowedCidrs: string[]): void {
    checkPattern(this, "vpcCidr", vpcCidr, VPC_CIDR, "an IPv4 CIDR block from /16 to /22");
    checkMinCount(this, "fleet.availabilityZones", fleet.availabilityZones, 1, "the host needs a subnet");
    check(
      this,
      fleet.availabilityZones.length <= 2 ** SUBNET_NEWBITS,
      () =>
        `fleet.availabilityZones has ${fleet.availabilityZones.length} zones; at most ${2 ** SUBNET_NEWBITS} fit the subnet scheme (cidrsubnet with ${SUBNET_NEWBITS} new bits)`,
    );
    if (!Token.isUnresolved(adminCidrs)) {
      for (const cidr of adminCidrs) {
        checkPattern(this, "adminCidrs entry", cidr, CIDR, "a CIDR block such as 203.0.113.10/32");
        check(this, Token.isUnresolved(cidr) || !cidr.endsWith("/0"), () => `adminCidrs entry "${cidr}" opens SSH to the whole internet`);
      }
    }
    if (!Token.isUnresolved(allowedCidrs)) {
      checkMinCount(this, "allowedCidrs", allowedCidrs, 1, "nobody could reach the ALB");
      check(
        this,
        allowedCidrs.length <= MAX_ALLOWED_CIDRS,
        () =>
          `allowedCidrs has ${allowedCidrs.length} entries; at most ${MAX_ALLOWED_CIDRS} fit AWS's 60 rules per security group (two each)`,
      );
      for (const cidr of allowedCidrs) {
        checkPattern(
          this,
          "allowedCidrs entry",
          cidr,
          IPV4_CIDR,
          "an IPv4 CIDR block such as 203.0.113.0/24 (the ALB has IPv4 addresses only)",
        );
      }
    }
  }

  /** The VPC (its region recorded and checked) with a public subnet per zone, the internet gateway and the routes. */
  private vpcAndSubnets(fleet: Fleet, vpcCidr: string): { regionRecord: TerraformData; vpc: Vpc; publicSubnets: Subnet[] } {
    const name = fleet.namePrefix;
    const regionRecord = new TerraformData(this, "deployed-region", {
      input: { region: fleet.region },
      // Recorded once: a later roster's region must not overwrite where the environment lives.
      lifecycle: { ignoreChanges: ["input"] },
    });
    const vpc = new Vpc(this, "vpc", {
      cidrBlock: vpcCidr,
      enableDnsHostnames: true,
      enableDnsSupport: true,
      tags: { Name: name },
      lifecycle: { precondition: [regionPrecondition(regionRecord, fleet)] },
    });

    // The default security group of a VPC allows all traffic between its members: manage it so it allows nothing.
    new DefaultSecurityGroup(this, "default-sg", { vpcId: vpc.id, ingress: [], egress: [], tags: { Name: `${name}-default-deny` } });

    const internetGateway = new InternetGateway(this, "internet-gateway", { vpcId: vpc.id, tags: { Name: name } });
    const routes = new RouteTable(this, "public-routes", { vpcId: vpc.id, tags: { Name: `${name}-public` } });
    new Route(this, "default-route", { routeTableId: routes.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: internetGateway.id });

    const publicSubnets = fleet.availabilityZones.map((zone, index) => {
      const subnet = new Subnet(this, `public-${zone}`, {
        vpcId: vpc.id,
        availabilityZone: zone,
        cidrBlock: Fn.cidrsubnet(vpcCidr, SUBNET_NEWBITS, index),
        // The host asks for its public IP explicitly; nothing else launches here.
        mapPublicIpOnLaunch: false,
        tags: { Name: `${name}-public-${zone}` },
      });
      new RouteTableAssociation(this, `public-${zone}-routes`, { subnetId: subnet.id, routeTableId: routes.id });
      return subnet;
    });
    return { regionRecord, vpc, publicSubnets };
  }

  /** The ALB's and the host's security groups, empty: the rules below say what each allows. */
  private securityGroups(name: string, hostRuns: boolean): { alb: SecurityGroup; host?: SecurityGroup } {
    const alb = new SecurityGroup(this, "alb-sg", {
      name: `${name}-alb`,
      description: hostRuns
        ? `ALB of ${name}: HTTPS (and HTTP that only redirects) from allowed CIDRs, out only to the host on developer ports`
        : `ALBs of ${name}: HTTPS (and HTTP that only redirects) from allowed CIDRs, out only to the developers' tasks`,
      vpcId: this.vpc.id,
      tags: { Name: `${name}-alb` },
      // A new description forces a new group, which the load balancers in service hold: the
      // move from the host to ECS keeps the group it was created with (and its words).
      lifecycle: { ignoreChanges: ["description"] },
    });
    if (!hostRuns) return { alb };
    const host = new SecurityGroup(this, "host-sg", {
      name: `${name}-host`,
      description: `code-server host of ${name}: developer ports from the ALB only, SSH only from admin CIDRs`,
      vpcId: this.vpc.id,
      tags: { Name: `${name}-host` },
    });
    return { alb, host };
  }

  /** HTTPS and HTTP into the ALB from each allowed block. */
  private albIngress(allowedCidrs: string[]): void {
    const allowed = TerraformIterator.fromList(allowedCidrs);
    for (const port of [443, 80]) {
      const rule = new VpcSecurityGroupIngressRule(this, `alb-in-${port}`, {
        forEach: allowed,
        securityGroupId: this.albSecurityGroup.id,
        description:
          port === 443
            ? "HTTPS from an allowed CIDR (allowed_cidrs)"
            : "HTTP from an allowed CIDR (allowed_cidrs), answered with a redirect to HTTPS",
        ipProtocol: "tcp",
        fromPort: port,
        toPort: port,
        cidrIpv4: allowed.value,
      });
      // Before allowed_cidrs, the rule was one object open to 0.0.0.0/0: keep it rather than re-create it.
      new MovedToInstance(this, `alb-in-${port}-moved`, `${rule.terraformResourceType}.${rule.friendlyUniqueId}`, rule, "0.0.0.0/0");
    }
  }

  /** The ALB to the developers' ports on the host, one rule per direction over the roster's port range. */
  private developerRules(fleet: Fleet, host: SecurityGroup): void {
    // One rule per direction over the roster's port range: their number does not grow with the
    // team. Ports in the range that no developer uses are open to the ALB's group only, and the
    // ALB sends only to its target groups, each on its developer's port.
    const ports = developerPortRange(fleet);
    const portsText = ports.from === ports.to ? `port ${ports.from}` : `ports ${ports.from}-${ports.to}`;
    new VpcSecurityGroupEgressRule(this, "alb-out-developers", {
      securityGroupId: this.albSecurityGroup.id,
      description: `To the developers' code-server on the host (${portsText})`,
      ipProtocol: "tcp",
      fromPort: ports.from,
      toPort: ports.to,
      referencedSecurityGroupId: host.id,
    });
    new VpcSecurityGroupIngressRule(this, "host-in-developers", {
      securityGroupId: host.id,
      description: `The developers' code-server (${portsText}), from the ALB only`,
      ipProtocol: "tcp",
      fromPort: ports.from,
      toPort: ports.to,
      referencedSecurityGroupId: this.albSecurityGroup.id,
    });
  }

  /** SSH from the admin blocks, and the host's own way out. */
  private hostRules(adminCidrs: string[], vpcCidr: string, host: SecurityGroup): void {
    const admin = TerraformIterator.fromList(adminCidrs);
    // each.value is an IPv4 or an IPv6 block; the rule takes it in the matching field.
    const isIpv6 = 'strcontains(each.value, ":")';
    new VpcSecurityGroupIngressRule(this, "host-in-ssh", {
      forEach: admin,
      securityGroupId: host.id,
      description: "SSH from an admin CIDR (admin_cidrs); SSM Session Manager needs no inbound rule",
      ipProtocol: "tcp",
      fromPort: 22,
      toPort: 22,
      cidrIpv4: Token.asString(expression(this, `${isIpv6} ? null : each.value`)),
      cidrIpv6: Token.asString(expression(this, `${isIpv6} ? each.value : null`)),
    });

    for (const rule of HOST_EGRESS) {
      new VpcSecurityGroupEgressRule(this, `host-out-${rule.id}`, {
        securityGroupId: host.id,
        description: rule.description,
        ipProtocol: rule.protocol,
        fromPort: rule.port,
        toPort: rule.port,
        cidrIpv4: "cidr" in rule ? rule.cidr : "0.0.0.0/0",
      });
    }
    // DNS to the VPC resolver (VPC base + 2), over UDP and TCP.
    for (const protocol of ["udp", "tcp"]) {
      new VpcSecurityGroupEgressRule(this, `host-out-dns-${protocol}`, {
        securityGroupId: host.id,
        description: `DNS (${protocol.toUpperCase()}) to the VPC resolver`,
        ipProtocol: protocol,
        fromPort: 53,
        toPort: 53,
        cidrIpv4: `${Fn.cidrhost(vpcCidr, 2)}/32`,
      });
    }
  }
}
