package blobstore_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/tabletd/tablet/backup"
	"github.com/tabletd/tablet/backup/blobstore"
	"github.com/tabletd/tablet/backup/storagetest"
	"github.com/tabletd/tablet/testenv"
)

func TestMain(m *testing.M) {
	testenv.LeakCheckMain(m, "github.com/tabletd/tablet/backup")
}

func open(t *testing.T, url string) *blobstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := blobstore.Open(ctx, url)
	if err != nil {
		t.Fatalf("Open(%s): %v", url, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestFile(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) backup.Storage {
		return open(t, "file://"+filepath.Join(t.TempDir(), "backups"))
	})
}

// A filesystem keeps directories: deleting the last file of a backup
// removes the directories it leaves empty, up to the store's root.
func TestFileDeleteRemovesEmptyDirectories(t *testing.T) {
	root := filepath.Join(t.TempDir(), "backups")
	s := open(t, "file://"+root)
	ctx := context.Background()
	for _, k := range []string{"ks/0/a/1", "ks/0/a/2", "ks/0/b/1"} {
		if err := s.Put(ctx, k, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"ks/0/a/1", "ks/0/a/2"} {
		if err := s.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "ks", "0", "a")); !os.IsNotExist(err) {
		t.Errorf("emptied directory ks/0/a still exists: %v", err)
	}
	if err := s.Delete(ctx, "ks/0/b/1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "ks")); !os.IsNotExist(err) {
		t.Errorf("emptied directory ks still exists: %v", err)
	}
	if _, err := os.Stat(root); err != nil {
		t.Errorf("the store's root must stay: %v", err)
	}
}

// fakeS3 serves an in-process S3 (gofakes3) and returns the URL of a fresh
// bucket on it. The AWS SDK reads credentials from the environment.
func fakeS3(t *testing.T) func(t *testing.T) string {
	backend := s3mem.New()
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ACCESS_KEY_ID", "fake")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "fake-secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	var n atomic.Int32
	return func(t *testing.T) string {
		bucket := fmt.Sprintf("bucket%d", n.Add(1))
		if err := backend.CreateBucket(bucket); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("s3://%s?endpoint=%s&region=us-east-1&use_path_style=true&disable_https=true", bucket, srv.URL)
	}
}

func TestFakeS3(t *testing.T) {
	newBucket := fakeS3(t)
	storagetest.Run(t, func(t *testing.T) backup.Storage { return open(t, newBucket(t)) })
}

// A path after the bucket is a key prefix, as prefix= is.
func TestS3PathIsPrefix(t *testing.T) {
	url := fakeS3(t)(t)
	ctx := context.Background()
	prefixed := open(t, strings.Replace(url, "?", "/tablets/?", 1))
	if err := prefixed.Put(ctx, "ks/0/x", []byte("x")); err != nil {
		t.Fatal(err)
	}
	whole := open(t, url)
	got, err := whole.List(ctx, "tablets/ks/0/")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Key != "tablets/ks/0/x" {
		t.Fatalf("List of the whole bucket = %v, want tablets/ks/0/x", got)
	}
}

// The real S3 server: versitygw on loopback.
func TestVersityGW(t *testing.T) {
	s3 := testenv.StartS3(t)
	s3.SetEnv(t)
	var n atomic.Int32
	storagetest.Run(t, func(t *testing.T) backup.Storage {
		return open(t, s3.URL(fmt.Sprintf("run%d/", n.Add(1))))
	})
}

func TestOpenRefuses(t *testing.T) {
	for _, url := range []string{
		"ftp://host/dir",
		"file://host/dir",
		"://nothing",
	} {
		t.Run(url, func(t *testing.T) {
			if s, err := blobstore.Open(context.Background(), url); err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded", url)
			}
		})
	}
}
