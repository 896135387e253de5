package backup

import (
	"bytes"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// codec compresses and decompresses whole stripes. Each stripe becomes an
// independent zstd frame or gzip member, so stripes are compressed and
// decompressed in parallel, and the stored files, concatenated in order,
// are one valid .zst or .gz stream (`cat backup.xbstream.* | zstd -d`
// gives the tool's stream back).
type codec struct {
	name  string
	ext   string
	level int
}

// newCodec returns the codec called name at level (0 for its default).
func newCodec(name string, level int) (codec, error) {
	switch name {
	case CompressionZstd:
		if level == 0 {
			level = 3
		}
		return codec{name: name, ext: ".zst", level: level}, nil
	case CompressionGzip:
		if level == 0 {
			level = 6
		}
		return codec{name: name, ext: ".gz", level: level}, nil
	case CompressionNone:
		return codec{name: name}, nil
	}
	return codec{}, fmt.Errorf("unknown compression %q", name)
}

// compressor compresses stripes; it is safe for concurrent use by at most
// the concurrency it was made for.
type compressor interface {
	// compress returns src compressed, appended to dst[:0]; the result may
	// be src itself.
	compress(dst, src []byte) ([]byte, error)
	// close releases the compressor's resources.
	close()
}

// decompressor is the reverse of compressor.
type decompressor interface {
	// decompress returns src decompressed, appended to dst[:0]. rawSize
	// is the size the stripe must decompress to; anything else is an
	// error. The result may be src itself.
	decompress(dst, src []byte, rawSize int64) ([]byte, error)
	close()
}

// newCompressor returns a compressor for concurrency goroutines.
func (c codec) newCompressor(concurrency int) (compressor, error) {
	switch c.name {
	case CompressionZstd:
		enc, err := zstd.NewWriter(nil,
			zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(c.level)),
			zstd.WithEncoderConcurrency(concurrency))
		if err != nil {
			return nil, fmt.Errorf("zstd encoder: %w", err)
		}
		return zstdCompressor{enc}, nil
	case CompressionGzip:
		return gzipCompressor{level: c.level}, nil
	}
	return identity{}, nil
}

// newDecompressor returns a decompressor for concurrency goroutines.
func (c codec) newDecompressor(concurrency int) (decompressor, error) {
	switch c.name {
	case CompressionZstd:
		dec, err := zstd.NewReader(nil,
			zstd.WithDecoderConcurrency(concurrency),
			zstd.WithDecoderMaxMemory(2<<30)) // stripes are at most 1 GiB
		if err != nil {
			return nil, fmt.Errorf("zstd decoder: %w", err)
		}
		return zstdDecompressor{dec}, nil
	case CompressionGzip:
		return gzipDecompressor{}, nil
	}
	return identity{}, nil
}

type zstdCompressor struct{ enc *zstd.Encoder }

func (z zstdCompressor) compress(dst, src []byte) ([]byte, error) {
	return z.enc.EncodeAll(src, dst[:0]), nil
}

func (z zstdCompressor) close() { z.enc.Close() }

type zstdDecompressor struct{ dec *zstd.Decoder }

func (z zstdDecompressor) decompress(dst, src []byte, rawSize int64) ([]byte, error) {
	if int64(cap(dst)) < rawSize {
		dst = make([]byte, 0, rawSize)
	}
	out, err := z.dec.DecodeAll(src, dst[:0])
	if err != nil {
		return nil, fmt.Errorf("zstd: %w", err)
	}
	if int64(len(out)) != rawSize {
		return nil, fmt.Errorf("zstd: decompressed to %d bytes, want %d", len(out), rawSize)
	}
	return out, nil
}

func (z zstdDecompressor) close() { z.dec.Close() }

// gzipCompressor makes a gzip writer per call: its state is small next to
// a stripe, and a pool would only save an allocation per stripe.
type gzipCompressor struct{ level int }

func (g gzipCompressor) compress(dst, src []byte) ([]byte, error) {
	buf := bytes.NewBuffer(dst[:0])
	w, err := gzip.NewWriterLevel(buf, g.level)
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if _, err := w.Write(src); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return buf.Bytes(), nil
}

func (gzipCompressor) close() {}

type gzipDecompressor struct{}

func (gzipDecompressor) decompress(dst, src []byte, rawSize int64) ([]byte, error) {
	r, err := gzip.NewReader(bytes.NewReader(src))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	r.Multistream(false)
	if int64(cap(dst)) < rawSize {
		dst = make([]byte, 0, rawSize)
	}
	out := dst[:rawSize]
	if _, err := io.ReadFull(r, out); err != nil {
		return nil, fmt.Errorf("gzip: decompressed to fewer than %d bytes: %w", rawSize, err)
	}
	// Reading past the end checks the member's CRC and length trailer.
	var one [1]byte
	switch n, err := r.Read(one[:]); {
	case n != 0:
		return nil, fmt.Errorf("gzip: decompresses to more than %d bytes", rawSize)
	case err != io.EOF:
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return out, nil
}

func (gzipDecompressor) close() {}

type identity struct{}

func (identity) compress(_, src []byte) ([]byte, error) { return src, nil }

func (identity) decompress(_, src []byte, rawSize int64) ([]byte, error) {
	if int64(len(src)) != rawSize {
		return nil, fmt.Errorf("stored %d bytes, want %d", len(src), rawSize)
	}
	return src, nil
}

func (identity) close() {}
