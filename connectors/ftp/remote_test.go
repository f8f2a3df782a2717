package ftp

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"
)

// TestModTimes asks the times of more files than one pipelined batch
// holds, a missing one among them, and checks every answer against its
// file, and that the control connection answers the next commands in
// step.
func TestModTimes(t *testing.T) {
	kinds := []string{"vsftpd", "vsftpd-ftps", "proftpd", implicitFTPS, "sshd-password"}
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, kind)
			const n = 2*mdtmBatch + 7
			var ps []string
			want := map[string]time.Time{}
			for i := range n {
				p := fmt.Sprintf("/times/f%03d.txt", i)
				mt := fixedTime.Add(time.Duration(i) * time.Second)
				s.write(t, p, []byte("x\n"), mt)
				want[p] = mt
				ps = append(ps, p)
				if i == mdtmBatch-1 {
					ps = append(ps, "/times/missing.txt")
				}
			}
			cfg, err := parseConfig(s.config(InputPathKey, "/times"))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			r, err := dial(ctx, cfg, slog.Default())
			if err != nil {
				t.Fatal(err)
			}
			defer r.close()
			ts, errs, err := r.modTimes(ctx, ps)
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range ps {
				mt, ok := want[p]
				switch {
				case !ok && !isFileError(errs[i]):
					t.Errorf("%s: want a file error, got %v", p, errs[i])
				case ok && (errs[i] != nil || !ts[i].Equal(mt)):
					t.Errorf("%s: got %v, %v; want %v", p, ts[i], errs[i], mt)
				}
			}
			// The connection is in step: a command and a transfer after.
			if mt, err := r.modTime(ctx, ps[0]); err != nil || !mt.Equal(fixedTime) {
				t.Errorf("MDTM after the pipeline: %v, %v", mt, err)
			}
			rc, _, err := r.open(ctx, ps[1], 0, 2)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(io.LimitReader(rc, 2))
			if cerr := rc.Close(); err != nil || cerr != nil || string(b) != "x\n" {
				t.Errorf("download after the pipeline: %q, %v, %v", b, err, cerr)
			}
		})
	}
}
