package mysqld

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// serverBinaries are the names of the server binary, newest first.
var serverBinaries = []string{"mariadbd", "mysqld"}

// systemDirs are searched after PATH: Debian installs the server in
// /usr/sbin, which is not on every user's PATH.
var systemDirs = []string{"/usr/sbin", "/usr/local/mysql/bin", "/usr/local/bin"}

// ErrNoServer means no MySQL or MariaDB server binary was found.
var ErrNoServer = errors.New("no mysqld or mariadbd binary found (install mariadb-server or mysql-server)")

// FindServer returns the path of the local server binary: mariadbd or mysqld
// on PATH, then in the usual system directories.
func FindServer() (string, error) {
	return findBinary(serverBinaries...)
}

// FindTool returns the path of a helper binary such as mariadb-install-db,
// mariabackup or mysql, searched like FindServer.
func FindTool(names ...string) (string, error) {
	p, err := findBinary(names...)
	if errors.Is(err, ErrNoServer) {
		return "", fmt.Errorf("none of %v found on PATH or in %v", names, systemDirs)
	}
	return p, err
}

func findBinary(names ...string) (string, error) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	for _, d := range systemDirs {
		for _, n := range names {
			p := filepath.Join(d, n)
			if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
				return p, nil
			}
		}
	}
	return "", ErrNoServer
}

// BinaryFlavor runs `server --version` and returns the flavor it reports.
func BinaryFlavor(ctx context.Context, server string) (Flavor, string, error) {
	out, err := exec.CommandContext(ctx, server, "--version").CombinedOutput()
	if err != nil {
		return nil, "", fmt.Errorf("run %s --version: %w: %s", server, err, out)
	}
	f, err := ParseFlavor(string(out))
	if err != nil {
		return nil, "", err
	}
	return f, string(out), nil
}
