#!/usr/bin/env bash
# powercut-test.sh - real power cuts: a qemu guest with its own ext4 disk
# image enqueues jobs one at a time (printing "ACK id" on its serial console
# after each acknowledged enqueue) while 2 workers run them (each run prints
# "RUN id attempt" on the console as it starts). The host kills qemu at a
# random moment, and vmtest checks the disk: every acked job exactly once in
# a valid state, no torn file in a state directory, attempts never below the
# runs seen. Then it boots again on that disk (the workers recover what the
# cut interrupted) for the next cut. After the last cut one more boot drains
# the queue and the check requires every acked job done or dead.
#
# What a cut loses (by default): everything the virtual disk had not been
# told to make durable. The disk images are opened with cache=directsync,
# so a write the guest's disk completed is on the host's disk; the guest
# puts its ext4 on a dm-log-writes target (data: vda, log: vdb), which logs
# every completed flush, together with the writes it covered, and every
# completed FUA write, in order. After a cut, vmtest replays that log onto a
# copy of the disk as the boot began, up to the last flush plus the FUA
# writes after it, and drops the rest: the disk a drive with a volatile
# write cache may leave when it loses its power and every write it had
# completed but not flushed (see replayFlushed in scripts/vmtest). The next
# boot and the checks use that disk. Because the log lags the guest (the
# target completes a flush before logging it), the guest also puts a mark
# in the log after each ACK and at the start of each run, and the check
# takes the acknowledged jobs and the runs from those marks: an ACK on the
# console whose mark the cut kept out of the log is counted, not checked.
#
# --plain skips dm-log-writes and the replay: the cut then loses only what
# the guest had not yet written to its disk (page cache, an uncommitted
# journal), and the check uses the consoles.
#
# usage: sudo bash scripts/powercut-test.sh [--long] [--plain]   (3 cuts; --long: 20)
#        W=DIR picks the work directory (default /tmp/queuectl-powercut)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=${W:-/tmp/queuectl-powercut}
CUTS=3 MODE=replay
for a in "$@"; do
  case $a in
  --long) CUTS=20 ;;
  --plain) MODE=plain ;;
  *) echo "usage: $0 [--long] [--plain]" >&2; exit 2 ;;
  esac
done
. "$ROOT/scripts/vm-lib.sh"
mkdir -p "$W"
t_start=$(date +%s)
vm_install qemu-system-x86 busybox-static e2fsprogs dmsetup
vm_kernel
vm_build_bins "$ROOT"

cat > "$W/scen.sh" <<'EOF2'
mkdir -p /mnt/d
dev=/dev/vda
if [ "$mode" = replay ]; then
  for i in $(seq 1 50); do [ -e /dev/vdb ] && break; sleep 0.1; done
  export DM_DISABLE_UDEV=1
  dmsetup create lw --noudevsync --table "0 $(cat /sys/block/vda/size) log-writes /dev/vda /dev/vdb" ||
    { echo "dmsetup create failed"; exit 1; }
  dev=/dev/mapper/lw
  printf '#!/bin/sh\nexec dmsetup message lw 0 mark "$1"\n' > /tmp/mark
else
  printf '#!/bin/sh\n' > /tmp/mark
fi
chmod +x /tmp/mark
if [ "$arg" = selfcheck ]; then # see selfcheck below
  vmtest blockwrite $dev 100 16 A flush && vmtest blockwrite $dev 300 16 B && /tmp/mark selfcheck &&
    echo "=== selfcheck written"
  sleep 600; exit 1
fi
mount -t ext4 $dev /mnt/d || { echo "mount failed"; exit 1; }
cd /mnt/d
[ -f queuectl.toml ] || printf 'spool_dir = "spool"\nretry_delay = 0.2\nmax_retries = 1\n' > queuectl.toml
export QUEUECTL_CONFIG=/mnt/d/queuectl.toml
queuectl worker start --foreground --count 2 2>/dev/null &
if [ "$arg" = drain ]; then
  while [ -n "$(ls spool/pending spool/processing spool/failed 2>/dev/null | grep json)" ]; do sleep 0.5; done
  sync; /tmp/mark drained; sleep 2; echo "=== drained"; sleep 1; exit 0
