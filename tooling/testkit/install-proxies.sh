#!/usr/bin/env bash
# Installs what the interop tests need from Debian's packages: squid, tinyproxy, openssl.
# The tests start their own instances on free ports; any started by the packages is stopped.
set -euo pipefail
need=()
command -v squid >/dev/null 2>&1 || [ -x /usr/sbin/squid ] || need+=(squid)
command -v tinyproxy >/dev/null 2>&1 || [ -x /usr/bin/tinyproxy ] || need+=(tinyproxy)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
if ((${#need[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "install-proxies: not root; install ${need[*]} yourself (the suites that need them will skip)"
    exit 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
pkill -x squid 2>/dev/null || true
pkill -x tinyproxy 2>/dev/null || true
echo "install-proxies: $(/usr/sbin/squid -v 2>/dev/null | head -1); $(tinyproxy -v 2>/dev/null)"
