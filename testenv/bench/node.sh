#!/usr/bin/env bash
# End-to-end node benchmark (root): runs `shoal up` in a network namespace of
# its own with N busybox pods, and reports
#   - the agent's resident memory with N pods running,
#   - with podman installed, `podman kube play` of one equivalent pod,
#     timed over ROUNDS runs (p50), as the peer.
# Usage: testenv/bench/node.sh [PODS (default 20)] [ROUNDS (default 10)]
# Everything it makes is removed at the end (shoal down, netns, temp dirs).
set -euo pipefail
cd "$(dirname "$0")/../.."
PODS=${1:-20}
ROUNDS=${2:-10}
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 1; }

make -s build >/dev/null
BIN=$(mktemp -d /opt/shoal-bench-bin.XXXX)
cp bin/shoal bin/shoal-init "$BIN/"
S="$BIN/shoal"
WORK=$(mktemp -d)
NS=shoalbench$$
cleanup() {
  nsenter --net=/run/netns/$NS "$S" down --data-dir "$WORK/data" >/dev/null 2>&1 || true
  ip netns del $NS 2>/dev/null || true
  rm -rf "$WORK" "$BIN"
}
trap cleanup EXIT
ip netns add $NS
ip -n $NS link set lo up
N="nsenter --net=/run/netns/$NS"

"$S" testenv images "$WORK/oci" >/dev/null
"$S" image import "$WORK/oci" --data-dir "$WORK/data" >/dev/null 2>&1
mkdir -p "$WORK/manifests"
for i in $(seq 1 "$PODS"); do
  cat >> "$WORK/manifests/pods.yaml" <<YAML
---
apiVersion: v1
kind: Pod
metadata: {name: p$i}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox:test
    imagePullPolicy: Never
    command: ["sleep", "3600"]
YAML
done
$N "$S" up --manifests "$WORK/manifests" --data-dir "$WORK/data" --node-name bench --log-level warn >"$WORK/up.log" 2>&1 &
UP=$!
deadline=$((SECONDS + 60))
until [ "$($N "$S" get pods 2>/dev/null | grep -c ' 1/1 ')" = "$PODS" ]; do
  [ $SECONDS -lt $deadline ] || { echo "pods did not start"; cat "$WORK/up.log"; exit 1; }
  sleep 0.2
done
sleep 2 # let the agent settle after the start burst
rss=$(awk '/VmRSS/ {print $2}' /proc/$UP/status)
echo "shoal agent RSS with $PODS running pods: $((rss / 1024)) MiB ($rss kB)"

if command -v podman >/dev/null; then
  CONF="$WORK/containers.conf"
  cat > "$CONF" <<CONF
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
CONF
  export CONTAINERS_CONF="$CONF"
  skopeo copy -q oci:"$WORK/oci" containers-storage:docker.io/library/busybox:test
  cat > "$WORK/podman-pod.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: pm}
spec:
  containers:
  - name: app
    image: docker.io/library/busybox:test
    command: ["sleep", "3600"]
    env: [{name: PATH, value: /bin}]
YAML
  times=()
  for r in $(seq 1 "$ROUNDS"); do
    t0=$(date +%s%N)
    $N podman kube play --network=none "$WORK/podman-pod.yaml" >/dev/null
    t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000000 )))
    $N podman kube down "$WORK/podman-pod.yaml" >/dev/null 2>&1 || true
  done
  sorted=($(printf '%s\n' "${times[@]}" | sort -n))
  echo "podman kube play (one pod, image present): p50 ${sorted[$(( ${#sorted[@]} / 2 ))]} ms over $ROUNDS runs"
else
  echo "podman not installed: apt-get install podman for the peer measurement"
fi
