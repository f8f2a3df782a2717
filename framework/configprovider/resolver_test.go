package configprovider

import (
	"context"
	"errors"
	"maps"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Not parallel: t.Setenv.
func TestResolve(t *testing.T) {
	t.Setenv("CONNECTD_TEST_PG_HOST", "db.internal")
	t.Setenv("CONNECTD_TEST_PG_PORT", "5432")
	t.Setenv("CONNECTD_TEST_EMPTY", "")
	t.Setenv("CONNECTD_TEST_NOT_ALLOWED", "nope")
	root := t.TempDir()
	props := filepath.Join(root, "etc", "pg.properties")
	writeFile(t, props, "user=alice\npassword=pg-s3cret\nloop=${env:CONNECTD_TEST_PG_HOST}\n")
	writeFile(t, filepath.Join(root, "run", "secrets", "api-key"), "key-s3cret\n")

	res, err := FromWorkerConfig(map[string]string{
		"config.providers":                             "env,file,dir",
		"config.providers.env.class":                   EnvVarConfigProviderClass,
		"config.providers.env.param.allowlist.pattern": "CONNECTD_TEST_(PG_.*|EMPTY)",
		"config.providers.file.class":                  FileConfigProviderClass,
		"config.providers.file.param.allowed.paths":    filepath.Join(root, "etc"),
		"config.providers.dir.class":                   DirectoryConfigProviderClass,
		"config.providers.dir.param.allowed.paths":     filepath.Join(root, "run"),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()

	config := map[string]string{
		"connector.class":     "postgres-cdc",
		"url":                 "jdbc:postgresql://${env:CONNECTD_TEST_PG_HOST}:${env:CONNECTD_TEST_PG_PORT}/app",
		"user":                "${file:" + props + ":user}",
		"password":            "${file:" + props + ":password}",
		"both":                "${file:" + props + ":user}/${file:" + props + ":password}",
		"api.key":             "${dir:" + filepath.Join(root, "run", "secrets") + ":api-key}",
		"empty":               "[${env:CONNECTD_TEST_EMPTY}]",
		"unknown.provider":    "${vault:secret/db:password}",
		"not.a.placeholder":   "${HOME} and $ {env:X}",
		"resolved.once":       "${file:" + props + ":loop}",
		"mixed":               "${vault:a:b}-${env:CONNECTD_TEST_PG_PORT}",
		"${env:CONNECTD_KEY}": "keys are not resolved",
	}
	before := maps.Clone(config)
	got, secrets, err := res.Resolve(context.Background(), config)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"connector.class":     "postgres-cdc",
		"url":                 "jdbc:postgresql://db.internal:5432/app",
		"user":                "alice",
		"password":            "pg-s3cret",
		"both":                "alice/pg-s3cret",
		"api.key":             "key-s3cret\n",
		"empty":               "[]",
		"unknown.provider":    "${vault:secret/db:password}",
		"not.a.placeholder":   "${HOME} and $ {env:X}",
		"resolved.once":       "${env:CONNECTD_TEST_PG_HOST}",
		"mixed":               "${vault:a:b}-5432",
		"${env:CONNECTD_KEY}": "keys are not resolved",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Resolve (-want +got):\n%s", d)
	}
	wantSecrets := []string{"${env:CONNECTD_TEST_PG_HOST}", "5432", "alice", "db.internal", "key-s3cret\n", "pg-s3cret"}
	if d := cmp.Diff(wantSecrets, secrets); d != "" {
		t.Errorf("secrets (-want +got):\n%s", d)
	}
	if d := cmp.Diff(before, config); d != "" {
		t.Errorf("Resolve modified its input (-before +after):\n%s", d)
	}

	// A variable outside the allow list is reported as not found, as Kafka
	// filters it out, without telling whether it is set.
	_, _, err = res.Resolve(context.Background(), map[string]string{"x": "${env:CONNECTD_TEST_NOT_ALLOWED}"})
	if !errors.Is(err, ErrKeyNotFound) || strings.Contains(err.Error(), "nope") {
		t.Errorf("Resolve of a variable outside the allow list: %v, want ErrKeyNotFound without the value", err)
	}
}

func TestResolveErrors(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	allowed := filepath.Join(root, "allowed")
	props := filepath.Join(allowed, "s.properties")
	writeFile(t, props, "password=top-s3cret\nother=also-s3cret\n")
	writeFile(t, filepath.Join(root, "outside.properties"), "password=outside-s3cret\n")
	res, err := FromWorkerConfig(map[string]string{
		"config.providers":                          "file,env",
		"config.providers.file.class":               "file",
		"config.providers.file.param.allowed.paths": allowed,
		"config.providers.env.class":                "env",
	})
	if err != nil {
		t.Fatal(err)
	}

	config := map[string]string{
		"ok":         "${file:" + props + ":password}",
		"typo":       "${file:" + props + ":pasword}",
		"b.escape":   "${file:" + allowed + "/../outside.properties:password}",
		"a.two.bad":  "${file:" + props + ":nope1} ${file:" + props + ":other} ${file:" + props + ":nope2}",
		"env.path":   "${env:some/path:HOME}",
		"no.path":    "${file:password}",
		"fine.plain": "plain",
	}
	got, secrets, err := res.Resolve(context.Background(), config)
	if err == nil {
		t.Fatalf("Resolve = %v, %v; want an error", got, secrets)
	}
	if got != nil || secrets != nil {
		t.Errorf("Resolve returned %v, %v with its error; want nothing", got, secrets)
	}
	for _, s := range []string{"top-s3cret", "also-s3cret", "outside-s3cret"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error shows the secret %q: %v", s, err)
		}
	}

	type item struct{ key, placeholder string }
	var items []item
	var notFound, notAllowed int
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		re, ok := errors.AsType[*ResolveError](e)
		if !ok {
			t.Fatalf("joined error %v is not a *ResolveError", e)
		}
		if !strings.Contains(re.Error(), re.ConfigKey) || !strings.Contains(re.Error(), re.Placeholder) {
			t.Errorf("%q does not name its config key and placeholder", re)
		}
		if !strings.HasPrefix(config[re.ConfigKey][strings.Index(config[re.ConfigKey], re.Placeholder):], re.Placeholder) {
			t.Errorf("placeholder %q is not in config %q", re.Placeholder, re.ConfigKey)
		}
		items = append(items, item{re.ConfigKey, re.Placeholder})
		if errors.Is(re, ErrKeyNotFound) {
			notFound++
		}
		if errors.Is(re, errPathNotAllowed) {
			notAllowed++
		}
	}
	want := []item{
		{"a.two.bad", "${file:" + props + ":nope1}"},
		{"a.two.bad", "${file:" + props + ":nope2}"},
		{"b.escape", "${file:" + allowed + "/../outside.properties:password}"},
		{"env.path", "${env:some/path:HOME}"},
		{"no.path", "${file:password}"},
		{"typo", "${file:" + props + ":pasword}"},
	}
	if d := cmp.Diff(want, items, cmp.AllowUnexported(item{})); d != "" {
		t.Errorf("errors, in order (-want +got):\n%s", d)
	}
	if notFound != 3 || notAllowed != 1 {
		t.Errorf("%d not-found and %d not-allowed errors, want 3 and 1", notFound, notAllowed)
	}
}

