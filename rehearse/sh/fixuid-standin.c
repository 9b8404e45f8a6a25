/*
 * A stand-in for fixuid in the rehearsal's image: the official code-server image runs fixuid, a
 * setuid-root program, first thing in its entrypoint, and it behaves differently where no new
 * privileges may be gained. This stand-in does what fixuid does when the container's uid is the
 * image's coder (nothing to fix):
 *   - once it ran (/var/run/fixuid.ran exists), it exits 0;
 *   - when it is not running as root (the setuid bit had no effect: no-new-privileges, or a
 *     nosuid mount), it says so on stderr and exits 1, as fixuid does; the entrypoint goes on;
 *   - as root, it records that it ran and exits 0, printing nothing for the entrypoint to eval.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static const char *RAN_FILE = "/var/run/fixuid.ran";

int main(void) {
  if (access(RAN_FILE, F_OK) == 0) return 0;
  if (geteuid() != 0) {
    fputs("fixuid: not running as root (its setuid bit had no effect): the user's ids are left as they are\n", stderr);
    return 1;
  }
  int fd = open(RAN_FILE, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    perror("fixuid: cannot record that it ran");
    return 1;
  }
  close(fd);
  return 0;
}
