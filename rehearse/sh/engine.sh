#!/usr/bin/env bash
# engine.sh <start|stop|restart|status|poweroff>: the rehearsal's own Docker engine. Every path
# is under $REHEARSAL_ENGINE_DIR: binaries (unpacked debs), data-root, exec-root, pidfile, socket.
# Used by engine.ts and by the systemctl stand-in, so "systemctl restart docker" in setup.sh
# restarts this engine and nothing else.
#
#   REHEARSAL_ENGINE_DIR  state of the engine (data-root, exec-root, socket, logs)
#   REHEARSAL_ENGINE_BIN  directory with dockerd, containerd, runc, docker-proxy, docker
#   REHEARSAL_HOST_ROOT   the rehearsal host's ROOT_PREFIX: dockerd reads its etc/docker/daemon.json
#   REHEARSAL_NOFILE_MAX  the machine's open-files hard limit; daemon.json's default nofile is capped to it
set -euo pipefail

engine_dir=${REHEARSAL_ENGINE_DIR:?}
bin_dir=${REHEARSAL_ENGINE_BIN:?}
host_root=${REHEARSAL_HOST_ROOT:?}
nofile_max=${REHEARSAL_NOFILE_MAX:-20000}
socket="$engine_dir/docker.sock"
pidfile="$engine_dir/dockerd.pid"
exec_root="$engine_dir/exec"
data_root="$engine_dir/data"
net_state="$engine_dir/net-state"
export PATH="$bin_dir:$PATH"
export DOCKER_HOST="unix://$socket"

log() { printf 'engine.sh: %s\n' "$*" >&2; }

dockerd_pid() {
  local pid
  [[ -f $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ -n $pid && -d /proc/$pid && $(cat "/proc/$pid/comm" 2>/dev/null) == dockerd ]] || return 1
  printf '%s' "$pid"
}

responds() { timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# The rendered daemon.json as setup.sh installed it, with one concession: default nofile above
# the machine's hard limit would make every container fail to start, so it is capped.
write_effective_config() {
  local rendered="$host_root/etc/docker/daemon.json" effective="$engine_dir/daemon.json"
  if [[ -f $rendered ]]; then
    jq --argjson max "$nofile_max" \
      'if .["default-ulimits"].nofile then .["default-ulimits"].nofile |= (.Hard = ([.Hard, $max] | min) | .Soft = ([.Soft, $max] | min)) else . end' \
      "$rendered" >"$effective"
  else
    # No daemon.json yet: dockerd as the package starts it, with its defaults.
    echo '{}' >"$effective"
  fi
  printf '%s' "$effective"
}

save_network_state() {
  mkdir -p "$net_state"
  [[ -f $net_state/ip-forward ]] || sysctl -n net.ipv4.ip_forward >"$net_state/ip-forward"
  [[ -f $net_state/forward-policy ]] || iptables -S FORWARD | sed -n 's/^-P FORWARD //p' >"$net_state/forward-policy"
}

start() {
  if dockerd_pid >/dev/null && responds; then return 0; fi
  local other
  other=$(pgrep -x dockerd || true)
  if [[ -n $other ]]; then
    log "another dockerd is running on this machine (pid $other): the rehearsal needs the engine to itself (it cleans docker's iptables chains on exit)"
    return 1
  fi
  if ((${#exec_root} > 80)); then
    log "the exec-root path $exec_root is too long for containerd's unix sockets (108 bytes): run from a shorter directory"
    return 1
  fi
  mkdir -p "$exec_root" "$data_root"
  save_network_state
  local config
  config=$(write_effective_config)
  log "starting dockerd (config $(jq -c . "$config"))"
  (
    # dockerd must not inherit the apply lock (fd 9) or any other descriptor of its caller:
    # it would hold the lock for as long as it runs.
    for fd in "/proc/$BASHPID/fd/"*; do
      fd=${fd##*/}
      ((fd > 2)) && eval "exec $fd>&-"
    done
    exec setsid dockerd --config-file "$config" --data-root "$data_root" --exec-root "$exec_root" \
      --pidfile "$pidfile" --host "unix://$socket" </dev/null >>"$engine_dir/dockerd.log" 2>&1
  ) &
  local deadline=$((SECONDS + 60))
  until responds; do
    if ((SECONDS > deadline)); then
      log "dockerd did not answer within 60s; last lines of $engine_dir/dockerd.log:"
      tail -20 "$engine_dir/dockerd.log" >&2
      return 1
    fi
    sleep 0.5
  done
}

wait_gone() { # <pid> <seconds>
  local deadline=$((SECONDS + $2))
  while [[ -d /proc/$1 ]]; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# containerd and its shims started by this engine: their command line names our exec-root.
engine_processes() { pgrep -f -- "$exec_root/containerd" || true; }

stop() {
  local pid
  if pid=$(dockerd_pid); then
    kill -TERM "$pid"
    wait_gone "$pid" 60 || { log "dockerd ignored SIGTERM for 60s: killing it"; kill -KILL "$pid" 2>/dev/null || true; }
  fi
  rm -f "$pidfile"
}

# poweroff: what a host shutdown does to the engine: every container process, containerd and
# dockerd end; restart policies apply at the next start. The exec-root lives in /run on a host, a
# tmpfs every boot starts empty: its task and shim state and network namespaces go too (kept, a
# container whose task directory is left cannot start: "failed to start shim: ... file exists").
poweroff() {
  local pid mount
  if responds; then
    for pid in $(docker ps -q | xargs -r docker inspect --format '{{.State.Pid}}'); do
      kill -KILL "$pid" 2>/dev/null || true
    done
  fi
  stop
  for pid in $(engine_processes); do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in $(engine_processes); do wait_gone "$pid" 10 || true; done
  while read -r mount; do
    umount -l "$mount" 2>/dev/null || true
  done < <(findmnt -rn -o TARGET | grep -F "$exec_root/" | sort -r)
  rm -rf "${exec_root:?}"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  restart)
    stop
    start
    ;;
  status) dockerd_pid >/dev/null && responds ;;
  poweroff) poweroff ;;
  *)
    echo "usage: engine.sh start|stop|restart|status|poweroff" >&2
    exit 2
    ;;
esac
