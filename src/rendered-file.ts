/**
 * A file rendered from the roster, with the mode it must have wherever it lands: in
 * `deployment/`, and on the host, where the apply document sets exactly this mode (S3 itself
 * keeps no modes, so the mode travels in a list beside the files).
 */

/** The modes the renderer chooses from. */
export const FILE_MODES = {
  /** Scripts the host or an operator runs. */
  script: 0o755,
  /** Files that hold or become something private on the host. */
  private: 0o600,
  /** Everything else. */
  regular: 0o644,
} as const;

export type FileMode = (typeof FILE_MODES)[keyof typeof FILE_MODES];

export interface RenderedFile {
  /** Relative posix path, e.g. "docker/docker-compose.yml"; also its S3 key below the host-files prefix. */
  readonly path: string;
  readonly content: string;
  readonly mode: FileMode;
}

/**
 * Path segments of letters, digits, `.`, `_` and `-`, none starting with `.` or `-`: no `..`,
 * no absolute paths, nothing a shell loop over the modes list would split or expand.
 */
const RELATIVE_PATH = /^[A-Za-z0-9_][A-Za-z0-9._-]*(\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/;

/** A rendered file, refusing a path the host could not place safely. */
export function renderedFile(path: string, content: string, mode: FileMode): RenderedFile {
  if (!RELATIVE_PATH.test(path)) {
    throw new Error(
      `rendered file path ${JSON.stringify(path)} is not a plain relative path (segments of A-Z a-z 0-9 . _ -, none starting with . or -)`,
    );
  }
  return { path, content, mode };
}

/** `0755`: a mode as `chmod` and the modes list write it. */
export function octal(mode: FileMode): string {
  return `0${mode.toString(8)}`;
}

export const byPath = (a: { readonly path: string }, b: { readonly path: string }): number =>
  a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
