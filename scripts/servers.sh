#!/usr/bin/env bash
# Installs the servers the connector tests start, on a fresh machine, and
# caches the ones built from source outside the checkout, so a fresh clone
# on the same machine reuses them (internal/testserver finds them there):
#   - vsftpd and OpenSSH's sshd: Debian packages (apt);
#   - PostGIS for PostgreSQL 15: Debian's package (apt), when apt is there;
#   - proftpd: Debian's .deb unpacked into the cache (it conflicts with vsftpd
#     as a package, and the tests run it from its own folder);
#   - versitygw (S3) and ZincSearch (Elasticsearch API): built from source.
# Usage: scripts/servers.sh    (scripts/test.sh calls it)
set -euo pipefail
cd "$(dirname "$0")/.."

cache=${CONNECTD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/connectd}
mkdir -p "$cache"

VERSITYGW_VERSION=v1.8.0
ZINC_VERSION=v0.4.10
# ZincSearch builds only with the Go release it was written for; the go
# command fetches that toolchain from the module proxy.
ZINC_GO=go1.21.13

need_root() {
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
		echo "scripts/servers.sh: $1 is missing; install it (Debian: $2)" >&2
		exit 1
	fi
}

apt_updated=
apt_install() {
	need_root "$1" "apt-get install $1"
	export DEBIAN_FRONTEND=noninteractive
	if [ -z "$apt_updated" ]; then
		apt-get update -qq
		apt_updated=1
	fi
	apt-get install -y -qq "$@" >/dev/null
}

# PostGIS for the postgres-cdc type tests (geometry and geography columns):
# Debian's package, where apt can install it. Without it those tests say so
# and check the geometric built-ins and PostGIS's wire form alone.
if [ ! -f /usr/share/postgresql/15/extension/postgis.control ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	apt_install postgresql-15-postgis-3 || echo "scripts/servers.sh: postgresql-15-postgis-3 could not be installed; the PostGIS type tests run without it" >&2
fi

# FTP: vsftpd from its package.
[ -x /usr/sbin/vsftpd ] || apt_install vsftpd

# SFTP: OpenSSH's server and ssh-keygen. The tests start their own sshd.
[ -x /usr/sbin/sshd ] && command -v ssh-keygen >/dev/null || apt_install openssh-server openssh-client
mkdir -p /run/sshd 2>/dev/null || true

# The local user the FTP and SFTP servers log the tests in as (loopback
# servers only; the tests know its password).
if ! id connectd-test >/dev/null 2>&1; then
	need_root "the user connectd-test" "useradd"
	useradd --create-home --shell /bin/sh connectd-test
fi
if [ "$(id -u)" = 0 ]; then
	echo 'connectd-test:connectd-test' | chpasswd
fi

# FTP: proftpd, unpacked from Debian's package into the cache.
proftpd_dir="$cache/proftpd"
if [ ! -x "$proftpd_dir/usr/sbin/proftpd" ]; then
	need_root proftpd "apt-get download proftpd-core"
	tmp=$(mktemp -d)
	(
		cd "$tmp"
		export DEBIAN_FRONTEND=noninteractive
		[ -n "$apt_updated" ] || apt-get update -qq
		# proftpd-core holds the daemon in bookworm; older releases ship it in proftpd-basic.
		apt-get download -qq proftpd-core 2>/dev/null || apt-get download -qq proftpd-basic
		rm -rf "$proftpd_dir.new"
		for deb in ./*.deb; do dpkg -x "$deb" "$proftpd_dir.new"; done
	)
	rm -rf "$tmp" "$proftpd_dir"
	mv "$proftpd_dir.new" "$proftpd_dir"
fi
# FTPS: proftpd's mod_tls comes in proftpd-mod-crypto since bookworm
# (older releases build it into proftpd-basic).
# (No grep -q after a pipe in this script: under pipefail, grep quitting at
# its first match can kill the writer with SIGPIPE and fail the pipeline.)
if [ ! -e "$proftpd_dir/usr/lib/proftpd/mod_tls.so" ] && ! "$proftpd_dir/usr/sbin/proftpd" -l 2>/dev/null | grep mod_tls.c >/dev/null; then
	need_root "proftpd's mod_tls" "apt-get download proftpd-mod-crypto"
	tmp=$(mktemp -d)
	(
		cd "$tmp"
		export DEBIAN_FRONTEND=noninteractive
		[ -n "$apt_updated" ] || apt-get update -qq
		apt-get download -qq proftpd-mod-crypto
		dpkg -x ./*.deb "$proftpd_dir"
	)
	rm -rf "$tmp"
fi
# The libraries it links (a package install would have pulled them in).
proftpd_missing() {
	ldd "$proftpd_dir/usr/sbin/proftpd" "$proftpd_dir"/usr/lib/proftpd/mod_tls.so 2>/dev/null | grep 'not found' || true
}
if [ -n "$(proftpd_missing)" ]; then
	apt_install $(apt-cache depends proftpd-core proftpd-mod-crypto | awk '$1 == "Depends:" && $2 ~ /^lib/ {print $2}' | sort -u)
	if [ -n "$(proftpd_missing)" ]; then
		proftpd_missing >&2
		echo "scripts/servers.sh: proftpd still misses the libraries above" >&2
		exit 1
	fi
fi

# S3: versitygw with its posix backend.
versitygw="$cache/versitygw-$VERSITYGW_VERSION/versitygw"
if [ ! -x "$versitygw" ]; then
	echo "scripts/servers.sh: building versitygw $VERSITYGW_VERSION (a few minutes, once per machine)" >&2
	mkdir -p "$(dirname "$versitygw")"
	GOBIN="$(dirname "$versitygw")" go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
fi

# Elasticsearch API: ZincSearch. `go install` refuses it (replace
# directives), so it is built from its module source in a temp dir, with an
# empty web UI.
zinc="$cache/zincsearch-$ZINC_VERSION/zincsearch"
if [ ! -x "$zinc" ]; then
	echo "scripts/servers.sh: building ZincSearch $ZINC_VERSION (a few minutes, once per machine)" >&2
	src=$(GOFLAGS=-mod=mod go mod download -json "github.com/zincsearch/zincsearch@$ZINC_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
	[ -n "$src" ] || { echo "scripts/servers.sh: could not download zincsearch $ZINC_VERSION" >&2; exit 1; }
	tmp=$(mktemp -d)
	cp -r "$src"/. "$tmp"
	chmod -R u+w "$tmp"
	mkdir -p "$tmp/web/dist"
	echo '<!doctype html>' >"$tmp/web/dist/index.html"
	mkdir -p "$(dirname "$zinc")"
	(cd "$tmp" && GOTOOLCHAIN=$ZINC_GO GOFLAGS=-mod=mod go build -o "$zinc.new" ./cmd/zincsearch)
	mv "$zinc.new" "$zinc"
	rm -rf "$tmp"
fi
