/**
 * Private subnets for the developers' tasks (`ecs.network: private`): one per zone, numbered after
 * the public ones in the VPC's range, their internet reached through one NAT gateway in the first
 * public subnet. One gateway, not one per zone: a zone's outage then also cuts the other zone's
 * tasks off the internet (their load balancer still reaches them), against a second gateway's hours.
 */
import { Eip } from "@cdktf/provider-aws/lib/eip";
import { NatGateway } from "@cdktf/provider-aws/lib/nat-gateway";
import { Route } from "@cdktf/provider-aws/lib/route";
import { RouteTable } from "@cdktf/provider-aws/lib/route-table";
import { RouteTableAssociation } from "@cdktf/provider-aws/lib/route-table-association";
import { Subnet } from "@cdktf/provider-aws/lib/subnet";
import type { Vpc } from "@cdktf/provider-aws/lib/vpc";
import { Fn } from "cdktf";
import { Construct } from "constructs";
import { SUBNET_NEWBITS } from "../../constructs/network";
import { check } from "../../constructs/validation";
import type { Fleet } from "../../roster";

/** The private subnets' numbers start here in the VPC's range, past every public subnet the scheme allows. */
export const PRIVATE_SUBNET_OFFSET = 2 ** SUBNET_NEWBITS / 2;

export interface PrivateSubnetsProps {
  /** The roster: a private subnet per zone. */
  readonly fleet: Fleet;
  readonly vpc: Vpc;
  /** The VPC's CIDR block, divided as the public subnets divide it. */
  readonly vpcCidr: string;
  /** The public subnets: the NAT gateway sits in the first. */
  readonly publicSubnets: readonly Subnet[];
}

export class PrivateSubnets extends Construct {
  readonly subnets: readonly Subnet[];
  readonly natGateway: NatGateway;

  constructor(scope: Construct, id: string, props: PrivateSubnetsProps) {
    super(scope, id);
    const { fleet, vpc } = props;
    const name = fleet.namePrefix;
    const zones = fleet.availabilityZones.length;
    check(
      this,
      zones <= PRIVATE_SUBNET_OFFSET,
      () => `fleet.availabilityZones has ${zones} zones; private subnets fit at most ${PRIVATE_SUBNET_OFFSET}`,
    );
    const address = new Eip(this, "nat-address", { domain: "vpc", tags: { Name: `${name}-nat` } });
    this.natGateway = new NatGateway(this, "nat-gateway", {
      allocationId: address.id,
      subnetId: props.publicSubnets[0].id,
      tags: { Name: `${name}-nat` },
    });
    const routes = new RouteTable(this, "routes", { vpcId: vpc.id, tags: { Name: `${name}-private` } });
    new Route(this, "default-route", { routeTableId: routes.id, destinationCidrBlock: "0.0.0.0/0", natGatewayId: this.natGateway.id });
    this.subnets = fleet.availabilityZones.map((zone, index) => {
      const subnet = new Subnet(this, zone, {
        vpcId: vpc.id,
        availabilityZone: zone,
        cidrBlock: Fn.cidrsubnet(props.vpcCidr, SUBNET_NEWBITS, PRIVATE_SUBNET_OFFSET + index),
        mapPublicIpOnLaunch: false,
        tags: { Name: `${name}-private-${zone}` },
      });
      new RouteTableAssociation(this, `${zone}-routes`, { subnetId: subnet.id, routeTableId: routes.id });
      return subnet;
    });
  }
}
