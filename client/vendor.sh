#!/usr/bin/env bash
# Install the browser libraries from the npm registry and copy their built files into static/vendor/.
set -euo pipefail
cd "$(dirname "$0")"
npm install --no-audit --no-fund --loglevel=error >/dev/null
mkdir -p static/vendor
cp node_modules/chart.js/dist/chart.umd.js static/vendor/chart.umd.js
cp node_modules/socket.io-client/dist/socket.io.min.js static/vendor/socket.io.min.js
cp node_modules/idb/build/umd.js static/vendor/idb.umd.js
touch static/vendor/.installed
