#!/usr/bin/env bash
# powercut-test.sh - real power cuts: a qemu guest with its own ext4 disk
# image enqueues jobs one at a time (printing "ACK id" on its serial console
# after each acknowledged enqueue) while 2 workers run them (each run prints
# "RUN id attempt" on the console as it starts). The host kills qemu at a
# random moment, mounts the image, and vmtest checks it against the
# consoles: every acked job exactly once in a valid state, no torn file in a
# state directory, attempts never below the runs seen. Then it boots again
# (the workers recover what the cut interrupted) for the next cut. After the
# last cut one more boot drains the queue and the check requires every acked
# job done or dead.
#
# What a cut loses: what the guest kernel had not yet written to its disk
# (page cache, unflushed journal). The image is opened with cache=directsync,
# so every write the guest's disk completed is on the host's disk; a disk
# that reorders or drops completed-but-unflushed writes (a volatile write
# cache) is not simulated.
#
# usage: sudo bash scripts/powercut-test.sh [--long]   (3 cuts; --long: 20)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=${W:-/tmp/queuectl-powercut}
CUTS=3
[ "${1:-}" = --long ] && CUTS=20
. "$ROOT/scripts/vm-lib.sh"
mkdir -p "$W"
t_start=$(date +%s)
vm_install qemu-system-x86 busybox-static e2fsprogs
vm_kernel
vm_build_bins "$ROOT"

cat > "$W/scen.sh" <<'EOF'
mkdir -p /mnt/d
mount -t ext4 /dev/vda /mnt/d || { echo "mount failed"; exit 1; }
cd /mnt/d
[ -f queuectl.toml ] || printf 'spool_dir = "spool"\nretry_delay = 0.2\nmax_retries = 1\n' > queuectl.toml
export QUEUECTL_CONFIG=/mnt/d/queuectl.toml
queuectl worker start --foreground --count 2 2>/dev/null &
if [ "$arg" = drain ]; then
  while [ -n "$(ls spool/pending spool/processing spool/failed 2>/dev/null | grep json)" ]; do sleep 0.5; done
  sync; echo "=== drained"; sleep 1; exit 0
fi
echo "=== load $arg"
i=0
while :; do
  i=$((i+1)); id="c$arg-$i"
  # every 7th job fails: it is retried once, then dead
  cmd='echo RUN $QUEUECTL_JOB_ID $QUEUECTL_ATTEMPT > /dev/console; sleep 0.05'
  [ $((i % 7)) = 0 ] && cmd="$cmd; exit 1"
  if queuectl enqueue --id "$id" --command "$cmd" >/dev/null 2>/tmp/err; then echo "ACK $id"; else [ $i -lt 3 ] && cat /tmp/err; fi
done
EOF
vm_initrd "$W/scen.sh" $VIRTIO_MODS $BLK_MODS

IMG=$W/disk.img
rm -f "$IMG"; truncate -s 256M "$IMG"; mkfs.ext4 -q -F "$IMG"
MNT=$W/mnt; mkdir -p "$MNT"
cleanup() { set +e; [ -f "$W/qemu.pid" ] && kill -9 "$(cat "$W/qemu.pid")" 2>/dev/null; umount "$MNT" 2>/dev/null; rm -f "$W/qemu.pid"; }
trap cleanup EXIT
rm -f "$W"/console-*.out

boot() { # ARG CONSOLE
  qemu-system-x86_64 -accel tcg -cpu max -m 512 -smp 1 \
    -kernel "$W/vmlinuz-$KVER" -initrd "$W/initrd.gz" \
    -append "console=ttyS0 quiet panic=-1 hn=pc arg=$1" \
    -drive "file=$IMG,format=raw,if=virtio,cache=directsync" \
    -display none -serial "file:$2" -monitor none -no-reboot -nic none >"$W/qemu.err" 2>&1 &
  echo $! > "$W/qemu.pid"
}
check() { # extra flags
  mount -o loop "$IMG" "$MNT"
  local rc=0
  "$W/bin/vmtest" powercut-check -spool "$MNT/spool" "$@" "$W"/console-*.out || rc=$?
  umount "$MNT"
  return $rc
}

fail=0
for cut in $(seq 1 "$CUTS"); do
  con=$W/console-$cut.out
  boot "$cut" "$con"
  for _ in $(seq 1 300); do grep -aq "=== load" "$con" 2>/dev/null && break; sleep 0.5; done
  delay=$(( 5 + RANDOM % 15 ))
  sleep "$delay"
  kill -9 "$(cat "$W/qemu.pid")"; wait "$(cat "$W/qemu.pid")" 2>/dev/null || true
  printf 'cut %d after %d s of load: ' "$cut" "$delay"
  check || fail=1
done
con=$W/console-drain.out
boot drain "$con"
for _ in $(seq 1 600); do grep -aq "=== drained" "$con" 2>/dev/null && break; sleep 1; done
kill -9 "$(cat "$W/qemu.pid")" 2>/dev/null; wait "$(cat "$W/qemu.pid")" 2>/dev/null || true
grep -aq "=== drained" "$con" || { echo "the drain did not finish"; fail=1; }
printf 'after the drain: '
check -drained || fail=1
echo "cuts $CUTS, wall time $(( $(date +%s) - t_start )) s"
[ $fail = 0 ] && echo PASS || echo FAIL
exit $fail
