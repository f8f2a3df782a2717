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

# -race for everything: the framework must be clean under it, and the
# connectors exercise it through the contract suite.
go test -race -p 2 -count=1 -timeout 15m "$@" ./...
