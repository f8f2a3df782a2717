package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectd/connectd/framework/herder"
)

func TestErrorFor(t *testing.T) {
	t.Parallel()
	infos := herder.ConfigInfos{Name: "datagen", ErrorCount: 1, Configs: []herder.ConfigInfo{
		{Value: herder.ConfigValueInfo{Name: "topic", Errors: []string{"Missing topic"}}},
	}}
	tests := map[string]struct {
		err     error
		subject string
		want    APIError
	}{
		"request error": {
			err:  &herder.RequestError{Status: 403, Message: "Topic tracking is disabled."},
			want: APIError{Code: 403, Message: "Topic tracking is disabled."},
		},
		"request error wrapped": {
			err:     fmt.Errorf("cluster: forward: %w", herder.NotFound("Connector x not found")),
			subject: "Connector y",
			want:    APIError{Code: 404, Message: "Connector x not found"},
		},
		"request error without a status": {
			err:  &herder.RequestError{Message: "odd"},
			want: APIError{Code: 500, Message: "odd"},
		},
		"validation error": {
			err: fmt.Errorf("put: %w", &herder.ValidationError{Infos: infos}),
			want: APIError{Code: 400, Message: "Connector configuration is invalid and contains the following 1 error(s):\nMissing topic\n" +
				"You can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`"},
		},
		"not found with subject": {
			err: fmt.Errorf("config log: %w", herder.ErrNotFound), subject: "Connector x",
			want: APIError{Code: 404, Message: "Connector x not found"},
		},
		"not found without subject": {
			err:  fmt.Errorf("plugins: %w", herder.ErrNotFound),
			want: APIError{Code: 404, Message: "plugins: not found"},
		},
		"already exists": {
			err: herder.ErrAlreadyExists, subject: "Connector x",
			want: APIError{Code: 409, Message: "Connector x already exists"},
		},
		"rebalancing": {
			err: fmt.Errorf("cluster: %w", herder.ErrRebalancing), subject: "Connector x",
			want: APIError{Code: 409, Message: "Cannot complete request because of a conflicting operation (e.g. worker rebalance)"},
		},
		"timeout": {
			err:  fmt.Errorf("cluster: wait for leader: %w", context.DeadlineExceeded),
			want: APIError{Code: 500, Message: "Request timed out"},
		},
		"body too large": {
			err:  &http.MaxBytesError{Limit: 10},
			want: APIError{Code: 413, Message: "Request body is larger than the limit of 10 bytes"},
		},
		"anything else": {
			err:  errors.New("offsets: read: EOF"),
			want: APIError{Code: 500, Message: "offsets: read: EOF"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if d := cmp.Diff(&tt.want, errorFor(tt.err, tt.subject)); d != "" {
				t.Errorf("errorFor mismatch (-want +got):\n%s", d)
			}
		})
	}
}

func TestDecodeConfig(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in      string
		want    map[string]string
		wantErr string
	}{
		"strings":         {in: `{"a":"1","b":""}`, want: map[string]string{"a": "1", "b": ""}},
		"escapes":         {in: `{"a":"x\"\u00e9\n"}`, want: map[string]string{"a": "x\"é\n"}},
		"number text":     {in: `{"a":1,"b":-2.50e3,"c":0}`, want: map[string]string{"a": "1", "b": "-2.50e3", "c": "0"}},
		"booleans":        {in: `{"a":true,"b":false}`, want: map[string]string{"a": "true", "b": "false"}},
		"empty":           {in: `{}`, want: map[string]string{}},
		"null value":      {in: `{"a":null}`, wantErr: `Config values must be strings: "a" is null`},
		"nested":          {in: `{"b":{},"a":[]}`, wantErr: `Config values must be strings: "a" is an array, "b" is an object`},
		"not an object":   {in: `true`, wantErr: `Request body must be a JSON object of strings, not a boolean`},
		"number as whole": {in: `12`, wantErr: `Request body must be a JSON object of strings, not a number`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeConfig([]byte(tt.in), "Request body")
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("decodeConfig(%s) error = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("decodeConfig(%s): %v", tt.in, err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("decodeConfig(%s) mismatch (-want +got):\n%s", tt.in, d)
			}
		})
	}
}

// FuzzParseCreateRequest checks that no body makes the parser panic, and
// that an accepted request has a valid name that its config agrees with.
func FuzzParseCreateRequest(f *testing.F) {
	for _, s := range []string{
		`{"name":"a","config":{"connector.class":"datagen"}}`,
		`{"config":{"name":" a "}}`,
		`{"name":" a","config":{"name":"a","n":1,"b":true},"initial_state":"paused"}`,
		`{"name":"a\u0000","config":{}}`,
		`{"name":5}`, `[]`, `null`, ``, `{"config":null}`, `{"name":"x","config":{"k":[]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		name, config, state, err := parseCreateRequest(body)
		if err != nil {
			var re *herder.RequestError
			if !errors.As(err, &re) || re.Status != http.StatusBadRequest {
				t.Fatalf("error %v is not a 400 RequestError", err)
			}
			return
		}
		if validateName(name) != nil {
			t.Fatalf("accepted invalid name %q", name)
		}
		if config[nameConfig] != name {
			t.Fatalf("config name %q, connector name %q", config[nameConfig], name)
		}
		switch state {
		case herder.TargetStarted, herder.TargetPaused, herder.TargetStopped:
		default:
			t.Fatalf("state %q", state)
		}
	})
}

// FuzzParseConfig checks that every body either decodes or is a 400.
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, `{"a":1}`, `{"a":null}`, `[]`, `{`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, err := parseConfig(body)
		var re *herder.RequestError
		if err != nil && (!errors.As(err, &re) || re.Status != http.StatusBadRequest) {
			t.Fatalf("error %v is not a 400 RequestError", err)
		}
	})
}
