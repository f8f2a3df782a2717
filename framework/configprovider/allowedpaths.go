package configprovider

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// errPathNotAllowed is why a file or directory provider refuses a path.
var errPathNotAllowed = errors.New("path is outside the provider's allowed.paths")

// allowedPaths is Kafka's AllowedPaths (KIP-993): a list of absolute,
// existing paths that a provider may read under. The check is lexical, as
// Kafka's: the requested path is cleaned (".." and "." resolved without
// touching the file system) and must equal an allowed path or lie below one,
// compared by whole path elements, so /etc/secrets-old is not under
// /etc/secrets. Symbolic links are followed when the file is read, as in
// Kafka; whoever can create links on the worker's disk is trusted.
type allowedPaths struct {
	dirs []string // nil: every path is allowed
}

// parseAllowedPaths reads the allowed.paths parameter: comma separated,
// each absolute and existing. Unlike Kafka, spaces around a path and empty
// entries are ignored rather than refused.
func parseAllowedPaths(value string) (allowedPaths, error) {
	return newAllowedPaths(strings.Split(value, ","))
}

func newAllowedPaths(paths []string) (allowedPaths, error) {
	var a allowedPaths
	for _, p := range paths {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		clean := filepath.Clean(p)
		if !filepath.IsAbs(clean) {
			return a, fmt.Errorf("path %q is not absolute", p)
		}
		if _, err := os.Stat(clean); err != nil {
			return a, fmt.Errorf("path %q does not exist or cannot be read: %w", p, err)
		}
		a.dirs = append(a.dirs, clean)
	}
	return a, nil
}

// check returns the path to open: path cleaned when allowed.paths is set
// (so that what was checked is what is read), path as given otherwise.
func (a allowedPaths) check(path string) (string, error) {
	if a.dirs == nil {
		return path, nil
	}
	clean := filepath.Clean(path)
	for _, d := range a.dirs {
		if within(clean, d) {
			return clean, nil
		}
	}
	return "", fmt.Errorf("%q: %w", path, errPathNotAllowed)
}

// within reports whether the clean path p is dir or below it, element-wise.
func within(p, dir string) bool {
	if p == dir {
		return true
	}
	if !strings.HasSuffix(dir, string(filepath.Separator)) {
		dir += string(filepath.Separator)
	}
	return strings.HasPrefix(p, dir)
}
