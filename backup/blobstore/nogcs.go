//go:build nogcs

package blobstore

import "gocloud.dev/blob"

// gcsScheme is the Google Cloud Storage scheme, "gs".
const gcsScheme = "gs"

// gcsOpener is nil: this binary was built with -tags nogcs.
func gcsOpener() blob.BucketURLOpener { return nil }
