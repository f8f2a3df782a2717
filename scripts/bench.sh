#!/usr/bin/env bash
# Runs the end-to-end benchmarks COUNT times (default 5) and prints the
# median of every reported metric, ratios included.
#   scripts/bench.sh [COUNT] [BENCH-REGEXP]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-5}
pattern=${2:-.}
out=$(mktemp)
go test ./bench -run '^$' -bench "$pattern" -benchtime 1x -count "$count" -timeout 60m | tee "$out" | grep -v '^Benchmark'
echo
echo "medians of $count runs:"
awk '
/^Benchmark/ {
	name = $1
	for (i = 5; i + 1 <= NF; i += 2) { key = name " " $(i+1); vals[key] = vals[key] " " $i; keys[key] = 1 }
}
END {
	for (k in keys) {
		n = split(substr(vals[k], 2), a, " ")
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		m = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
		printf "%-40s %-16s %s\n", substr(k, 1, index(k, " ") - 1), substr(k, index(k, " ") + 1), m
	}
}' "$out" | sort
rm -f "$out"
