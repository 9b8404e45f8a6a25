#!/usr/bin/env bash
# Sourced by every stand-in: records the call in $REHEARSAL_CALLS (one "<command> <args>" line)
# so checks can see what the host scripts asked of the system.
set -euo pipefail
: "${REHEARSAL_STATE:?the stand-ins keep their state under REHEARSAL_STATE}"
if [[ -n ${REHEARSAL_CALLS:-} ]]; then
  printf '%s %s\n' "$(basename "$0")" "$*" >>"$REHEARSAL_CALLS"
fi
