#!/usr/bin/env bash
# System packages the workbook needs, installed only when missing and only as root:
#   fonts-noto-cjk  Chinese text in charts and HTML (no tofu boxes)
#   chromium        headless browser tests of the HTML reports
#   default-jre-headless  Java for the local Spark tests
set -euo pipefail
cd "$(dirname "$0")/.."
# `make setup` skips this script once the stamp exists (system packages: once per machine)
stamp=.sysdeps-stamp
need=()
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need+=(fonts-noto-cjk fontconfig)
command -v chromium >/dev/null || need+=(chromium)
command -v java >/dev/null || need+=(default-jre-headless)
if [ ${#need[@]} -eq 0 ]; then touch "$stamp"; exit 0; fi
if [ "$(id -u)" != "0" ]; then
  echo "warning: missing system packages (${need[*]}); install them as root for CJK charts, browser and Spark tests" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
touch "$stamp"
