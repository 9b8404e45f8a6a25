/**
 * The rules of the S3 state backend's settings (`state.bucket`, `state.key`, `state.region`, and
 * STATE_BUCKET, STATE_KEY, STATE_REGION over them): S3's bucket naming rules and Terraform's rules
 * for the key, checked before `terraform init` so a typo is refused with the rule it breaks.
 */

/** An AWS region code such as ap-southeast-7 or us-gov-west-1. */
export const AWS_REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;
export const REGION_MESSAGE = "must be an AWS region code such as ap-southeast-7";

/** S3 reserves these for its own names (access points, Object Lambda, Multi-Region Access Points, directory and table buckets). */
const RESERVED_BUCKET_PREFIXES = ["xn--", "sthree-", "amzn-s3-demo-"];
const RESERVED_BUCKET_SUFFIXES = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

/** Why `name` cannot be a general purpose S3 bucket's name, or undefined when it can. */
export function bucketNameProblem(name: string): string | undefined {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name)) {
    return "must be an S3 bucket name: 3-63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit";
  }
  if (name.includes("..")) return "must not contain two '.' in a row (S3's bucket naming rules)";
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return "must not be written like an IP address (S3's bucket naming rules)";
  const prefix = RESERVED_BUCKET_PREFIXES.find((p) => name.startsWith(p));
  if (prefix) return `must not start with "${prefix}", which S3 reserves`;
  const suffix = RESERVED_BUCKET_SUFFIXES.find((s) => name.endsWith(s));
  if (suffix) return `must not end with "${suffix}", which S3 reserves`;
  return undefined;
}

/** S3's limit on an object key, in bytes of UTF-8. */
export const MAX_STATE_KEY_BYTES = 1024;

/**
 * Why `key` cannot be the state object's key, or undefined when it can: S3's safe characters
 * only (no space, no shell or URL metacharacter), no empty, `.` or `..` segment (Terraform
 * refuses a leading, trailing or doubled '/'; `..` reads as a way out of a prefix that IAM
 * policies scope by), and S3's length limit.
 */
export function stateKeyProblem(key: string): string | undefined {
  const example = "e.g. code-server/dev/terraform.tfstate";
  if (Buffer.byteLength(key, "utf8") > MAX_STATE_KEY_BYTES) return `must be at most ${MAX_STATE_KEY_BYTES} bytes (S3's limit on a key)`;
  if (!/^[A-Za-z0-9!_.*'()/-]+$/.test(key)) {
    return `must be a path in the bucket of letters, digits, '/' and !-_.*'() only, ${example}`;
  }
  if (key.startsWith("/")) return `must not start with '/': it is a path inside the bucket, ${example}`;
  const segments = key.split("/");
  if (segments.some((s) => s === "")) return `must not end with '/' or hold '//': every part of the path needs a name, ${example}`;
  if (segments.some((s) => s === "." || s === ".."))
    return `must not have a '.' or '..' part: write the path in the bucket as it is, ${example}`;
  return undefined;
}
