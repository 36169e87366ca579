#!/usr/bin/env bash
# collect-rootfs.sh BINARY ROOTFS [NAME]
# Builds a minimal root filesystem for a FROM-scratch image: the stripped binary at /NAME, the
# shared libraries ldd reports (stripped) plus the dynamic loader at their usual paths, the CA
# bundle, and passwd/group entries for the non-root user 65532 ("keyward").
set -euo pipefail
bin=${1:?usage: collect-rootfs.sh BINARY ROOTFS [NAME]}
root=${2:?usage: collect-rootfs.sh BINARY ROOTFS [NAME]}
name=${3:-$(basename "$bin")}
[[ -x $bin ]] || { echo "collect-rootfs: $bin is not an executable; build it first" >&2; exit 1; }

rm -rf "$root"
mkdir -p "$root/etc/ssl/certs" "$root/tmp"
chmod 1777 "$root/tmp"
install -m 0755 "$bin" "$root/$name"
strip --strip-unneeded "$root/$name"

# Every shared library the binary needs (ldd resolves the whole closure), and the loader.
while read -r lib; do
  [[ -n $lib && -e $lib ]] || continue
  dest="$root$lib"
  mkdir -p "$(dirname "$dest")"
  cp -L "$lib" "$dest"
  chmod 0755 "$dest"
  strip --strip-unneeded "$dest" 2>/dev/null || true
done < <(ldd "$bin" | awk '/=> \// {print $3} /^\s*\/[^ ]+ \(/ {print $1}')

# Debian keeps libraries under /lib/x86_64-linux-gnu but the loader may be found through
# /lib64: keep the symlink layout ldd printed.
if [[ -d $root/lib/x86_64-linux-gnu && ! -e $root/lib64/ld-linux-x86-64.so.2 && -e /lib64/ld-linux-x86-64.so.2 ]]; then
  mkdir -p "$root/lib64"
  cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"
fi

cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\nkeyward:x:65532:65532:keyward:/nonexistent:/sbin/nologin\n' > "$root/etc/passwd"
printf 'root:x:0:\nkeyward:x:65532:\n' > "$root/etc/group"
printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"
