#!/usr/bin/env bash
# Installs what the end-to-end tests (go test -tags e2e ./server/...) need on a fresh Debian
# (bookworm) machine, as root: rsyslog with its Elasticsearch output module, and the official
# Elasticsearch Python client, Debian's package, used through /usr/bin/python3.
set -euo pipefail

packages=(rsyslog rsyslog-elasticsearch python3 python3-elasticsearch)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "e2e dependencies already installed: ${packages[*]}"
	exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# --no-install-recommends: the tests start rsyslogd themselves with their own configuration.
apt-get install -y -qq --no-install-recommends "${missing[@]}"

# Check that the pieces the tests use are where they look for them.
test -x /usr/sbin/rsyslogd
test -f /usr/lib/x86_64-linux-gnu/rsyslog/omelasticsearch.so || test -n "$(find /usr/lib -name omelasticsearch.so -print -quit)"
/usr/bin/python3 -c 'import elasticsearch; print("python elasticsearch client", elasticsearch.__versionstr__)'
