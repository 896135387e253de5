//go:build !nogcs && !noazblob

package blobstore_test

import (
	"context"
	"testing"

	"github.com/tabletd/tablet/backup/blobstore"
)

// The GCS and Azure drivers are wired: their URLs open (without contacting
// the service, which the first operation would do).
func TestOpenCloudDrivers(t *testing.T) {
	t.Setenv("STORAGE_EMULATOR_HOST", "127.0.0.1:1") // no credential lookup
	t.Setenv("AZURE_STORAGE_ACCOUNT", "devstoreaccount1")
	t.Setenv("AZURE_STORAGE_KEY", "Zm9vYmFy")
	for _, url := range []string{"gs://bucket", "gs://bucket/tablets", "azblob://container?localemu=true&domain=127.0.0.1:1"} {
		s, err := blobstore.Open(context.Background(), url)
		if err != nil {
			t.Errorf("Open(%s): %v", url, err)
			continue
		}
		s.Close()
	}
}
