package backup

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// The xbstream format, as written by xtrabackup and mariabackup and read by
// xbstream and mbstream: a sequence of chunks, each
//
//	magic "XBSTCK01" | flags (1) | type (1) | path length (4, LE) | path
//	type 'E' (end of file): nothing more
//	type 'S' (sparse): sparse map length (4, LE), then as 'P'
//	type 'P' (payload): payload length (8, LE) | offset (8, LE) |
//	    CRC-32 of the payload (4, LE) | [sparse map: length x 8 bytes] | payload
//
// Chunks of one file may interleave with other files' chunks. A chunk of
// unknown type is an error unless flag bit 0 (ignorable) is set.
const (
	xbMagic          = "XBSTCK01"
	xbFixedHeader    = 8 + 1 + 1 + 4
	xbPayloadHeader  = 8 + 8 + 4
	xbFlagIgnorable  = 0x01
	xbMaxPath        = 4096    // far above any real path (FN_REFLEN is 512)
	xbMaxCaptureSize = 1 << 20 // captured files are a few lines of text
)

// xbstreamScanner follows an xbstream as it passes through Write, checks
// every chunk's framing and CRC-32, counts the files, and keeps the content
// of the few small files it was asked to capture (the binlog info file).
// It is not safe for concurrent use.
type xbstreamScanner struct {
	capture map[string]bool   // paths whose content to keep
	files   map[string][]byte // captured content, by path

	state int
	buf   [xbPayloadHeader]byte // header bytes gathered so far
	have  int                   // bytes of the current header part in buf or path
	path  []byte

	typ       byte
	flags     byte
	sparseLen uint32
	left      uint64 // bytes of the current sparse map or payload still to come
	offset    uint64 // write offset of the current payload
	wantCRC   uint32
	crc       uint32

	chunks int64 // chunks seen
	ends   int64 // end-of-file chunks seen: files in the stream
	err    error // sticky: the first framing error
}

const (
	xbStateHeader = iota
	xbStatePath
	xbStateSparseLen
	xbStatePayloadHeader
	xbStateSparseMap
	xbStatePayload
)

// newXBStreamScanner returns a scanner that captures the files named in
// capture (paths as they appear in the stream).
func newXBStreamScanner(capture ...string) *xbstreamScanner {
	s := &xbstreamScanner{capture: map[string]bool{}, files: map[string][]byte{}}
	for _, c := range capture {
		s.capture[c] = true
	}
	return s
}

// Write consumes p. It returns an error, and keeps returning it, once the
// stream is not valid xbstream.
func (s *xbstreamScanner) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && s.err == nil {
		switch s.state {
		case xbStateHeader:
			p = s.fill(p, xbFixedHeader)
			if s.have < xbFixedHeader {
				break
			}
			if string(s.buf[:8]) != xbMagic {
				s.fail("bad chunk magic %q", s.buf[:8])
				break
			}
			s.flags, s.typ = s.buf[8], s.buf[9]
			pathLen := binary.LittleEndian.Uint32(s.buf[10:14])
			if pathLen == 0 || pathLen > xbMaxPath {
				s.fail("path length %d", pathLen)
				break
			}
			s.path = make([]byte, 0, pathLen)
			s.left = uint64(pathLen)
			s.next(xbStatePath)
		case xbStatePath:
			k := min(uint64(len(p)), s.left)
			s.path = append(s.path, p[:k]...)
			p = p[k:]
			s.left -= k
			if s.left > 0 {
				break
			}
			s.chunks++
			switch {
			case s.typ == 'E':
				s.ends++
				s.next(xbStateHeader)
			case s.typ == 'S':
				s.next(xbStateSparseLen)
			case s.typ == 'P' || s.flags&xbFlagIgnorable != 0:
				s.next(xbStatePayloadHeader)
			default:
				s.fail("chunk of unknown type %q for %s", s.typ, s.path)
			}
		case xbStateSparseLen:
			p = s.fill(p, 4)
			if s.have == 4 {
				s.sparseLen = binary.LittleEndian.Uint32(s.buf[:4])
				s.next(xbStatePayloadHeader)
			}
		case xbStatePayloadHeader:
			p = s.fill(p, xbPayloadHeader)
			if s.have < xbPayloadHeader {
				break
			}
			s.left = binary.LittleEndian.Uint64(s.buf[0:8])
			s.offset = binary.LittleEndian.Uint64(s.buf[8:16])
			s.wantCRC = binary.LittleEndian.Uint32(s.buf[16:20])
			s.crc = 0
			if s.typ == 'S' && s.sparseLen > 0 {
				payload := s.left
				s.next(xbStateSparseMap)
				s.left, s.offset = uint64(s.sparseLen)*8, payload
				break
			}
			s.startPayload()
		case xbStateSparseMap:
			k := min(uint64(len(p)), s.left)
			p = p[k:]
			s.left -= k
			if s.left == 0 {
				// The payload length was parked in offset while the
				// map went by; the sparse file's offsets are in the map.
				s.left, s.offset = s.offset, 0
				s.startPayload()
			}
		case xbStatePayload:
			k := min(uint64(len(p)), s.left)
			s.crc = crc32.Update(s.crc, crc32.IEEETable, p[:k])
			s.keep(p[:k])
			p = p[k:]
			s.left -= k
			s.offset += k
			if s.left == 0 {
				s.endPayload()
			}
		}
	}
	if s.err != nil {
		return 0, s.err
	}
	return n, nil
}

// fill gathers header bytes from p into buf until it holds want of them,
// and returns the rest of p.
func (s *xbstreamScanner) fill(p []byte, want int) []byte {
	k := copy(s.buf[s.have:want], p)
	s.have += k
	return p[k:]
}

func (s *xbstreamScanner) next(state int) {
	s.state = state
	s.have = 0
}

func (s *xbstreamScanner) startPayload() {
	s.next(xbStatePayload)
	if s.left == 0 {
		s.endPayload()
	}
}

func (s *xbstreamScanner) endPayload() {
	if s.crc != s.wantCRC {
		s.fail("CRC-32 of a chunk of %s is %08x, the stream says %08x", s.path, s.crc, s.wantCRC)
		return
	}
	s.next(xbStateHeader)
}

// keep appends payload bytes to the captured file, if the chunk's file is
// one to capture.
func (s *xbstreamScanner) keep(b []byte) {
	if len(s.capture) == 0 || !s.capture[string(s.path)] || s.typ == 'S' {
		return
	}
	f := s.files[string(s.path)]
	end := s.offset + uint64(len(b))
	if end > xbMaxCaptureSize {
		s.fail("%s is larger than %d bytes", s.path, xbMaxCaptureSize)
		return
	}
	if uint64(len(f)) < end {
		f = append(f, make([]byte, end-uint64(len(f)))...)
	}
	copy(f[s.offset:end], b)
	s.files[string(s.path)] = f
}

func (s *xbstreamScanner) fail(format string, args ...any) {
	s.err = fmt.Errorf("invalid xbstream after %d chunks: %s", s.chunks, fmt.Sprintf(format, args...))
}

// Close reports whether the stream ended cleanly, at a chunk boundary.
func (s *xbstreamScanner) Close() error {
	if s.err != nil {
		return s.err
	}
	if s.state != xbStateHeader || s.have != 0 {
		return errors.New("invalid xbstream: it ends inside a chunk")
	}
	if s.chunks == 0 {
		return errors.New("invalid xbstream: it is empty")
	}
	return nil
}

// file returns the captured content of path.
func (s *xbstreamScanner) file(path string) ([]byte, bool) {
	b, ok := s.files[path]
	return b, ok
}
