package testenv

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The S3 server answers on its port, stops (requests fail) and starts
// again on the same port and data.
func TestS3StopStart(t *testing.T) {
	s := StartS3(t)
	client := &http.Client{Timeout: 5 * time.Second}
	get := func() error {
		resp, err := client.Get(s.Endpoint() + "/" + s.Bucket())
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden { // unsigned: refused, but served
			t.Errorf("unsigned GET answered %s, want 403", resp.Status)
		}
		return nil
	}
	if err := get(); err != nil {
		t.Fatalf("S3 server does not answer: %v", err)
	}
	if st, err := os.Stat(filepath.Join(s.Dir(), s.Bucket())); err != nil || !st.IsDir() {
		t.Fatalf("bucket directory: %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := get(); err == nil {
		t.Fatal("the stopped server still answers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if err := get(); err != nil {
		t.Fatalf("the restarted server does not answer: %v", err)
	}
	if err := s.Start(ctx); err == nil {
		t.Error("starting a running server succeeded")
	}
	s.Kill()
	if err := get(); err == nil {
		t.Fatal("the killed server still answers")
	}
	if err := s.Start(ctx); err != nil {
		t.Fatalf("start after a kill: %v", err)
	}
}
