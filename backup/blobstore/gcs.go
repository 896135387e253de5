//go:build !nogcs

package blobstore

import (
	"gocloud.dev/blob"
	"gocloud.dev/blob/gcsblob"
)

// gcsScheme is the Google Cloud Storage scheme, "gs".
const gcsScheme = gcsblob.Scheme

// gcsOpener is the GCS driver's own opener, which reads Application
// Default Credentials; importing gcsblob registered it on the default
// mux. The driver adds about 30 MB to a binary: build with -tags nogcs to
// leave it out.
func gcsOpener() blob.BucketURLOpener { return blob.DefaultURLMux() }
