package runtime

import (
	"context"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/connectd/connectd/framework/herder"
)

// LogLevels holds a worker's log levels, which Kafka Connect's
// /admin/loggers endpoints read and change at runtime (herder.LoggerAdmin).
//
// connectd logs with log/slog, not with named loggers, so names are made
// from the attributes its records carry:
//
//	root                      every record
//	connector.<c>             records of connector c (attribute connector=c)
//	connector.<c>.task-<n>    records of its task n (attributes connector, task)
//
// A level set on a name applies to it and to every name under it (a name
// that begins with it followed by "."), as log4j's do in Kafka Connect. A
// record is logged when its level is at least its logger's: the level set
// on that logger or else on its nearest ancestor, or else the root's.
//
// Kafka Connect's levels map onto slog's: TRACE is slog.LevelDebug-4,
// DEBUG slog.LevelDebug, INFO slog.LevelInfo, WARN slog.LevelWarn, ERROR
// slog.LevelError, FATAL slog.LevelError+4 (connectd logs nothing above
// ERROR, so FATAL silences a logger but for nothing), ALL lets everything
// through and OFF nothing.
type LogLevels struct {
	now func() time.Time

	mu       sync.RWMutex
	levels   map[string]string // name → Kafka level, root always present
	modified map[string]int64  // name → when set through SetLoggerLevel, ms
	known    map[string]bool   // names records have been logged under
	floor    atomic.Int64      // the lowest slog level any logger lets through
}

var _ herder.LoggerAdmin = (*LogLevels)(nil)

// slogLevels maps Kafka Connect's level names onto slog levels.
var slogLevels = map[string]slog.Level{
	"ALL":   math.MinInt32,
	"TRACE": slog.LevelDebug - 4,
	"DEBUG": slog.LevelDebug,
	"INFO":  slog.LevelInfo,
	"WARN":  slog.LevelWarn,
	"ERROR": slog.LevelError,
	"FATAL": slog.LevelError + 4,
	"OFF":   math.MaxInt32,
}

// KafkaLevel names a slog level as Kafka Connect would: the most severe
// of its levels that still lets records at l through.
func KafkaLevel(l slog.Level) string {
	best, bestLevel := "ALL", slog.Level(math.MinInt32)
	for name, sl := range slogLevels {
		if sl <= l && sl > bestLevel {
			best, bestLevel = name, sl
		}
	}
	return best
}

// NewLogLevels returns levels with only the root logger's set, to root.
func NewLogLevels(root slog.Level) *LogLevels {
	l := &LogLevels{
		now:      time.Now,
		levels:   map[string]string{herder.RootLogger: KafkaLevel(root)},
		modified: map[string]int64{},
		known:    map[string]bool{},
	}
	l.updateFloor()
	return l
}

// Handler returns a handler that passes on to next the records their
// logger's level lets through. next should let every level through
// (slog.HandlerOptions.Level = slog.Level(math.MinInt32)): the levels here
// decide.
func (l *LogLevels) Handler(next slog.Handler) slog.Handler {
	return &levelHandler{levels: l, next: next}
}

// updateFloor recomputes the lowest level any logger lets through.
// Callers hold mu for writing (or are the constructor).
func (l *LogLevels) updateFloor() {
	floor := slog.Level(math.MaxInt32)
	for _, name := range l.levels {
		floor = min(floor, slogLevels[name])
	}
	l.floor.Store(int64(floor))
}

// under reports whether logger name falls under namespace ns.
func under(name, ns string) bool {
	return ns == herder.RootLogger || name == ns || strings.HasPrefix(name, ns+".")
}

// effective returns the level name applies: its own, else its nearest
// ancestor's, else the root's. Callers hold mu.
func (l *LogLevels) effective(name string) string {
	if lv, ok := l.levels[name]; ok {
		return lv
	}
	best, bestLen := l.levels[herder.RootLogger], -1
	for ns, lv := range l.levels {
		if ns != herder.RootLogger && len(ns) > bestLen && strings.HasPrefix(name, ns+".") {
			best, bestLen = lv, len(ns)
		}
	}
	return best
}

func (l *LogLevels) level(name string) herder.LoggerLevel {
	out := herder.LoggerLevel{Level: l.effective(name)}
	if t, ok := l.modified[name]; ok {
		out.LastModified = &t
	}
	return out
}

