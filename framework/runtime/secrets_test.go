package runtime

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connectd/connectd/framework/herder"
)

// TestSecretsResolvedOnlyForThePlugin: a connector config with ${file:...}
// placeholders runs with the resolved values, while the herder (and so the
// REST API) shows the placeholders, and no log line, status trace or
// validate response shows a resolved value.
func TestSecretsResolvedOnlyForThePlugin(t *testing.T) {
	for _, iso := range isolationModes {
		t.Run(iso, func(t *testing.T) {
			dir := t.TempDir()
			secrets := filepath.Join(dir, "secrets.properties")
			const topic, badCount, badDir = "topic-s3cr3t-Qx7", "count-s3cr3t-Zp9", "/nonexistent-s3cr3t-Wk4"
			if err := os.WriteFile(secrets, []byte("topic="+topic+"\nbadcount="+badCount+"\nbadfile="+badDir+"/out.txt\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			e, logs := newLoggedEnv(t, iso, map[string]string{
				"config.providers":            "file",
				"config.providers.file.class": "org.apache.kafka.common.config.provider.FileConfigProvider",
			})
			ctx := context.Background()
			topicRef := "${file:" + secrets + ":topic}"
			countRef := "${file:" + secrets + ":badcount}"
			fileRef := "${file:" + secrets + ":badfile}"

			// A connector whose topic is a secret: it runs with the value.
			e.put("good", map[string]string{"connector.class": "counter", "topic": topicRef, "count": "20"})
			if got := e.readTopic(topic, 20); len(got) != 20 {
				t.Fatalf("the resolved topic holds %d records, want 20", len(got))
			}
			// A sink whose file is a secret path that cannot be written:
			// its task fails with an error that would echo it.
			e.produceRaw("in", []string{"a", "b"})
			e.put("bad", map[string]string{"connector.class": "collect", "topics": "in", "file": fileRef})
			st := e.waitTaskState("bad", 0, herder.Failed, "flush")

			var shown []string
			for _, name := range []string{"good", "bad"} {
				info, err := e.h.ConnectorInfo(ctx, name)
				if err != nil {
					t.Fatal(err)
				}
				tasks, err := e.h.TaskConfigs(ctx, name)
				if err != nil {
					t.Fatal(err)
				}
				status, err := e.h.ConnectorStatus(ctx, name)
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range []any{info, tasks, status} {
					b, _ := json.Marshal(v)
					shown = append(shown, string(b))
				}
				if len(tasks) != 1 {
					t.Fatalf("%s has %d task configs", name, len(tasks))
				}
			}
			goodCfg, _ := e.h.ConnectorConfig(ctx, "good")
			goodTasks, _ := e.h.TaskConfigs(ctx, "good")
			if goodCfg["topic"] != topicRef || goodTasks[0].Config["topic"] != topicRef {
				t.Errorf("stored topic %q, task config topic %q; want the placeholder %q", goodCfg["topic"], goodTasks[0].Config["topic"], topicRef)
			}
			infos, err := e.h.Validate(ctx, "counter", map[string]string{"connector.class": "counter", "name": "v", "topic": topicRef, "count": countRef})
			if err != nil {
				t.Fatal(err)
			}
			if c, _ := findConfig(infos, "topic"); c.Value.Value == nil || *c.Value.Value != topicRef {
				t.Errorf("validate shows topic %v, want the placeholder", c.Value.Value)
			}
			if !hasError(infos, "count", "Invalid value [hidden] for configuration count") {
				t.Errorf("validate's error on count: %v", errorsOf(infos))
			}
			b, _ := json.Marshal(infos)
			shown = append(shown, string(b), st.Trace, logs.String())
			if !strings.Contains(st.Trace, "[hidden]") {
				t.Errorf("the failed task's trace does not show where the secret was hidden:\n%s", st.Trace)
			}
			for _, text := range shown {
				for _, secret := range []string{topic, badCount, badDir} {
					if strings.Contains(text, secret) {
						t.Fatalf("%q shown in:\n%s", secret, tail(text, 2000))
					}
				}
			}
		})
	}
}
