package debugpages

import (
	"context"
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tabletd/tablet/queryserver"
	"github.com/tabletd/tablet/testenv"
)

var screenshotDir = flag.String("screenshots", "",
	"keep the PNG files of TestIntegrationScreenshots in this directory (default: a temporary one)")

// Screenshot window size: a laptop screen.
const (
	shotWidth  = 1280
	shotHeight = 900
)

// TestIntegrationScreenshots is acceptance 4: headless Chromium renders
// /debug/status, /queryz and the log and schema pages of a tablet that has
// served some traffic, and the PNG files show a page, not a blank or an
// error. Run with
// -screenshots=DIR to keep them and look at them.
func TestIntegrationScreenshots(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: needs a private mysqld and Chromium (run without -short)")
	}
	if _, err := testenv.Chromium(); err != nil {
		t.Skipf("skipping: %v", err)
	}
	r := startReal(t)
	r.pointSelects(t, 100)
	for _, q := range []string{
		"SELECT COUNT(*) FROM customer",
		"SELECT id FROM customer WHERE email LIKE 'customer1%' ORDER BY id",
		"SELECT c.id, c.email FROM customer c JOIN customer_emails e ON e.email = c.email WHERE c.id < 10",
	} {
		for range 10 {
			if _, err := r.eng.Execute(r.ctx, primaryTarget(), q, nil, 0, 0, nil); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	tx, err := r.eng.Begin(r.ctx, primaryTarget(), nil)
	if err != nil {
		t.Fatal(err)
	}
	email := queryserver.StringVar("new@example.com")
	if _, err := r.eng.Execute(r.ctx, primaryTarget(), "UPDATE customer SET email = :email WHERE id = 1",
		map[string]*queryserver.BindVar{"email": &email}, tx, 0, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := r.eng.Commit(r.ctx, primaryTarget(), tx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.eng.Execute(r.ctx, primaryTarget(), "SELECT * FROM orders WHERE id = 1", nil, 0, 0, nil); err == nil {
		t.Fatal("a select from a missing table succeeded")
	}

	dir := *screenshotDir
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, shot := range []struct{ path, file string }{
		{"/debug/status", "debug-status.png"},
		{"/queryz", "queryz.png"},
		{"/querylogz?limit=20", "querylogz.png"},
		{"/txlogz", "txlogz.png"},
		{"/schemaz", "schemaz.png"},
	} {
		t.Run(shot.path, func(t *testing.T) {
			file := filepath.Join(dir, shot.file)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := testenv.Screenshot(ctx, r.srv.URL+shot.path, file, shotWidth, shotHeight); err != nil {
				t.Fatal(err)
			}
			checkScreenshot(t, file)
			t.Logf("%s: %s", shot.path, file)
		})
	}
}

// checkScreenshot fails t unless file is a PNG of the window's size with
// enough colours to be a rendered page.
func checkScreenshot(t *testing.T, file string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", file, err)
	}
	b := img.Bounds()
	if b.Dx() != shotWidth || b.Dy() != shotHeight {
		t.Errorf("%s is %dx%d, want %dx%d", file, b.Dx(), b.Dy(), shotWidth, shotHeight)
	}
	colours := map[[4]uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y && len(colours) < 64; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, a := img.At(x, y).RGBA()
			colours[[4]uint32{r, g, bl, a}] = true
		}
	}
	if len(colours) < 16 {
		t.Errorf("%s has %d colours: a blank page?", file, len(colours))
	}
}
