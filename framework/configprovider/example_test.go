package configprovider_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/connectd/connectd/framework/configprovider"
)

func ExampleFromWorkerConfig() {
	dir, err := os.MkdirTemp("", "secrets")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	secrets := filepath.Join(dir, "pg.properties")
	if err := os.WriteFile(secrets, []byte("user=alice\npassword=s3cret\n"), 0o600); err != nil {
		fmt.Println(err)
		return
	}

	// The worker config, as Kafka Connect writes it.
	res, err := configprovider.FromWorkerConfig(map[string]string{
		"config.providers":                          "file",
		"config.providers.file.class":               "org.apache.kafka.common.config.provider.FileConfigProvider",
		"config.providers.file.param.allowed.paths": dir,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer res.Close()

	// A connector config, resolved just before the connector starts.
	resolved, found, err := res.Resolve(context.Background(), map[string]string{
		"connection.url": "postgres://${file:" + secrets + ":user}:${file:" + secrets + ":password}@db/app",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resolved["connection.url"])
	fmt.Println(len(found), "values to hide in logs")

	// A key the file does not hold fails with an error naming the config key.
	_, _, err = res.Resolve(context.Background(), map[string]string{"connection.password": "${file:" + secrets + ":pasword}"})
	var re *configprovider.ResolveError
	if errors.As(err, &re) {
		fmt.Println(re.ConfigKey, errors.Is(err, configprovider.ErrKeyNotFound))
	}
	// Output:
	// postgres://alice:s3cret@db/app
	// 2 values to hide in logs
	// connection.password true
}

func ExampleNewRedactingHandler() {
	red := &configprovider.Redactor{}
	noTime := &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}
	logger := slog.New(configprovider.NewRedactingHandler(slog.NewJSONHandler(os.Stdout, noTime), red))

	// After Resolve, the worker adds what it substituted.
	red.Add("s3cret")
	logger.Error("connect failed", "connector", "pg", "err", errors.New(`password "s3cret" rejected`))
	// Output:
	// {"level":"ERROR","msg":"connect failed","connector":"pg","err":"password \"[hidden]\" rejected"}
}

func ExampleFindPlaceholders() {
	for _, p := range configprovider.FindPlaceholders("jdbc:postgresql://${env:PG_HOST}/${file:/etc/pg.properties:db}") {
		fmt.Printf("provider=%s path=%q key=%s\n", p.Provider, p.Path, p.Key)
	}
	// Output:
	// provider=env path="" key=PG_HOST
	// provider=file path="/etc/pg.properties" key=db
}

func ExampleReverseTransform() {
	raw := map[string]string{"password": "${env:PG_PASSWORD}", "tables": "a,b"}
	// Task configs a connector made from its resolved config.
	tasks := []map[string]string{
		{"password": "s3cret", "tables": "a"},
		{"password": "s3cret", "tables": "b"},
	}
	for _, tc := range configprovider.ReverseTransform(raw, tasks) {
		fmt.Println(tc["password"], tc["tables"])
	}
	// Output:
	// ${env:PG_PASSWORD} a
	// ${env:PG_PASSWORD} b
}

func ExampleRegistry_Register() {
	reg := configprovider.NewRegistry()
	err := reg.Register("com.example.StaticConfigProvider", func(params map[string]string) (configprovider.Provider, error) {
		return staticProvider(params), nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := reg.FromWorkerConfig(map[string]string{
		"config.providers":                   "static",
		"config.providers.static.class":      "com.example.StaticConfigProvider",
		"config.providers.static.param.user": "alice",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	resolved, _, err := res.Resolve(context.Background(), map[string]string{"user": "${static:user}"})
	fmt.Println(resolved["user"], err)
	// Output:
	// alice <nil>
}

// staticProvider serves its own parameters, whatever the path.
type staticProvider map[string]string

func (p staticProvider) Get(_ context.Context, _ string, keys []string) (map[string]string, error) {
	out := map[string]string{}
	for _, k := range keys {
		if v, ok := p[k]; ok {
			out[k] = v
		}
	}
	return out, nil
}
