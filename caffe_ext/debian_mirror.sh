#!/usr/bin/env bash
# Prints the Debian archive URI this machine's apt is configured with
# (deb822 .sources files or one-line sources.list entries).
set -euo pipefail
uri=""
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  uri=$(awk '/^URIs:/ {for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) {print $i; exit}}' "$f")
  [ -n "$uri" ] && break
done
if [ -z "$uri" ]; then
  uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
    | awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /:\/\/.*\/debian\/?$/) {print $i; exit}}' | head -1)
fi
[ -n "$uri" ] || { echo "debian_mirror.sh: no Debian mirror found in the apt configuration" >&2; exit 1; }
echo "${uri%/}"
