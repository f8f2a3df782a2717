#!/usr/bin/env bash
# Installs what the tests need on a fresh machine and runs every test.
# Usage: scripts/test.sh [go test flags...]   (CI calls this through .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."

# Go is the only toolchain the suite needs today; servers the tests start
# (the Kafka-protocol broker) are built from this module.
if ! command -v go >/dev/null; then
	echo "scripts/test.sh: Go 1.26 or newer is required (https://go.dev/dl)" >&2
	exit 1
fi
go mod download

# PostgreSQL 15 server binaries for the postgres-cdc tests (internal/pgtest
# starts the servers; it installs nothing itself). Debian's package.
pg15_bindir() {
	local d
	d=$(pg_config --bindir 2>/dev/null || true)
	for d in "$d" /usr/lib/postgresql/15/bin; do
		if [ -n "$d" ] && [ -x "$d/initdb" ] && "$d/postgres" --version 2>/dev/null | grep ' 15\.' >/dev/null; then
			echo "$d"
			return 0
		fi
	done
	return 1
}
if ! pg15_bindir >/dev/null; then
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
		echo "scripts/test.sh: PostgreSQL 15 (initdb) is missing; install Debian's postgresql-15 package" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq postgresql-15 >/dev/null
	pg15_bindir >/dev/null || { echo "scripts/test.sh: postgresql-15 installed but initdb for 15 still not found" >&2; exit 1; }
fi
# The servers run as the postgres user when the tests run as root.
if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
	useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
fi

# FTP, SFTP, S3 and Elasticsearch-API servers for the connector tests
# (internal/testserver starts them); the ones built from source are cached
# outside the checkout.
scripts/servers.sh

# Built binaries the integration tests and benchmarks run.
mkdir -p bin
go build -o bin/connectd ./cmd/connectd
go build -o bin/examples/ ./examples/...

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "scripts/test.sh: not gofmt'd:" $unformatted >&2
	exit 1
fi
go vet ./...

# -race for everything in this process: the framework must be clean under
# it, and the connectors exercise it through the contract suite.
go test -race -p 2 -count=1 -timeout 15m "$@" $(go list ./... | grep -v '/integration$')
# The end-to-end tests drive connectd, broker and server processes built
# without the race detector; their own code only starts processes and
# counts records, which the detector slows several times over (decoding
# every record read back) without covering any framework code.
go test -p 2 -count=1 -timeout 20m "$@" ./integration/
