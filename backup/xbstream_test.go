package backup

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"strings"
	"testing"
)

// sampleStream was written by `mbstream -c` (MariaDB 10.11) from a binlog
// info file, a replica info file, a 20000-byte d/t.ibd, an empty file and
// d/db.opt.
func sampleStream(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/mbstream-10.11.xbstream")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// xbChunk encodes one chunk as xtrabackup does.
func xbChunk(typ byte, flags byte, path string, offset uint64, payload []byte, sparse [][2]uint32) []byte {
	var b bytes.Buffer
	b.WriteString(xbMagic)
	b.WriteByte(flags)
	b.WriteByte(typ)
	binary.Write(&b, binary.LittleEndian, uint32(len(path)))
	b.WriteString(path)
	if typ == 'E' {
		return b.Bytes()
	}
	if typ == 'S' {
		binary.Write(&b, binary.LittleEndian, uint32(len(sparse)))
	}
	binary.Write(&b, binary.LittleEndian, uint64(len(payload)))
	binary.Write(&b, binary.LittleEndian, offset)
	binary.Write(&b, binary.LittleEndian, crc32.ChecksumIEEE(payload))
	for _, e := range sparse {
		binary.Write(&b, binary.LittleEndian, e[0])
		binary.Write(&b, binary.LittleEndian, e[1])
	}
	b.Write(payload)
	return b.Bytes()
}

// feed writes b into a new scanner in pieces of size n (all at once when
// n is 0) and returns the scanner and the first error.
func feed(b []byte, n int, capture ...string) (*xbstreamScanner, error) {
	s := newXBStreamScanner(capture...)
	if n == 0 {
		n = len(b)
	}
	for len(b) > 0 {
		k := min(n, len(b))
		if _, err := s.Write(b[:k]); err != nil {
			return s, err
		}
		b = b[k:]
	}
	return s, s.Close()
}

func TestXBStreamScannerReadsMBStream(t *testing.T) {
	data := sampleStream(t)
	for _, piece := range []int{0, 1, 7, 4096} {
		s, err := feed(data, piece, binlogInfoFiles[0], replicaInfoFiles[0], "d/db.opt")
		if err != nil {
			t.Fatalf("pieces of %d: %v", piece, err)
		}
		if s.ends != 5 {
			t.Errorf("pieces of %d: %d files, want 5", piece, s.ends)
		}
		if b, _ := s.file("xtrabackup_binlog_info"); string(b) != "binlog.000002\t1234\t0-1-42\n" {
			t.Errorf("pieces of %d: binlog info %q", piece, b)
		}
		if b, _ := s.file("xtrabackup_slave_info"); !strings.Contains(string(b), "gtid_slave_pos = '0-1-40'") {
			t.Errorf("pieces of %d: replica info %q", piece, b)
		}
		if b, _ := s.file("d/db.opt"); string(b) != "hello\n" {
			t.Errorf("pieces of %d: d/db.opt %q", piece, b)
		}
		if _, ok := s.file("d/t.ibd"); ok {
			t.Errorf("pieces of %d: captured a file it was not asked for", piece)
		}
	}
}

func TestXBStreamScannerRefuses(t *testing.T) {
	data := sampleStream(t)
	flip := func(i int) []byte {
		b := bytes.Clone(data)
		b[i] ^= 0x01
		return b
	}
	// The payload of d/t.ibd is the bulk of the stream: a byte in its
	// middle is payload.
	cases := map[string][]byte{
		"payload byte flipped": flip(len(data) / 2),
		"bad magic":            flip(0),
		"cut inside a chunk":   data[:len(data)/2],
		"cut inside a header":  data[:5],
		"empty":                nil,
		"unknown chunk type": append(bytes.Clone(data),
			xbChunk('X', 0, "f", 0, []byte("zz"), nil)...),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			for _, piece := range []int{0, 3} {
				if _, err := feed(b, piece); err == nil {
					t.Errorf("pieces of %d: accepted", piece)
				}
			}
		})
	}
}

func TestXBStreamScannerSparseAndIgnorable(t *testing.T) {
	var b []byte
	b = append(b, xbChunk('P', 0, "xtrabackup_binlog_info", 0, []byte("binlog.000001\t4\t"), nil)...)
	b = append(b, xbChunk('P', 0, "xtrabackup_binlog_info", 16, []byte("0-1-2\n"), nil)...)
	b = append(b, xbChunk('E', 0, "xtrabackup_binlog_info", 0, nil, nil)...)
	b = append(b, xbChunk('S', 0, "t.ibd", 0, []byte("abcdef"), [][2]uint32{{4096, 3}, {8192, 3}})...)
	b = append(b, xbChunk('S', 0, "t.ibd", 0, nil, nil)...)
	b = append(b, xbChunk('E', 0, "t.ibd", 0, nil, nil)...)
	b = append(b, xbChunk('Z', xbFlagIgnorable, "future", 0, []byte("later"), nil)...)
	for _, piece := range []int{0, 1, 5} {
		s, err := feed(b, piece, "xtrabackup_binlog_info")
		if err != nil {
			t.Fatalf("pieces of %d: %v", piece, err)
		}
		if got, _ := s.file("xtrabackup_binlog_info"); string(got) != "binlog.000001\t4\t0-1-2\n" {
			t.Errorf("pieces of %d: binlog info assembled from two chunks = %q", piece, got)
		}
		if s.ends != 2 || s.chunks != 7 {
			t.Errorf("pieces of %d: %d files in %d chunks, want 2 in 7", piece, s.ends, s.chunks)
		}
	}
}

func TestParseBinlogInfo(t *testing.T) {
	tests := []struct {
		name, in string
		want     binlogInfo
		wantErr  bool
	}{
		{name: "mariadb", in: "binlog.000001\t1181\t0-7-5\n", want: binlogInfo{"binlog.000001", 1181, "0-7-5"}},
		{name: "mariadb domains", in: "binlog.000003\t42\t0-1-5,1-2-9\n", want: binlogInfo{"binlog.000003", 42, "0-1-5,1-2-9"}},
		{name: "fresh server", in: "binlog.000001\t329\t\n", want: binlogInfo{"binlog.000001", 329, ""}},
		{name: "no gtid column", in: "binlog.000001\t329\n", want: binlogInfo{"binlog.000001", 329, ""}},
		{name: "mysql multi-line set",
			in:   "mysql-bin.000002\t1232\t3e11fa47-71ca-11e1-9e33-c80aa9429562:1-4,\n5fa3e2b1-71ca-11e1-9e33-c80aa9429562:1-3\n",
			want: binlogInfo{"mysql-bin.000002", 1232, "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-4,5fa3e2b1-71ca-11e1-9e33-c80aa9429562:1-3"}},
		{name: "empty", in: "", wantErr: true},
		{name: "bad position", in: "binlog.000001\tx\t0-1-1", wantErr: true},
		{name: "not a gtid", in: "binlog.000001\t4\t0-1-1'; DROP", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseBinlogInfo([]byte(tt.in))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("parsed %q as %+v", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseBinlogInfo(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}
