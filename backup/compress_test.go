package backup

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// stripeData is n bytes that compress like a database page would: runs of
// zeros between random bytes.
func stripeData(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := 0; i < n; i += 512 {
		for j := i; j < min(i+128, n); j++ {
			b[j] = byte(r.Uint32())
		}
	}
	return b
}

func TestCodecRoundTrip(t *testing.T) {
	for _, name := range []string{CompressionZstd, CompressionGzip, CompressionNone} {
		t.Run(name, func(t *testing.T) {
			c, err := newCodec(name, 0)
			if err != nil {
				t.Fatal(err)
			}
			comp, err := c.newCompressor(2)
			if err != nil {
				t.Fatal(err)
			}
			defer comp.close()
			dec, err := c.newDecompressor(2)
			if err != nil {
				t.Fatal(err)
			}
			defer dec.close()
			var stored [][]byte
			var all []byte
			for i, n := range []int{1 << 20, 777, 0} {
				raw := stripeData(n, uint64(i))
				all = append(all, raw...)
				out, err := comp.compress(nil, raw)
				if err != nil {
					t.Fatal(err)
				}
				if name != CompressionNone && n == 1<<20 && len(out) > n/2 {
					t.Errorf("1 MiB stripe compressed to %d bytes: not compressed", len(out))
				}
				stored = append(stored, bytes.Clone(out))
				back, err := dec.decompress(nil, out, int64(n))
				if err != nil {
					t.Fatalf("stripe %d: %v", i, err)
				}
				if !bytes.Equal(back, raw) {
					t.Fatalf("stripe %d: round trip differs", i)
				}
				if _, err := dec.decompress(nil, out, int64(n)+1); err == nil {
					t.Errorf("stripe %d: decompressing to the wrong size succeeded", i)
				}
			}
			// The stored files, concatenated, are one stream of the codec.
			cat := bytes.Join(stored, nil)
			var r io.Reader = bytes.NewReader(cat)
			switch name {
			case CompressionZstd:
				d, err := zstd.NewReader(r)
				if err != nil {
					t.Fatal(err)
				}
				defer d.Close()
				r = d
			case CompressionGzip:
				if r, err = gzip.NewReader(r); err != nil {
					t.Fatal(err)
				}
			}
			got, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(got, all) {
				t.Fatalf("concatenated stripes do not decompress to the stream (err %v)", err)
			}
		})
	}
}

func TestCodecRefusesCorruptStripe(t *testing.T) {
	for _, name := range []string{CompressionZstd, CompressionGzip} {
		c, _ := newCodec(name, 0)
		comp, _ := c.newCompressor(1)
		dec, _ := c.newDecompressor(1)
		raw := stripeData(100000, 9)
		out, err := comp.compress(nil, raw)
		if err != nil {
			t.Fatal(err)
		}
		out[len(out)/2] ^= 0xff
		if _, err := dec.decompress(nil, out, int64(len(raw))); err == nil {
			t.Errorf("%s: a corrupt stripe decompressed", name)
		}
		comp.close()
		dec.close()
	}
}

func TestNewCodecUnknown(t *testing.T) {
	if _, err := newCodec("lz4", 0); err == nil {
		t.Fatal("unknown codec accepted")
	}
}
