/**
 * The rehearsal's self-signed certificates (openssl): the ALB stand-in's for `*.<domain>` and the
 * identity provider's for its address. A client trusts one by naming it: Chromium by its key's
 * hash (--ignore-certificate-errors-spki-list), Node by the file itself (`ca`, NODE_EXTRA_CA_CERTS).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { run, runOk } from "./run";

export interface CertificateFiles {
  readonly certificateFile: string;
  readonly keyFile: string;
}

/**
 * An EC P-256 certificate valid for 30 days, for `altNames` (`DNS:<name>`, `IP:<address>`), kept
 * across runs while the names stay the same (they are recorded beside it) and a day of validity is left.
 */
export async function ensureSelfSignedCertificate(files: CertificateFiles, subject: string, altNames: readonly string[]): Promise<void> {
  const namesFile = `${files.certificateFile}.names`;
  const names = altNames.join(",");
  const kept = existsSync(files.certificateFile) && existsSync(namesFile) && readFileSync(namesFile, "utf8") === names;
  if (kept && (await run("openssl", ["x509", "-checkend", "86400", "-noout", "-in", files.certificateFile])).code === 0) return;
  await runOk("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-days",
    "30",
    "-subj",
    `/CN=${subject}`,
    "-addext",
    `subjectAltName=${names}`,
    "-keyout",
    files.keyFile,
    "-out",
    files.certificateFile,
  ]);
  writeFileSync(namesFile, names);
}

/** base64 SHA-256 of a certificate's public key: what Chromium's --ignore-certificate-errors-spki-list takes. */
export async function spkiHash(certificateFile: string): Promise<string> {
  const result = await runOk("sh", [
    "-c",
    `openssl x509 -in '${certificateFile}' -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`,
  ]);
  return result.stdout.trim();
}