fi
/tmp/mark load
echo "=== load $arg"
i=0
while :; do
  i=$((i+1)); id="c$arg-$i"
  # the mark goes into the log after the claim's flush, the echo to the console
  # every 7th job fails: it is retried once, then dead
  cmd='/tmp/mark RUN,$QUEUECTL_JOB_ID,$QUEUECTL_ATTEMPT; echo RUN $QUEUECTL_JOB_ID $QUEUECTL_ATTEMPT > /dev/console; sleep 0.05'
  [ $((i % 7)) = 0 ] && cmd="$cmd; exit 1"
  if queuectl enqueue --id "$id" --command "$cmd" >/dev/null 2>/tmp/err; then
    /tmp/mark "ACK,$id"; echo "ACK $id"
  else [ $i -lt 3 ] && cat /tmp/err; fi
done
EOF2
[ $MODE = replay ] && VM_BINS=$(command -v dmsetup)
vm_initrd "$W/scen.sh" $VIRTIO_MODS $BLK_MODS drivers/md/dm-mod drivers/md/dm-log-writes

# BASE: the disk as the next boot begins; IMG: the disk the guest writes
# (every write it completed); LOG: the dm-log-writes log, new each boot.
BASE=$W/base.img IMG=$W/disk.img LOG=$W/log.img
rm -f "$BASE" "$IMG" "$LOG" "$W"/marks-*.txt "$W"/console-*.out "$W/console-selfcheck.txt"
truncate -s 256M "$BASE"; mkfs.ext4 -q -F -b 4096 "$BASE"
[ $MODE = plain ] && IMG=$BASE
MNT=$W/mnt; mkdir -p "$MNT"
cleanup() { set +e; [ -f "$W/qemu.pid" ] && kill -9 "$(cat "$W/qemu.pid")" 2>/dev/null; umount "$MNT" 2>/dev/null; rm -f "$W/qemu.pid"; }
trap cleanup EXIT

