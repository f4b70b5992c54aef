#!/usr/bin/env bash
# Installs what the interop tests need from Debian's packages: squid, tinyproxy, openssl,
# the SOCKS servers dante (danted) and microsocks, and the HTTP/2 server h2o. The tests start
# their own instances on free ports; any started by the packages is stopped. dante checks its SOCKS5
# username/password against system users: the user xsocks (password xsocks-pass, no home,
# no shell) is made here for it; testkit exports the pair as DANTE_USER.
set -euo pipefail
need=()
command -v squid >/dev/null 2>&1 || [ -x /usr/sbin/squid ] || need+=(squid)
command -v tinyproxy >/dev/null 2>&1 || [ -x /usr/bin/tinyproxy ] || need+=(tinyproxy)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v danted >/dev/null 2>&1 || [ -x /usr/sbin/danted ] || need+=(dante-server)
command -v microsocks >/dev/null 2>&1 || [ -x /usr/bin/microsocks ] || need+=(microsocks)
command -v h2o >/dev/null 2>&1 || [ -x /usr/bin/h2o ] || need+=(h2o)
if ((${#need[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "install-proxies: not root; install ${need[*]} yourself (the suites that need them will skip)"
    exit 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # One at a time: a package that cannot be had leaves the others installed.
  for pkg in "${need[@]}"; do
    apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null ||
      echo "install-proxies: could not install $pkg"
  done
fi
# Stops the daemons that the packages just installed started (only those: a run with
# nothing to install leaves alone the instances that tests running now have started).
for pkg in "${need[@]}"; do
  case "$pkg" in
  squid | tinyproxy | microsocks | h2o) pkill -x "$pkg" 2>/dev/null || true ;;
  dante-server) pkill -x danted 2>/dev/null || true ;;
  esac
done
if [ -x /usr/sbin/danted ] && [ "$(id -u)" = 0 ]; then
  id xsocks >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin xsocks
  echo 'xsocks:xsocks-pass' | chpasswd
fi
echo "install-proxies: $(/usr/sbin/squid -v 2>/dev/null | head -1); $(tinyproxy -v 2>/dev/null)"
echo "install-proxies: $(/usr/sbin/danted -v 2>/dev/null | head -1); microsocks $(dpkg-query -W -f='${Version}' microsocks 2>/dev/null)"
echo "install-proxies: $(h2o --version 2>/dev/null | head -1)"
