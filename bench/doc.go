// Package bench holds end-to-end benchmarks. Each compares connectd with a
// limit or a peer measured in the same run and prints the ratio:
//
//	go test ./bench -run '^$' -bench . -benchtime 1x -count 5
//
// or scripts/bench.sh, which runs them several times and prints medians.
// They are benchmarks, not tests: nothing here asserts a timing.
package bench
