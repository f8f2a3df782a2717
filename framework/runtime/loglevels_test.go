package runtime

import (
	"fmt"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/connectd/connectd/framework/herder"
)

// TestLogLevelMapping: every Kafka Connect level names itself back, slog's
// levels get the Kafka name that lets them through, and a level lets
// through exactly the records at or above it.
func TestLogLevelMapping(t *testing.T) {
	t.Parallel()
	for _, name := range herder.LogLevelNames {
		if got := KafkaLevel(slogLevels[name]); got != name {
			t.Errorf("KafkaLevel(slogLevels[%s]) = %s", name, got)
		}
	}
	for l, want := range map[slog.Level]string{
		slog.LevelDebug - 4: "TRACE", slog.LevelDebug: "DEBUG", slog.LevelDebug + 1: "DEBUG",
		slog.LevelInfo: "INFO", slog.LevelWarn: "WARN", slog.LevelError: "ERROR",
		slog.LevelDebug - 5: "ALL", math.MaxInt32: "OFF",
	} {
		if got := KafkaLevel(l); got != want {
			t.Errorf("KafkaLevel(%v) = %s, want %s", l, got, want)
		}
	}
	records := []slog.Level{slog.LevelDebug - 4, slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError}
	for name, want := range map[string]int{"ALL": 5, "TRACE": 5, "DEBUG": 4, "INFO": 3, "WARN": 2, "ERROR": 1, "FATAL": 0, "OFF": 0} {
		l := NewLogLevels(slog.LevelInfo)
		l.SetLoggerLevel(herder.RootLogger, name)
		n := 0
		for _, r := range records {
			if l.allows(herder.RootLogger, r) {
				n++
			}
		}
		if n != want {
			t.Errorf("root at %s lets %d of trace..error through, want %d", name, n, want)
		}
	}
}

// TestLogLevelsNamespaces: a level applies to a logger's children only
// (connector.a does not cover connector.ab), the nearest set ancestor
// wins, and an unchanged level keeps its time of last change.
func TestLogLevelsNamespaces(t *testing.T) {
	t.Parallel()
	l := NewLogLevels(slog.LevelInfo)
	now := int64(1000)
	l.now = func() time.Time { return time.UnixMilli(now) }
	for _, name := range []string{"connector.a", "connector.a.task-0", "connector.ab"} {
		l.allows(name, slog.LevelInfo)
	}
	if got := l.SetLoggerLevel("connector.a", "DEBUG"); fmt.Sprint(got) != "[connector.a connector.a.task-0]" {
		t.Fatalf("affected = %v", got)
	}
	if !l.allows("connector.a.task-0", slog.LevelDebug) || l.allows("connector.ab", slog.LevelDebug) {
		t.Fatal("DEBUG on connector.a must cover its task and not connector.ab")
	}
	now = 2000
	l.SetLoggerLevel("connector.a", "DEBUG")
	if lv, _ := l.LoggerLevel("connector.a"); lv.LastModified == nil || *lv.LastModified != 1000 {
		t.Fatalf("last_modified after setting the same level = %v, want 1000", lv.LastModified)
	}
	// A logger first seen after its parent was set follows the parent.
	l.allows("connector.a.task-1", slog.LevelInfo)
	if lv, ok := l.LoggerLevel("connector.a.task-1"); !ok || lv.Level != "DEBUG" || lv.LastModified != nil {
		t.Fatalf("connector.a.task-1 = %+v %v, want DEBUG never modified", lv, ok)
	}
	if _, ok := l.LoggerLevel("connector.zz"); ok {
		t.Fatal("a logger never seen nor set is unknown")
	}
}
