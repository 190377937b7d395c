# vm-lib.sh - shared by nfs-test.sh and powercut-test.sh (sourced, not run).
# Guests are qemu TCG machines booting Debian's cloud kernel with an initramfs
# of busybox, queuectl, vmtest (mount(2) for what busybox cannot mount) and
# a scenario script. Needs root and Debian's apt repositories.
#
# Uses: $W (work directory, set by the caller); $VM_BINS (optional: more
# host binaries for the guest's /bin, copied with the shared libraries
# they need).

vm_install() { # packages...
  export DEBIAN_FRONTEND=noninteractive
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# vm_kernel: sets KVER and KMOD, downloading the cloud kernel package once.
vm_kernel() {
  local pkg
  pkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-/{print $2; exit}')
  KVER=${pkg#linux-image-}
  KMOD=$W/kroot/lib/modules/$KVER/kernel
  if [ ! -f "$W/vmlinuz-$KVER" ]; then
    (cd "$W" && apt-get download "$pkg" >/dev/null 2>&1 && rm -rf kroot &&
      dpkg-deb -x "$pkg"_*.deb kroot && cp "kroot/boot/vmlinuz-$KVER" "vmlinuz-$KVER")
  fi
}

# vm_build_bins ROOT: queuectl and vmtest, static, into $W/bin.
vm_build_bins() {
  mkdir -p "$W/bin"
  (cd "$1" && CGO_ENABLED=0 go build -o "$W/bin/queuectl" ./cmd/queuectl &&
    CGO_ENABLED=0 go build -o "$W/bin/vmtest" ./scripts/vmtest)
}

# vm_initrd SCENARIO MODULES...: $W/initrd.gz with the scenario as /scen.sh;
# modules are paths under the kernel's module tree, loaded in order.
vm_initrd() {
  local scen=$1; shift
  local I=$W/initrd order=""
  rm -rf "$I"; mkdir -p "$I"/{bin,proc,sys,dev,mnt,mods,tmp}
  cp /bin/busybox "$I/bin/"; ln -s busybox "$I/bin/sh"
  cp "$W/bin/queuectl" "$W/bin/vmtest" "$I/bin/"
  cp "$scen" "$I/scen.sh"
  local b l
  for b in ${VM_BINS:-}; do
    cp "$b" "$I/bin/"
    for l in $(ldd "$b" | grep -o '/[^ ]*'); do mkdir -p "$I$(dirname "$l")"; cp -L "$l" "$I$l"; done
  done
  for m in "$@"; do cp "$KMOD/$m.ko" "$I/mods/"; order="$order $(basename "$m")"; done
  cat > "$I/init" <<EOF
#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
for m in $order; do insmod /mods/\$m.ko 2>/dev/null || echo "insmod \$m failed"; done
for kv in \$(cat /proc/cmdline); do case \$kv in hn=*|srv=*|arg=*|mode=*) eval "\$kv";; esac; done
export hn srv arg mode PATH=/bin
hostname "\$hn"   # also the NFSv4 client owner: must differ per guest
for i in \$(seq 1 50); do [ -e /sys/class/net/eth0 ] && break; [ -e /dev/vda ] && break; sleep 0.1; done
if [ -e /sys/class/net/eth0 ]; then
  ip link set lo up; ip link set eth0 up; ip addr add 10.0.2.15/24 dev eth0; ip route add default via 10.0.2.2
fi
echo "=== guest \$hn up"
sh /scen.sh
echo "=== guest \$hn done rc=\$?"
poweroff -f
EOF
  chmod +x "$I/init"
  (cd "$I" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 > "$W/initrd.gz")
}

VIRTIO_MODS="drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev
drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci"
NET_MODS="net/core/failover drivers/net/net_failover drivers/net/virtio_net"
NFS_MODS="net/sunrpc/sunrpc fs/nfs_common/grace fs/lockd/lockd fs/netfs/netfs fs/fscache/fscache
net/dns_resolver/dns_resolver fs/nfs/nfs fs/nfs/nfsv4"
BLK_MODS="drivers/block/virtio_blk"
