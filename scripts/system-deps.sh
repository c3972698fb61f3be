#!/usr/bin/env bash
# Installs the Debian packages the tests need and Go/npm cannot provide:
# Chromium for the browser tests of the site. Idempotent; a no-op when
# present.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  sudo="sudo"
fi
echo "installing chromium (Debian package) for the browser tests"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
chromium --version
