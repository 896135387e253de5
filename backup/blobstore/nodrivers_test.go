//go:build nogcs && noazblob

package blobstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tabletd/tablet/backup/blobstore"
)

// Built without the GCS and Azure drivers, their URLs are refused with a
// message that says why.
func TestOpenWithoutCloudDrivers(t *testing.T) {
	for _, url := range []string{"gs://bucket", "azblob://container"} {
		s, err := blobstore.Open(context.Background(), url)
		if err == nil {
			s.Close()
			t.Fatalf("Open(%s) succeeded", url)
		}
		if !strings.Contains(err.Error(), "built without") {
			t.Errorf("Open(%s): %v, want it to say the driver was left out", url, err)
		}
	}
}