# 4 KiB logical blocks: every log entry and its data are then whole blocks
# of the host's file, so a log write the cut interrupted shows as a hole.
drive() { # FILE ID
  echo "-drive file=$1,format=raw,if=none,id=$2,cache=directsync -device virtio-blk-pci,drive=$2,logical_block_size=4096,physical_block_size=4096"
}
boot() { # ARG CONSOLE
  local drives
  drives=$(drive "$IMG" d0)
  if [ $MODE = replay ]; then
    cp --sparse=always "$BASE" "$IMG"
    rm -f "$LOG"; truncate -s 2G "$LOG"
    drives="$drives $(drive "$LOG" d1)"
  fi
  # shellcheck disable=SC2086
  qemu-system-x86_64 -accel tcg -cpu max -m 512 -smp 1 \
    -kernel "$W/vmlinuz-$KVER" -initrd "$W/initrd.gz" \
    -append "console=ttyS0 quiet panic=-1 no_timer_check hn=pc arg=$1 mode=$MODE" \
    $drives -display none -serial "file:$2" -monitor none -no-reboot -nic none >"$W/qemu.err" 2>&1 &
  echo $! > "$W/qemu.pid"
}
# selfcheck: the replay against this kernel's log, on a scratch disk: the
# guest writes 16 blocks of A at block 100 and flushes, then 16 blocks of B
# at block 300 without a flush. After the cut the disk as written must have
# both, the replayed disk the A and zeros where the B went.
selfcheck() {
  local base=$BASE img=$IMG rc=0 out
  BASE=$W/self-base.img IMG=$W/self.img
  rm -f "$BASE"; truncate -s 16M "$BASE"
  boot selfcheck "$W/console-selfcheck.txt"
  for _ in $(seq 1 300); do grep -aq "=== selfcheck written" "$W/console-selfcheck.txt" 2>/dev/null && break; sleep 0.5; done
  sleep 1
  kill -9 "$(cat "$W/qemu.pid")"; wait "$(cat "$W/qemu.pid")" 2>/dev/null || true
  blocks() { dd if="$1" bs=4096 skip="$2" count=16 2>/dev/null | od -An -tx1 -v | tr -s ' \n' '\n' | sed '/^$/d' | sort -u | tr '\n' ' ' | sed 's/ $//'; }
  if ! grep -aq "=== selfcheck written" "$W/console-selfcheck.txt"; then
    echo "selfcheck: the guest did not write its blocks"; cat "$W/console-selfcheck.txt"; rc=1
  elif ! out=$("$W/bin/vmtest" replay -log "$LOG" -image "$BASE" -written "$IMG"); then
    echo "$out"; rc=1
  else
    echo "selfcheck (a flushed write of 16 blocks, then an unflushed one):"
    echo "$out" | sed 's/^/  /'
    printf '  bytes in the disk as written: blocks 100-115 %s, 300-315 %s; replayed: %s, %s\n' \
      "$(blocks "$IMG" 100)" "$(blocks "$IMG" 300)" "$(blocks "$BASE" 100)" "$(blocks "$BASE" 300)"
    [ "$(blocks "$IMG" 100)$(blocks "$IMG" 300)$(blocks "$BASE" 100)$(blocks "$BASE" 300)" = "41424100" ] ||
      { echo "selfcheck: FAIL (want 41, 42; 41, 00)"; rc=1; }
  fi
  rm -f "$BASE" "$IMG"
  BASE=$base IMG=$img
  return $rc
}
dropped=0 lostblocks=0 ambiguous=0
replay() { # NAME
  [ $MODE = replay ] || return 0
  local out
  cp --sparse=always "$BASE" "$W/replayed.img"
  out=$("$W/bin/vmtest" replay -log "$LOG" -image "$W/replayed.img" -written "$IMG" -marks "$W/marks-$1.txt") ||
    { echo "$out"; return 1; }
  echo "$out" | sed 's/^/  /'
  mv "$W/replayed.img" "$BASE"
  dropped=$((dropped + $(echo "$out" | sed -n 's/.*dropped \([0-9]*\) logged writes.*/\1/p')))
  lostblocks=$((lostblocks + $(echo "$out" | sed -n 's/.* written in \([0-9]*\) of .*/\1/p')))
  ambiguous=$((ambiguous + $(echo "$out" | sed -n "s/.*; \([0-9]*\) plain writes over a FUA.*/\1/p")))
}
check() { # extra flags
  mount -o loop "$BASE" "$MNT"
  local rc=0 c evidence=("$W"/console-*.out) consoles=()
  if [ $MODE = replay ]; then
    evidence=("$W"/marks-*.txt)
    for c in "$W"/console-*.out; do consoles+=(-console "$c"); done
  fi
  "$W/bin/vmtest" powercut-check -spool "$MNT/spool" "${consoles[@]}" "$@" "${evidence[@]}" || rc=$?
  umount "$MNT"
  return $rc
}

fail=0
if [ $MODE = replay ]; then selfcheck || fail=1; fi
for cut in $(seq 1 "$CUTS"); do
  [ $fail = 0 ] || break
  con=$W/console-$cut.out
  boot "$cut" "$con"
  for _ in $(seq 1 300); do grep -aq "=== load" "$con" 2>/dev/null && break; sleep 0.5; done
  grep -aq "=== load" "$con" || { echo "cut $cut: the guest did not start its load"; cat "$con"; fail=1; break; }
  delay=$(( 5 + RANDOM % 15 ))
  sleep "$delay"
  kill -9 "$(cat "$W/qemu.pid")"; wait "$(cat "$W/qemu.pid")" 2>/dev/null || true
  echo "cut $cut after $delay s of load:"
  replay "$cut" || { fail=1; break; }
  check || fail=1
done
con=$W/console-drain.out
if [ $fail = 0 ]; then
  boot drain "$con"
  for _ in $(seq 1 600); do grep -aq "=== drained" "$con" 2>/dev/null && break; sleep 1; done
  kill -9 "$(cat "$W/qemu.pid")" 2>/dev/null; wait "$(cat "$W/qemu.pid")" 2>/dev/null || true
  grep -aq "=== drained" "$con" || { echo "the drain did not finish"; fail=1; }
  echo "after the drain:"
  replay drain || fail=1
  check -drained || fail=1
fi
rm -f "$W/qemu.pid"
[ $MODE = replay ] && echo "replay: $dropped logged writes after the last flush dropped in all; $lostblocks blocks in all differed from the disks as written; $ambiguous plain writes over a FUA write's sectors"
echo "mode $MODE, cuts $CUTS, wall time $(( $(date +%s) - t_start )) s"
[ $fail = 0 ] && echo PASS || echo FAIL
exit $fail
