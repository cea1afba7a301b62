#!/usr/bin/env bash
# System packages the workbook needs, installed only when missing and only as root:
#   fonts-noto-cjk  Chinese text in charts and HTML (no tofu boxes)
#   chromium        headless browser tests of the HTML reports
#   default-jre-headless  Java for the local Spark tests
set -euo pipefail
need=()
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need+=(fonts-noto-cjk fontconfig)
command -v chromium >/dev/null || need+=(chromium)
command -v java >/dev/null || need+=(default-jre-headless)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != "0" ]; then
  echo "warning: missing system packages (${need[*]}); install them as root for CJK charts, browser and Spark tests" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
