/**
 * Step 5, the browser: Debian's headless Chromium driven by playwright-core, with every
 * `*.<domain>` name resolved to the ALB stand-in (Chromium's --host-resolver-rules: no
 * /etc/hosts edit) and only the rehearsal's own certificates accepted (their keys' SPKI hashes:
 * the ALB stand-in's and the identity provider's).
 * Each login runs with no cookies, so one developer's session never leaks into another's.
 */
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { layout } from "./lib/layout";
import { PROXY_ADDRESS, type ProxyPorts } from "./proxy";

export const CHROMIUM = "/usr/bin/chromium";

export type LoginOutcome = { readonly accepted: true } | { readonly accepted: false; readonly message: string };

export interface SignedIn {
  readonly page: Page;
  /** The HTTP status of the page the browser landed on back at the developer's URL. */
  readonly status: number;
  /** That page's text, its first 2000 characters (the gate's page, or the workbench's). */
  readonly text: string;
  readonly websocketFrames: () => number;
}

/** Waits until the workbench is up: its DOM is rendered and its websocket to the server has received frames. */
export async function workbenchLoaded(page: Page, websocketFrames: () => number): Promise<void> {
  await page.waitForSelector(".monaco-workbench", { timeout: 120_000 });
  const deadline = Date.now() + 60_000;
  while (websocketFrames() < 5 && Date.now() < deadline) await page.waitForTimeout(250);
  if (websocketFrames() < 5) throw new Error(`the workbench rendered, but its websocket received only ${websocketFrames()} frames in 60s`);
}

export class RehearsalBrowser {
  private constructor(
    private readonly context: BrowserContext,
    private readonly ports: ProxyPorts,
  ) {}

