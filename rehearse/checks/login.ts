/** Step 5: a developer logs in with a browser through the proxy and works in the editor. */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { layout } from "../lib/layout";
import { check, expect } from "./check";

/** The file the editor's terminal creates; the data-volume check looks for it. */
const marker = { file: `made-in-the-editor-${randomBytes(4).toString("hex")}.txt`, content: randomBytes(8).toString("hex") };

export const LOGIN = [
  check(
    "browser: a developer logs in with the password from Secrets Manager and the workbench loads over its websocket",
    async (r) => {
      const [developer] = r.host.fleet.developers;
      const browser = await r.browser();
      const { page, websocketFrames } = await browser.openWorkbench(developer.hostname, await r.host.password(developer.name));
      r.workbench = page;
      return `${browser.url(developer.hostname)}: workbench rendered, websocket open with ${websocketFrames()} frames received`;
    },
    { essential: false },
  ),

  check("browser: a file created in the editor's terminal is on the data volume", async (r) => {
    expect(r.workbench, "no workbench: the login check failed");
    const [developer] = r.host.fleet.developers;
    const browser = await r.browser();
    const onVolume = join(r.host.workspace(developer.name), marker.file);
    try {
      // The editor's terminal runs bash in the container (code-server's default shell for coder).
      const shellRunning = async () => (await r.host.exec(developer.name, "pgrep -u coder -x bash")).code === 0;
      // The shell creates the file (the redirection) before echo writes to it: wait for the content.
      const written = () => existsSync(onVolume) && readFileSync(onVolume, "utf8").trim() === marker.content;
      await browser.runInTerminal(r.workbench, `echo ${marker.content} > ~/workspace/${marker.file}`, shellRunning, () =>
        Promise.resolve(written()),
      );
    } finally {
      await r.workbench.screenshot({ path: layout.screenshot });
    }
    return `${marker.file} typed in the terminal is on the data volume; screenshot ${layout.screenshot}`;
  }),

  check("browser: a wrong password is refused", async (r) => {
    const [developer] = r.host.fleet.developers;
    const outcome = await r.login(developer.name, `not-the-password-${randomBytes(6).toString("hex")}`);
    expect(!outcome.accepted, `${developer.hostname} accepted a wrong password`);
    return `${developer.hostname}: "${outcome.message}"`;
  }),

  check("browser: one developer's password does not open another developer's URL", async (r) => {
    const [first, second] = r.host.fleet.developers;
    const outcome = await r.login(second.name, await r.host.password(first.name));
    expect(!outcome.accepted, `${second.hostname} accepted ${first.name}'s password`);
    return `${first.name}'s password at ${second.hostname}: "${outcome.message}"`;
  }),
];
