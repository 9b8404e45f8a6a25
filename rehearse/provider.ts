/**
 * The identity provider of a fleet that signs in with OpenID Connect: the gate tests' own provider
 * (__tests__/gate/fixtures/idp.ts: oidc-provider, a certified implementation, with its users alice,
 * bob, ...) run in the internet stand-in's network namespace, on 443 at https://198.51.100.1 with a
 * self-signed certificate for that address. The browser on this machine and the gates in their
 * containers (through Docker's NAT, as to the internet) reach it where a company's provider is
 * reached: outside the host. The gate accepts plain HTTP only on loopback, and a container's
 * loopback is its own, hence HTTPS.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { INTERNET_ADDRESS, INTERNET_NAMESPACE, startInternet } from "./internet";
import { ensureSelfSignedCertificate, spkiHash } from "./lib/certificates";
import { PROJECT_ROOT, layout } from "./lib/layout";
import { record } from "./lib/log";

export const PROVIDER_ISSUER = `https://${INTERNET_ADDRESS}`;
/** The client the fleet is registered as at the provider. */
export const PROVIDER_CLIENT_ID = "code-server-rehearsal";
const dir = join(layout.root, "provider");
const files = { certificateFile: join(dir, "tls.crt"), keyFile: join(dir, "tls.key") };
/** The provider's certificate: what the gates trust (NODE_EXTRA_CA_CERTS) to reach it. */
export const providerCertificateFile = files.certificateFile;
const FIXTURE = "__tests__/gate/fixtures/idp.ts";
const START_SECONDS = 60;

/** The provider's certificate, made once; returns its key's hash, for the browser to accept it. */
export async function ensureProviderCertificate(): Promise<string> {
  mkdirSync(dir, { recursive: true });
  await ensureSelfSignedCertificate(files, INTERNET_ADDRESS, [`IP:${INTERNET_ADDRESS}`]);
  return spkiHash(files.certificateFile);
}

/** What the provider's /__test/session-cookie door seals (see the fixture). */
export interface SessionCookieRequest {
  /** The cookie key file of the gate the cookie is for (or another key, to forge one). */
  readonly keyFile: string;
  readonly publicUrl: string;
  readonly sub: string;
  readonly email: string;
  /** Seconds from now until the session ends; negative for one that already has. */
  readonly expiresIn: number;
}

export class IdentityProvider {
  private constructor(private readonly child: ChildProcess) {}

  /** Starts the provider for one client, its secret and the developers' URLs (its redirect URIs). */
  static async start(clientSecret: string, publicUrls: readonly string[]): Promise<IdentityProvider> {
    await startInternet();
    await ensureProviderCertificate();
    const fixture = {
      clientId: PROVIDER_CLIENT_ID,
      clientSecret,
      publicUrls,
      listen: { host: INTERNET_ADDRESS, port: 443 },
      tls: { certFile: files.certificateFile, keyFile: files.keyFile },
    };
    record(
      `$ ip netns exec ${INTERNET_NAMESPACE} node tools/launch.js ${FIXTURE} (IDP_FIXTURE: the client, its secret, ${publicUrls.length} URLs)`,
    );
    // Its stdin stays open: the fixture exits when it closes, with this process at the latest.
    const child = spawn("ip", ["netns", "exec", INTERNET_NAMESPACE, process.execPath, join("tools", "launch.js"), FIXTURE], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, IDP_FIXTURE: JSON.stringify(fixture) },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let output = "";
    const started = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the provider did not start within ${START_SECONDS}s:\n${output}`)),
        START_SECONDS * 1000,
      );
      const collect = (chunk: Buffer) => {
        output += chunk.toString();
        const line = output.split("\n").find((l) => l.includes('"issuer"'));
        if (line) {
          clearTimeout(timer);
          resolve((JSON.parse(line) as { issuer: string }).issuer);
        }
      };
      child.stdout.on("data", collect);
      child.stderr.on("data", collect);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`the provider exited ${code} before it listened:\n${output}`));
      });
    });
    const issuer = await started;
    const provider = new IdentityProvider(child);
    // What a gate reads first, over HTTPS with the provider's certificate.
    const discovery = await provider.request("GET", "/.well-known/openid-configuration");
    const discovered = discovery.status === 200 ? (JSON.parse(discovery.body) as { issuer?: string }).issuer : undefined;
    if (issuer !== PROVIDER_ISSUER || discovered !== PROVIDER_ISSUER) {
      await provider.stop();
      throw new Error(
        `the provider says its issuer is ${issuer}, its discovery document ${discovered ?? `answered ${discovery.status}`}: not ${PROVIDER_ISSUER}`,
      );
    }
    return provider;
  }

  /** A session cookie sealed by the provider's test door, as a gate would seal one with `keyFile`. */
  async sessionCookie(cookie: SessionCookieRequest): Promise<string> {
    const body = JSON.stringify({ ...cookie, issuer: PROVIDER_ISSUER, emailVerified: true });
    const answer = await this.request("POST", "/__test/session-cookie", body);
    if (answer.status !== 200) throw new Error(`the provider's session-cookie door answered ${answer.status}: ${answer.body}`);
    return answer.body;
  }

  /** A request to the provider over HTTPS, trusting its certificate alone. */
  private request(method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const options = { method, ca: readFileSync(files.certificateFile), timeout: 30_000 };
      const req = request(`${PROVIDER_ISSUER}${path}`, options, (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => (text += chunk.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on("timeout", () => req.destroy(new Error(`${PROVIDER_ISSUER}${path}: no answer within 30s`)));
      req.on("error", reject);
      req.end(body);
    });
  }

  /** Ends the provider (it exits when its stdin closes). */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
}
