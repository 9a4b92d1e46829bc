#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on 127.0.0.1 (start them, or install them where missing),
# and that libical (the feed tests) and headless Chromium with its driver (the pages' browser tests) are there.
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1; }
apt_install() {
  if [ "$(id -u)" != 0 ] || ! have apt-get; then
    echo "services: $* missing and cannot be installed here (need root and apt-get)" >&2; exit 1
  fi
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

pg_up() { have pg_isready && pg_isready -q -h 127.0.0.1 -p 5432; }
if ! pg_up; then
  have pg_ctlcluster || apt_install postgresql
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  pg_up || { echo "services: PostgreSQL did not come up on 127.0.0.1:5432" >&2; exit 1; }
fi

redis_up() { have redis-cli && [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }
if ! redis_up; then
  have redis-server || apt_install redis-server
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 30); do redis_up && break; sleep 0.5; done
  redis_up || { echo "services: Redis did not come up on 127.0.0.1:6379" >&2; exit 1; }
fi
# libical, a calendar engine that reads feeds through their VTIMEZONEs (tests/calendars/test_libical.py).
libical_up() { [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import gi; gi.require_version('ICalGLib', '3.0')" 2>/dev/null; }
libical_up || apt_install gir1.2-ical-3.0 python3-gi
# The pages' browser tests drive Debian's headless Chromium through its chromedriver (tests/pages).
if ! { have chromium && have chromedriver; }; then
  apt_install chromium chromium-driver
fi
echo "services: PostgreSQL and Redis are up; libical, Chromium and chromedriver are installed"