type recordingProvider struct {
	mu    sync.Mutex
	calls []string
}

func (p *recordingProvider) Get(_ context.Context, path string, keys []string) (map[string]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, path+"|"+strings.Join(keys, ","))
	out := map[string]string{}
	for _, k := range keys {
		out[k] = path + "." + k
	}
	return out, nil
}

func TestResolveAsksOncePerPath(t *testing.T) {
	t.Parallel()
	rec := &recordingProvider{}
	res := NewResolver(map[string]Provider{"r": rec})
	got, secrets, err := res.Resolve(context.Background(), map[string]string{
		"a": "${r:p1:k2}${r:p1:k1}",
		"b": "${r:p1:k1} ${r:p2:k} ${r:k}",
		"c": "${r::k}",
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"|k", "p1|k1,k2", "p2|k"}, rec.calls); d != "" {
		t.Errorf("calls (-want +got):\n%s", d)
	}
	want := map[string]string{"a": "p1.k2p1.k1", "b": "p1.k1 p2.k .k", "c": ".k"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Resolve (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{".k", "p1.k1", "p1.k2", "p2.k"}, secrets); d != "" {
		t.Errorf("secrets (-want +got):\n%s", d)
	}
}

func TestResolveWithoutProviders(t *testing.T) {
	t.Parallel()
	res, err := FromWorkerConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	config := map[string]string{"a": "${env:HOME}", "b": "x"}
	got, secrets, err := res.Resolve(context.Background(), config)
	if err != nil || len(secrets) != 0 {
		t.Fatalf("Resolve = %v, %v, %v", got, secrets, err)
	}
	if d := cmp.Diff(config, got); d != "" {
		t.Errorf("Resolve without providers changed the config (-want +got):\n%s", d)
	}
	if got, _, err := res.Resolve(context.Background(), nil); err != nil || got == nil || len(got) != 0 {
		t.Errorf("Resolve(nil) = %v, %v; want an empty map", got, err)
	}
}

func TestResolveCanceled(t *testing.T) {
	t.Parallel()
	rec := &recordingProvider{}
	res := NewResolver(map[string]Provider{"r": rec})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := res.Resolve(ctx, map[string]string{"a": "${r:k}"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Resolve with a canceled context = %v, want context.Canceled", err)
	}
	if len(rec.calls) != 0 {
		t.Errorf("provider called %v after cancellation", rec.calls)
	}
}

func TestReverseTransform(t *testing.T) {
	t.Parallel()
	raw := map[string]string{
		"connector.class": "postgres-cdc",
		"password":        "${file:/s.properties:pw}",
		"url":             "jdbc://${env:HOST}/db",
		"note":            "${nope}",
	}
	tasks := []map[string]string{
		{"password": "s3cret", "url": "jdbc://h/db", "task.id": "0", "note": "${nope}"},
		{"password": "s3cret", "slot": "1"},
		nil,
	}
	got := ReverseTransform(raw, tasks)
	want := []map[string]string{
		{"password": "${file:/s.properties:pw}", "url": "jdbc://${env:HOST}/db", "task.id": "0", "note": "${nope}"},
		{"password": "${file:/s.properties:pw}", "slot": "1"},
		nil,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ReverseTransform (-want +got):\n%s", d)
	}
	if tasks[0]["password"] != "s3cret" {
		t.Error("ReverseTransform modified its input")
	}
}