  /** A fresh profile every launch. */
  static async launch(domain: string, ports: ProxyPorts, certificateSpkis: readonly string[]): Promise<RehearsalBrowser> {
    const profile = join(layout.browser, "profile");
    rmSync(profile, { recursive: true, force: true });
    mkdirSync(profile, { recursive: true });
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1400, height: 900 },
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        `--host-resolver-rules=MAP *.${domain} ${PROXY_ADDRESS}, MAP ${domain} ${PROXY_ADDRESS}`,
        `--ignore-certificate-errors-spki-list=${certificateSpkis.join(",")}`,
      ],
    });
    return new RehearsalBrowser(context, ports);
  }

  url(host: string, path = "/"): string {
    return `https://${host}${this.ports.https === 443 ? "" : `:${this.ports.https}`}${path}`;
  }

  /**
   * Opens the login page of a host on a clean slate (no cookies; unless `keepCookies`, which
   * keeps the other hosts' sessions) and submits the password.
   */
  async login(host: string, password: string, keepCookies = false): Promise<{ page: Page; outcome: LoginOutcome }> {
    if (!keepCookies) await this.context.clearCookies();
    const page = await this.context.newPage();
    const response = await page.goto(this.url(host, "/"), { waitUntil: "domcontentloaded", timeout: 60_000 });
    if (!response || response.status() >= 400) throw new Error(`${this.url(host)} answered ${response?.status() ?? "nothing"}`);
    if (!new URL(page.url()).pathname.endsWith("/login"))
      throw new Error(`${this.url(host)} did not ask for a password (landed on ${page.url()})`);
    await page.fill("input[type=password]", password);
    await Promise.all([page.waitForLoadState("domcontentloaded"), page.press("input[type=password]", "Enter")]);
    await page.waitForURL((url) => !url.pathname.endsWith("/login") || url.search.length > 0, { timeout: 5000 }).catch(() => undefined);
    if (new URL(page.url()).pathname.endsWith("/login")) {
      const message = (
        await page
          .locator(".error")
          .first()
          .textContent({ timeout: 5000 })
          .catch(() => null)
      )?.trim();
      return { page, outcome: { accepted: false, message: message || "the login page was shown again" } };
    }
    return { page, outcome: { accepted: true } };
  }

  /** Logs in and closes the page: accepted or refused (with code-server's message). */
  async tryLogin(host: string, password: string): Promise<LoginOutcome> {
    const { page, outcome } = await this.login(host, password);
    await page.close();
    return outcome;
  }

  /**
   * Logs in and waits until the workbench is up: its DOM is rendered and its websocket to the
   * server is open and has received frames. The page stays open for the caller.
   */
  async openWorkbench(host: string, password: string): Promise<{ page: Page; websocketFrames: () => number }> {
    const { page, websocketFrames } = await this.cleanPage();
    await page.goto(this.url(host, "/login"), { waitUntil: "domcontentloaded", timeout: 60_000 });
    await page.fill("input[type=password]", password);
    await page.press("input[type=password]", "Enter");
    await workbenchLoaded(page, websocketFrames);
    return { page, websocketFrames };
  }

  /**
   * Opens a developer's URL with no cookies, follows its sign-in gate to the identity provider,
   * signs in there as `user` (the provider's page has a link per user) and follows the provider
   * back. Returns the page (left open), the status of the page the browser landed on at the
   * developer's URL, and, when `workbench`, only once the workbench is up over its websocket.
   */
  async signIn(host: string, user: string, workbench: boolean): Promise<SignedIn> {
    const { page, websocketFrames } = await this.cleanPage();
    const origin = new URL(this.url(host)).origin;
    let landed = 0;
    page.on("response", (response) => {
      const status = response.status();
      const request = response.request();
      if (request.isNavigationRequest() && request.frame() === page.mainFrame() && (status < 300 || status >= 400)) landed = status;
    });
    await page.goto(this.url(host, "/"), { waitUntil: "domcontentloaded", timeout: 60_000 });
    if (new URL(page.url()).origin === origin)
      throw new Error(`${this.url(host)} did not send the browser to sign in (it stayed at ${page.url()})`);
    const link = page.locator(`#as-${user}`);
    await link.waitFor({ state: "visible", timeout: 30_000 }).catch(() => {
      throw new Error(`the provider's sign-in page at ${page.url()} has no link for ${user}`);
    });
    await Promise.all([
      page.waitForURL((url) => url.origin === origin && !url.pathname.startsWith("/oauth2/"), {
        waitUntil: "domcontentloaded",
        timeout: 60_000,
      }),
      link.click(),
    ]);
    if (workbench) await workbenchLoaded(page, websocketFrames);
    const text = (await page.locator("body").innerText()).slice(0, 2000);
    return { page, status: landed, text, websocketFrames };
  }

  /** A new page of a context with no cookies, counting the frames its websockets receive. */
  private async cleanPage(): Promise<{ page: Page; websocketFrames: () => number }> {
    const opened = await this.page();
    await this.context.clearCookies();
    return opened;
  }

  /** A new page with the context's cookies (the sessions of earlier logins), counting the frames its websockets receive. */
  async page(): Promise<{ page: Page; websocketFrames: () => number }> {
    let frames = 0;
    const page = await this.context.newPage();
    page.on("websocket", (ws) => ws.on("framereceived", () => frames++));
    return { page, websocketFrames: () => frames };
  }

  /**
   * Types a command into a new integrated terminal of an open workbench, once `shellRunning`
   * says the terminal's shell has started, until `done` says it worked.
   */
  async runInTerminal(page: Page, command: string, shellRunning: () => Promise<boolean>, done: () => Promise<boolean>): Promise<void> {
    const terminal = page.locator(".terminal-wrapper .xterm-helper-textarea").first();
    for (let attempt = 1; attempt <= 3 && !(await terminal.count()); attempt++) {
      // Keyboard shortcuts reach the workbench only once it has the focus.
      await page.locator(".monaco-workbench .part.statusbar").click();
      await page.keyboard.press("Control+Shift+P");
      await page.waitForSelector(".quick-input-widget input", { state: "visible", timeout: 30_000 });
      await page.keyboard.type("Terminal: Create New Terminal");
      await page.waitForTimeout(500);
      await page.keyboard.press("Enter");
      // A folder opened for the first time is in restricted mode: the terminal asks to trust it first.
      // Trusting it swallows the command: the next attempt runs it again.
      const trust = page.getByRole("button", { name: "Yes, I trust the authors" });
      const trusted = await trust.waitFor({ state: "visible", timeout: 3000 }).then(
        () => trust.click().then(() => true),
        () => false,
      );
      if (!trusted) await terminal.waitFor({ state: "attached", timeout: 15_000 }).catch(() => undefined);
    }
    await terminal.waitFor({ state: "attached", timeout: 5000 });
    // Keystrokes sent before the shell runs (node-pty starts it) are lost: wait for it, and type
    // the command again should it still have no effect.
    const deadline = Date.now() + 30_000;
    while (!(await shellRunning()) && Date.now() < deadline) await page.waitForTimeout(250);
    for (let attempt = 1; attempt <= 4; attempt++) {
      await page.waitForTimeout(500);
      await terminal.focus();
      await page.keyboard.type(command, { delay: 10 });
      await page.keyboard.press("Enter");
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        if (await done()) return;
        await page.waitForTimeout(250);
      }
    }
    throw new Error(`typed "${command}" into the editor's terminal 4 times without effect`);
  }

  /**
   * Whether a page of another origin (about:blank, as any site on the internet) can show `url` in
   * an iframe: the page inside shows its password field, or Chromium refuses it (and says why).
   */
  async frameElsewhere(url: string): Promise<{ shown: boolean; refusal?: string }> {
    const page = await this.context.newPage();
    const refusals: string[] = [];
    page.on("console", (message) => {
      if (/Refused to (display|frame)/.test(message.text())) refusals.push(message.text());
    });
    try {
      await page.setContent(`<iframe src="${url}" width="800" height="600"></iframe>`, { waitUntil: "load", timeout: 30_000 });
      const frame = page.frames().find((f) => f !== page.mainFrame());
      const field = frame?.locator("input[type=password]");
      const shown = field
        ? await field.waitFor({ state: "attached", timeout: 5000 }).then(
            () => true,
            () => false,
          )
        : false;
      return { shown, refusal: refusals[0] };
    } finally {
      await page.close();
    }
  }

  async close(): Promise<void> {
    await this.context.close();
  }
}
