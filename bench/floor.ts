/**
 * The benchmark's floor: the smallest cdktf app, one provider and one resource, loaded and run
 * as a cdktf app is at its plainest: compiled to JavaScript, run by node, deep provider imports.
 */
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { App, TerraformStack } from "cdktf";

const app = new App({ outdir: process.argv[2] ?? "cdktf.out.floor" });
const stack = new TerraformStack(app, "floor");
new AwsProvider(stack, "aws", { region: "ap-southeast-7" });
new SnsTopic(stack, "topic", { name: "floor" });
app.synth();
