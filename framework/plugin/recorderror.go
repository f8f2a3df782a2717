package plugin

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
)

// javaExceptioner is implemented by errors that know the Java exception
// Kafka Connect raises for the same failure (the built-in transforms'
// errors do), so the dead letter queue's headers read as Kafka Connect's.
type javaExceptioner interface {
	ExceptionClass() string
}

// exceptionClass names err's kind for __connect.errors.exception.class.name.
func exceptionClass(err error) string {
	var je javaExceptioner
	if errors.As(err, &je) {
		if c := je.ExceptionClass(); c != "" {
			return c
		}
	}
	return fmt.Sprintf("%T", innermost(err))
}

// exceptionMessage is the message for __connect.errors.exception.message:
// for an error that names its Java exception, the message of the error it
// wraps (the exception's own message, without the wrapper's prefix);
// otherwise the whole message.
func exceptionMessage(err error) string {
	var je javaExceptioner
	if errors.As(err, &je) && je.ExceptionClass() != "" {
		if u, ok := je.(interface{ Unwrap() error }); ok && u.Unwrap() != nil {
			return u.Unwrap().Error()
		}
	}
	return err.Error()
}

// innermost follows Unwrap (the first error of a joined one) to the end.
func innermost(err error) error {
	for {
		var next error
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			next = u.Unwrap()
		case interface{ Unwrap() []error }:
			if es := u.Unwrap(); len(es) > 0 {
				next = es[0]
			}
		}
		if next == nil {
			return err
		}
		err = next
	}
}

// maxTraceFrames bounds the stack part of a trace.
const maxTraceFrames = 32

// goTrace renders err as a Java stack trace reads: the error with its type,
// one "Caused by:" line per error it wraps, then the frames of the calling
// goroutine (skip frames left out, counted as runtime.Callers counts).
func goTrace(err error, skip int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", exceptionClass(err), err.Error())
	for cur := err; ; {
		u, ok := cur.(interface{ Unwrap() error })
		if !ok || u.Unwrap() == nil {
			break
		}
		cur = u.Unwrap()
		fmt.Fprintf(&b, "\nCaused by: %T: %s", cur, cur.Error())
	}
	pcs := make([]uintptr, maxTraceFrames)
	n := runtime.Callers(skip, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		fmt.Fprintf(&b, "\n\tat %s(%s:%d)", f.Function, shortFile(f.File), f.Line)
		if !more {
			break
		}
	}
	return b.String()
}

// shortFile keeps the last two elements of a source path: package and file.
func shortFile(path string) string {
	i := strings.LastIndexByte(path, '/')
	if i <= 0 {
		return path
	}
	if j := strings.LastIndexByte(path[:i], '/'); j >= 0 {
		return path[j+1:]
	}
	return path
}
