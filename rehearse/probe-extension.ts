/**
 * A VS Code extension that proves an extension host runs extensions in a developer's container:
 * on activation (once the workbench has started) it writes what its process is and may do
 * (argv, the capability sets and NoNewPrivs of /proc/self/status) to `~/<PROBE_FILE>`. When
 * `~/<WEBVIEW_REQUEST>` exists, it also opens a webview (the iframes code-server serves from the
 * developer's own origin), whose script posts a message back; the extension writes it to
 * `~/<WEBVIEW_FILE>`: the webview loaded and ran under whatever framing headers the page has. Open VSX is
 * unreachable here, so the extension is packed as a VSIX (a zip with a manifest) on this machine
 * and installed from a file, as `code-server --install-extension <file.vsix>` takes it.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { layout } from "./lib/layout";
import { runOk } from "./lib/run";

export const PROBE_ID = "rehearsal.probe";
/** Written in the developer's home when the extension activates. */
export const PROBE_FILE = ".rehearsal-probe.json";
/** When this file is in the home at activation, the extension opens its webview. */
export const WEBVIEW_REQUEST = ".rehearsal-probe-open-webview";
/** Written when the webview's script has posted its message. */
export const WEBVIEW_FILE = ".rehearsal-probe-webview.json";

const VERSION = "0.0.1";
const FILES: Readonly<Record<string, string>> = {
  "[Content_Types].xml": `<?xml version="1.0" encoding="utf-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension=".json" ContentType="application/json"/><Default Extension=".js" ContentType="application/javascript"/><Default Extension=".vsixmanifest" ContentType="text/xml"/></Types>
`,
  "extension.vsixmanifest": `<?xml version="1.0" encoding="utf-8"?>
<PackageManifest Version="2.0.0" xmlns="http://schemas.microsoft.com/developer/vsx-schema/2011" xmlns:d="http://schemas.microsoft.com/developer/vsx-schema-design/2011">
  <Metadata>
    <Identity Language="en-US" Id="probe" Version="${VERSION}" Publisher="rehearsal" />
    <DisplayName>Rehearsal probe</DisplayName>
    <Description xml:space="preserve">Records which process ran it and what it may do.</Description>
    <Categories>Other</Categories>
    <Properties><Property Id="Microsoft.VisualStudio.Code.Engine" Value="^1.80.0" /></Properties>
  </Metadata>
  <Installation><InstallationTarget Id="Microsoft.VisualStudio.Code"/></Installation>
  <Dependencies/>
  <Assets><Asset Type="Microsoft.VisualStudio.Code.Manifest" Path="extension/package.json" Addressable="true" /></Assets>
</PackageManifest>
`,
  "extension/package.json": `${JSON.stringify(
    {
      name: "probe",
      publisher: "rehearsal",
      displayName: "Rehearsal probe",
      version: VERSION,
      engines: { vscode: "^1.80.0" },
      main: "./extension.js",
      activationEvents: ["onStartupFinished"],
    },
    null,
    2,
  )}\n`,
  "extension/extension.js": `const fs = require("fs");
const os = require("os");
const path = require("path");
exports.activate = () => {
  const status = Object.fromEntries(
    fs.readFileSync("/proc/self/status", "utf8").split("\\n").map((line) => line.split(/:\\s*/)).filter((kv) => /^(Cap|NoNewPrivs)/.test(kv[0])),
  );
  fs.writeFileSync(path.join(os.homedir(), ${JSON.stringify(PROBE_FILE)}), JSON.stringify({ pid: process.pid, argv: process.argv, status }));
  if (!fs.existsSync(path.join(os.homedir(), ${JSON.stringify(WEBVIEW_REQUEST)}))) return;
  const vscode = require("vscode");
  const panel = vscode.window.createWebviewPanel("rehearsalProbe", "Rehearsal probe", vscode.ViewColumn.One, { enableScripts: true });
  panel.webview.onDidReceiveMessage((message) => {
    fs.writeFileSync(path.join(os.homedir(), ${JSON.stringify(WEBVIEW_FILE)}), JSON.stringify({ ...message, at: Date.now() }));
  });
  panel.webview.html = '<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src \\'none\\'; script-src \\'nonce-probe\\';"></head>' +
    '<body><p>Rehearsal probe</p><script nonce="probe">acquireVsCodeApi().postMessage({ loaded: true, origin: location.origin, framed: window.top !== window });</script></body></html>';
};
exports.deactivate = () => undefined;
`,
};

/** The VSIX, base64-encoded (it travels into the container as a command's argument). */
export async function probeVsixBase64(): Promise<string> {
  const dir = join(layout.root, "probe");
  rmSync(dir, { recursive: true, force: true });
  for (const [path, content] of Object.entries(FILES)) {
    mkdirSync(dirname(join(dir, "files", path)), { recursive: true });
    writeFileSync(join(dir, "files", path), content);
  }
  await runOk("zip", ["-q", "-X", "-r", join(dir, "probe.vsix"), "."], { cwd: join(dir, "files") });
  return readFileSync(join(dir, "probe.vsix")).toString("base64");
}
