package configprovider

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestFileProvider(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "secrets.properties")
	writeFile(t, path, "# database\ndb.user = alice\ndb.password:s3cr\\\n    et\nempty=\nurl=jdbc\\:postgresql://h:5432/x\n")
	p, err := NewFileProvider()
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Get(context.Background(), path, []string{"db.password", "db.user", "empty", "missing", "url"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"db.user": "alice", "db.password": "s3cret", "empty": "", "url": "jdbc:postgresql://h:5432/x"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Get (-want +got):\n%s", d)
	}

	for name, path := range map[string]string{
		"missing file":   filepath.Join(dir, "nope.properties"),
		"empty path":     "",
		"path is a dir?": dir,
	} {
		if _, err := p.Get(context.Background(), path, []string{"k"}); err == nil {
			t.Errorf("%s: Get(%q) succeeded, want an error", name, path)
		}
	}
}

func TestDirectoryProvider(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dir := filepath.Join(root, "secrets")
	writeFile(t, filepath.Join(dir, "password"), "s3cret\n") // content as is, newline included
	writeFile(t, filepath.Join(dir, ".hidden"), "dot")
	writeFile(t, filepath.Join(dir, "sub", "inner"), "not listed")
	writeFile(t, filepath.Join(root, "outside"), "outside")
	// Kubernetes secret volumes: key -> ..data/key, ..data -> ..timestamp
	writeFile(t, filepath.Join(dir, "..2024_01_01", "token"), "tok")
	if err := os.Symlink("..2024_01_01", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..data", "token"), filepath.Join(dir, "token")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("nowhere", filepath.Join(dir, "dangling")); err != nil {
		t.Fatal(err)
	}

	p, err := NewDirectoryProvider()
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Get(context.Background(), dir, []string{"../outside", ".hidden", "dangling", "missing", "password", "sub", "sub/inner", "token"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"password": "s3cret\n", ".hidden": "dot", "token": "tok"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Get (-want +got):\n%s", d)
	}

	for name, path := range map[string]string{
		"missing dir": filepath.Join(root, "nope"),
		"a file":      filepath.Join(dir, "password"),
		"empty path":  "",
	} {
		if _, err := p.Get(context.Background(), path, []string{"password"}); err == nil {
			t.Errorf("%s: Get(%q) succeeded, want an error", name, path)
		}
	}
}

// Environment tests cannot run in parallel: t.Setenv forbids it.
func TestEnvProvider(t *testing.T) {
	t.Setenv("CONNECTD_TEST_PG_PASSWORD", "pg-s3cret")
	t.Setenv("CONNECTD_TEST_AWS_KEY", "aws-s3cret")
	t.Setenv("CONNECTD_TEST_EMPTY", "")
	keys := []string{"CONNECTD_TEST_AWS_KEY", "CONNECTD_TEST_EMPTY", "CONNECTD_TEST_PG_PASSWORD", "CONNECTD_TEST_UNSET"}

	tests := map[string]struct {
		allowlist string
		want      map[string]string
	}{
		"everything": {".*", map[string]string{
			"CONNECTD_TEST_AWS_KEY": "aws-s3cret", "CONNECTD_TEST_EMPTY": "", "CONNECTD_TEST_PG_PASSWORD": "pg-s3cret"}},
		"one prefix": {"CONNECTD_TEST_PG_.*", map[string]string{"CONNECTD_TEST_PG_PASSWORD": "pg-s3cret"}},
		// Java's matches(): the whole name must match, so a bare prefix matches nothing.
		"whole name only": {"CONNECTD_TEST_PG", map[string]string{}},
		"alternation matches whole names": {"CONNECTD_TEST_AWS|CONNECTD_TEST_AWS_KEY",
			map[string]string{"CONNECTD_TEST_AWS_KEY": "aws-s3cret"}},
		"empty pattern allows nothing": {"", map[string]string{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := NewEnvProvider(tc.allowlist)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Get(context.Background(), "", keys)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("Get (-want +got):\n%s", d)
			}
		})
	}

	p, err := NewEnvProvider(".*")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Get(context.Background(), "some/path", keys); err == nil {
		t.Error("Get with a path succeeded, want an error as in Kafka")
	}
	if _, err := NewEnvProvider("(unclosed"); err == nil {
		t.Error("NewEnvProvider accepted an invalid pattern")
	}
}

func TestAllowedPaths(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	allowed := filepath.Join(root, "allowed")
	writeFile(t, filepath.Join(allowed, "ok.properties"), "k=in\n")
	writeFile(t, filepath.Join(allowed, "deeper", "ok.properties"), "k=deep\n")
	writeFile(t, filepath.Join(allowed, "dir", "k"), "in-dir")
	writeFile(t, filepath.Join(root, "allowed-old", "ok.properties"), "k=sibling\n")
	writeFile(t, filepath.Join(root, "allowed-old", "k"), "sibling")
	writeFile(t, filepath.Join(root, "outside.properties"), "k=out\n")
	writeFile(t, filepath.Join(root, "k"), "out")

	file, err := NewFileProvider(allowed)
	if err != nil {
		t.Fatal(err)
	}
	dirp, err := NewDirectoryProvider(allowed)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		p       Provider
		path    string
		want    string // the value of k, or "" when refused
		refused bool
	}{
		"file inside":                 {p: file, path: filepath.Join(allowed, "ok.properties"), want: "in"},
		"file deeper":                 {p: file, path: filepath.Join(allowed, "deeper", "ok.properties"), want: "deep"},
		"file dot-dot staying inside": {p: file, path: allowed + "/deeper/../ok.properties", want: "in"},
		"file dot-dot out":            {p: file, path: allowed + "/../outside.properties", refused: true},
		"file dot-dot out and back":   {p: file, path: allowed + "/../allowed-old/ok.properties", refused: true},
		"file many dot-dots":          {p: file, path: allowed + "/deeper/../../../../" + root + "/outside.properties", refused: true},
		"file sibling with prefix":    {p: file, path: filepath.Join(root, "allowed-old", "ok.properties"), refused: true},
		"file relative":               {p: file, path: "allowed/ok.properties", refused: true},
		"dir inside":                  {p: dirp, path: filepath.Join(allowed, "dir"), want: "in-dir"},
		"dir dot-dot out":             {p: dirp, path: allowed + "/..", refused: true},
		"dir dot-dot to sibling":      {p: dirp, path: allowed + "/dir/../../allowed-old", refused: true},
		"dir trailing slash":          {p: dirp, path: filepath.Join(allowed, "dir") + "/", want: "in-dir"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.p.Get(context.Background(), tc.path, []string{"k"})
			if tc.refused {
				if !errors.Is(err, errPathNotAllowed) {
					t.Fatalf("Get(%q) = %v, %v; want a refusal", tc.path, got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got["k"] != tc.want {
				t.Errorf("Get(%q)[k] = %q, want %q", tc.path, got["k"], tc.want)
			}
		})
	}

	for name, paths := range map[string][]string{
		"relative": {"relative/path"},
		"missing":  {filepath.Join(root, "does-not-exist")},
	} {
		if _, err := NewFileProvider(paths...); err == nil || !strings.Contains(err.Error(), paths[0]) {
			t.Errorf("%s: NewFileProvider(%q) = %v, want an error naming the path", name, paths, err)
		}
	}
}
