/**
 * The fleet's own SSM Command document through which the sleeper and the wake function act on the
 * host: it runs `start-containers.sh` or `stop-containers.sh` (nothing else: SSM refuses any other
 * value before the command reaches the host), for one developer whose name matches the roster's
 * pattern, or for all. Their roles may send this document and no other, so neither function can run
 * an arbitrary command as root on the host, which `AWS-RunShellScript` would allow.
 */
import { SsmDocument } from "@cdktf/provider-aws/lib/ssm-document";
import { Construct } from "constructs";

/** A developer's name as the roster allows it (a DNS label), or empty for every developer. */
export const SCRIPT_DEVELOPER_PATTERN = "^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)?$";
/** A start waits for the container to be healthy; neither script should take minutes. */
const EXECUTION_TIMEOUT_SECONDS = 600;

/**
 * The document's content. The developer's name is quoted and can hold nothing but letters, digits
 * and dashes (SSM checks the pattern), so it cannot become more than one argument.
 */
export function hostScriptDocumentContent(scriptsDir: string): Record<string, unknown> {
  const dir = scriptsDir.replace(/\/+$/, "");
  return {
    schemaVersion: "2.2",
    description: "Runs start-containers.sh or stop-containers.sh on the code-server host, for one developer or for all",
    parameters: {
      script: { type: "String", description: "The host script", allowedValues: ["start-containers", "stop-containers"] },
      developer: {
        type: "String",
        description: "One developer's name, or empty for all",
        default: "",
        allowedPattern: SCRIPT_DEVELOPER_PATTERN,
      },
    },
    mainSteps: [
      {
        action: "aws:runShellScript",
        name: "run",
        inputs: {
          timeoutSeconds: String(EXECUTION_TIMEOUT_SECONDS),
          // No `${...}` in these lines: Terraform would read it as its own interpolation.
          runCommand: [
            `developer='{{ developer }}'`,
            `if [ -n "$developer" ]; then exec ${dir}/{{ script }}.sh --developer "$developer"; fi`,
            `exec ${dir}/{{ script }}.sh`,
          ],
        },
      },
    ],
  };
}

export interface HostScriptDocumentProps {
  /** The document's name, `<project>-<environment>-host-script`. */
  readonly name: string;
  /** Where the host scripts are on the host. */
  readonly scriptsDir: string;
}

export class HostScriptDocument extends Construct {
  readonly document: SsmDocument;

  constructor(scope: Construct, id: string, props: HostScriptDocumentProps) {
    super(scope, id);
    this.document = new SsmDocument(this, "document", {
      name: props.name,
      documentType: "Command",
      documentFormat: "JSON",
      content: JSON.stringify(hostScriptDocumentContent(props.scriptsDir)),
      targetType: "/AWS::EC2::Instance",
    });
  }
}