// LoggerLevels implements herder.LoggerAdmin.
func (l *LogLevels) LoggerLevels() map[string]herder.LoggerLevel {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make(map[string]herder.LoggerLevel, len(l.levels))
	for name := range l.levels {
		out[name] = l.level(name)
	}
	return out
}

// LoggerLevel implements herder.LoggerAdmin. A logger is known once a
// record was logged under it or a level was set on it; "root" is matched
// in any case, as log4j matches it.
func (l *LogLevels) LoggerLevel(name string) (herder.LoggerLevel, bool) {
	if strings.EqualFold(name, herder.RootLogger) {
		name = herder.RootLogger
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	_, set := l.levels[name]
	if !set && !l.known[name] {
		return herder.LoggerLevel{}, false
	}
	return l.level(name), true
}

// SetLoggerLevel implements herder.LoggerAdmin. level must be one of
// herder.LogLevelNames (the REST API checks it).
func (l *LogLevels) SetLoggerLevel(namespace, level string) []string {
	if strings.EqualFold(namespace, herder.RootLogger) {
		namespace = herder.RootLogger
	}
	if _, ok := slogLevels[level]; !ok {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	targets := map[string]bool{namespace: true}
	for name := range l.known {
		if under(name, namespace) {
			targets[name] = true
		}
	}
	for name := range l.levels {
		if under(name, namespace) {
			targets[name] = true
		}
	}
	now := l.now().UnixMilli()
	for name := range targets {
		// As log4j in Kafka Connect: a logger already at the level keeps its
		// time of last change, but is still named as affected.
		if l.effective(name) == level {
			if _, set := l.levels[name]; set {
				continue
			}
		}
		l.levels[name] = level
		l.modified[name] = now
	}
	l.updateFloor()
	return slices.Sorted(maps.Keys(targets))
}

// allows reports whether a record at lv under logger name is logged, and
// remembers the name.
func (l *LogLevels) allows(name string, lv slog.Level) bool {
	l.mu.RLock()
	known := l.known[name]
	ok := lv >= slogLevels[l.effective(name)]
	l.mu.RUnlock()
	if !known {
		l.mu.Lock()
		l.known[name] = true
		l.mu.Unlock()
	}
	return ok
}

// levelHandler filters records by their logger's level. It learns the
// logger's name from the connector and task attributes bound to it or
// carried by the record.
type levelHandler struct {
	levels    *LogLevels
	next      slog.Handler
	connector string
	task      string
	grouped   bool // attributes bound from here on are inside a group
}

func (h *levelHandler) Enabled(ctx context.Context, lv slog.Level) bool {
	return int64(lv) >= h.levels.floor.Load() && h.next.Enabled(ctx, lv)
}

func (h *levelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	if !h.grouped {
		for _, a := range attrs {
			c.note(a)
		}
	}
	c.next = h.next.WithAttrs(attrs)
	return &c
}

func (h *levelHandler) WithGroup(name string) slog.Handler {
	c := *h
	if name != "" {
		c.grouped = true
	}
	c.next = h.next.WithGroup(name)
	return &c
}

// note takes the logger's name parts from an attribute.
func (h *levelHandler) note(a slog.Attr) {
	switch a.Key {
	case "connector":
		h.connector = a.Value.Resolve().String()
	case "task":
		h.task = a.Value.Resolve().String()
	}
}

func (h *levelHandler) Handle(ctx context.Context, r slog.Record) error {
	named := *h
	if !h.grouped && (h.connector == "" || h.task == "") {
		r.Attrs(func(a slog.Attr) bool {
			if (a.Key == "connector" && h.connector == "") || (a.Key == "task" && h.task == "") {
				named.note(a)
			}
			return true
		})
	}
	name := herder.RootLogger
	if named.connector != "" {
		name = "connector." + named.connector
		if named.task != "" {
			name += ".task-" + named.task
		}
	}
	if !h.levels.allows(name, r.Level) {
		return nil
	}
	return h.next.Handle(ctx, r)
}

// LevelsOf returns the LogLevels whose Handler made h, or nil when
// LogLevels did not make it: how a worker's REST API finds the levels
// of the logger it was given.
func LevelsOf(h slog.Handler) *LogLevels {
	if lh, ok := h.(*levelHandler); ok {
		return lh.levels
	}
	return nil
}
