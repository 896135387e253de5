//go:build noazblob

package blobstore

import "gocloud.dev/blob"

// azureScheme is the Azure Blob Storage scheme, "azblob".
const azureScheme = "azblob"

// azureOpener is nil: this binary was built with -tags noazblob.
func azureOpener() blob.BucketURLOpener { return nil }
