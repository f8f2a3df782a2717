package configprovider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/connectd/connectd/internal/properties"
)

// NewFileProvider returns Kafka's FileConfigProvider: ${file:PATH:KEY} is the
// value of KEY in the Java properties file at PATH, read anew on every Get.
// With allowedPaths, only files under those absolute, existing paths can be
// read (see allowed.paths); with none, every file the worker can read.
//
// Where Kafka logs a warning and resolves nothing, this provider returns an
// error saying why: an empty path, or a path outside allowedPaths.
func NewFileProvider(allowedPaths ...string) (Provider, error) {
	a, err := newAllowedPaths(allowedPaths)
	if err != nil {
		return nil, err
	}
	return &fileProvider{allowed: a}, nil
}

// NewDirectoryProvider returns Kafka's DirectoryConfigProvider:
// ${dir:DIR:NAME} is the whole content of the regular file NAME directly in
// the directory DIR, as it is on disk (a trailing newline is kept). Symbolic
// links are followed, so Kubernetes secret volumes work. allowedPaths is as
// for NewFileProvider.
func NewDirectoryProvider(allowedPaths ...string) (Provider, error) {
	a, err := newAllowedPaths(allowedPaths)
	if err != nil {
		return nil, err
	}
	return &directoryProvider{allowed: a}, nil
}

func fileFactory(params map[string]string) (Provider, error) {
	a, err := allowedPathsParam(params)
	if err != nil {
		return nil, err
	}
	return &fileProvider{allowed: a}, nil
}

func directoryFactory(params map[string]string) (Provider, error) {
	a, err := allowedPathsParam(params)
	if err != nil {
		return nil, err
	}
	return &directoryProvider{allowed: a}, nil
}

func allowedPathsParam(params map[string]string) (allowedPaths, error) {
	for k := range params {
		if k != AllowedPathsParam {
			return allowedPaths{}, &ParamError{Param: k, Err: fmt.Errorf("unknown parameter; this provider takes only %s", AllowedPathsParam)}
		}
	}
	a, err := parseAllowedPaths(params[AllowedPathsParam])
	if err != nil {
		return a, &ParamError{Param: AllowedPathsParam, Err: err}
	}
	return a, nil
}

type fileProvider struct{ allowed allowedPaths }

func (p *fileProvider) Get(ctx context.Context, path string, keys []string) (map[string]string, error) {
	if path == "" {
		return nil, errors.New("the file provider needs a path: ${file:/path/to/file.properties:key}")
	}
	open, err := p.allowed.check(path)
	if err != nil {
		return nil, err
	}
	props, err := properties.ReadFile(open)
	if err != nil {
		return nil, fmt.Errorf("read properties: %w", err)
	}
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		if v, ok := props[k]; ok {
			out[k] = v
		}
	}
	return out, nil
}

type directoryProvider struct{ allowed allowedPaths }

func (p *directoryProvider) Get(ctx context.Context, path string, keys []string) (map[string]string, error) {
	if path == "" {
		return nil, errors.New("the directory provider needs a path: ${dir:/path/to/dir:file}")
	}
	dir, err := p.allowed.check(path)
	if err != nil {
		return nil, err
	}
	// Keys are matched against the names the directory lists, as Kafka
	// does, rather than joined onto dir: a key such as "../x" or "a/b" can
	// never reach outside the directory.
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list directory: %w", err)
	}
	want := make(map[string]bool, len(keys))
	for _, k := range keys {
		want[k] = true
	}
	out := make(map[string]string, len(keys))
	for _, e := range entries {
		name := e.Name()
		if !want[name] {
			continue
		}
		full := filepath.Join(dir, name)
		fi, err := os.Stat(full) // follows symbolic links, as Files.isRegularFile
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		b, err := os.ReadFile(full)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", full, err)
		}
		out[name] = string(b)
	}
	return out, nil
}
