//go:build !noazblob

package blobstore

import (
	"gocloud.dev/blob"
	"gocloud.dev/blob/azureblob"
)

// azureScheme is the Azure Blob Storage scheme, "azblob".
const azureScheme = azureblob.Scheme

// azureOpener is the Azure driver's own opener, which reads
// AZURE_STORAGE_ACCOUNT and the key, SAS token or identity beside it;
// importing azureblob registered it on the default mux. Build with -tags
// noazblob to leave the driver (about 5 MB) out.
func azureOpener() blob.BucketURLOpener { return blob.DefaultURLMux() }
