package kafkalog

import (
	"context"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kgo"
)

// kgoLogger passes franz-go's log lines to slog. franz-go logs at info
// what a worker's operator rarely needs (connections opening), so its info
// lines go through only when the handler takes debug lines.
type kgoLogger struct {
	l     *slog.Logger
	level kgo.LogLevel
}

func newKgoLogger(l *slog.Logger) kgoLogger {
	level := kgo.LogLevelWarn
	if l.Enabled(context.Background(), slog.LevelDebug) {
		level = kgo.LogLevelInfo
	}
	return kgoLogger{l: l, level: level}
}

func (k kgoLogger) Level() kgo.LogLevel { return k.level }

func (k kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	var sl slog.Level
	switch level {
	case kgo.LogLevelError:
		sl = slog.LevelError
	case kgo.LogLevelWarn:
		sl = slog.LevelWarn
	case kgo.LogLevelInfo:
		sl = slog.LevelInfo
	default:
		sl = slog.LevelDebug
	}
	k.l.Log(context.Background(), sl, "kafka client: "+msg, keyvals...)
}
