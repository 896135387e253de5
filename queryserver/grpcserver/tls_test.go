package grpcserver_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/tabletd/tablet/proto/querypb"
	"github.com/tabletd/tablet/proto/queryservicepb"
	"github.com/tabletd/tablet/queryserver/grpcserver"
)

// testPKI issues certificates for the mTLS tests: a trusted CA, and
// leaves it or others sign.
type testPKI struct {
	t      *testing.T
	dir    string
	serial int64
}

type issued struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// issue signs tmpl with parent (self-signed when parent is nil).
func (p *testPKI) issue(tmpl *x509.Certificate, parent *issued) issued {
	p.t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		p.t.Fatal(err)
	}
	p.serial++
	tmpl.SerialNumber = big.NewInt(p.serial)
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		p.t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		p.t.Fatal(err)
	}
	return issued{cert, key}
}

// files writes c's certificate and key as PEM and returns their paths.
func (p *testPKI) files(name string, c issued) (certFile, keyFile string) {
	p.t.Helper()
	kb, err := x509.MarshalECPrivateKey(c.key)
	if err != nil {
		p.t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(p.dir, name+".pem"), filepath.Join(p.dir, name+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw}), 0o600); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		p.t.Fatal(err)
	}
	return certFile, keyFile
}

func caTemplate(name string) *x509.Certificate {
	return &x509.Certificate{Subject: pkix.Name{CommonName: name}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
}

func leafTemplate(name string, usage ...x509.ExtKeyUsage) *x509.Certificate {
	return &x509.Certificate{Subject: pkix.Name{CommonName: name}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: usage, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"}}
}

// presenting is a client configuration that sends c whatever CAs the
// server asks for (Go's client otherwise sends nothing when c's issuer is
// not among them, and the server's check would go untested).
func presenting(c tls.Certificate) *tls.Config {
	return &tls.Config{GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &c, nil }}
}

func tlsCert(c issued) tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{c.cert.Raw}, PrivateKey: c.key, Leaf: c.cert}
}

// TestMTLSRefusesUntrustedClients serves the Query service with
// --grpc_cert, --grpc_key and --grpc_ca and calls it, unary and
// streaming, as clients the CA does not vouch for: each is refused at the
// handshake with UNAVAILABLE and the engine sees nothing. A client with a
// certificate the CA signed for client use, tried last, gets answers, so
// the refusals did not break the server. (cmd/tablet's
// TestGRPCTLSClientCertificates covers plaintext, no certificate and
// another CA against the real binary; this covers the subtler cases.)
func TestMTLSRefusesUntrustedClients(t *testing.T) {
	pki := &testPKI{t: t, dir: t.TempDir()}
	ca := pki.issue(caTemplate("tablet CA"), nil)
	caFile, _ := pki.files("ca", ca)
	server := pki.issue(leafTemplate("tablet", x509.ExtKeyUsageServerAuth), &ca)
	serverCert, serverKey := pki.files("server", server)

	cfg := grpcserver.DefaultConfig()
	cfg.CertFile, cfg.KeyFile, cfg.CAFile = serverCert, serverKey, caFile
	opts, err := cfg.ServerOptions(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	eng := newFakeEngine()
	gs := grpc.NewServer(opts...)
	grpcserver.New(grpcserver.Deps{Engine: eng, Alias: alias}).Register(gs)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- gs.Serve(ln) }()
	t.Cleanup(func() {
		gs.Stop()
		<-served
	})

	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	rogueCA := pki.issue(caTemplate("tablet CA"), nil) // same name, other key
	past := time.Now().Add(-48 * time.Hour)
	tests := []struct {
		name string
		tls  func() *tls.Config // nil: plaintext
		ok   bool
	}{
		{name: "plaintext"},
		{name: "TLS without a client certificate", tls: func() *tls.Config { return &tls.Config{} }},
		{name: "certificate from a CA of the same name", tls: func() *tls.Config {
			return presenting(tlsCert(pki.issue(leafTemplate("gateway", x509.ExtKeyUsageClientAuth), &rogueCA)))
		}},
		{name: "self-signed certificate", tls: func() *tls.Config {
			self := pki.issue(leafTemplate("gateway", x509.ExtKeyUsageClientAuth), nil)
			return presenting(tlsCert(self))
		}},
		{name: "expired certificate from the CA", tls: func() *tls.Config {
			tmpl := leafTemplate("gateway", x509.ExtKeyUsageClientAuth)
			tmpl.NotBefore, tmpl.NotAfter = past, past.Add(time.Hour)
			return presenting(tlsCert(pki.issue(tmpl, &ca)))
		}},
		{name: "server-only certificate from the CA", tls: func() *tls.Config {
			return presenting(tlsCert(server))
		}},
		{name: "certificate from the CA over TLS 1.1", tls: func() *tls.Config {
			c := tlsCert(pki.issue(leafTemplate("gateway", x509.ExtKeyUsageClientAuth), &ca))
			tc := presenting(c)
			tc.MinVersion, tc.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
			return tc
		}},
		{name: "certificate from the CA", ok: true, tls: func() *tls.Config {
			return presenting(tlsCert(pki.issue(leafTemplate("gateway", x509.ExtKeyUsageClientAuth), &ca)))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			creds := insecure.NewCredentials()
			if tt.tls != nil {
				tc := tt.tls()
				tc.RootCAs, tc.ServerName = roots, "127.0.0.1"
				creds = credentials.NewTLS(tc)
			}
			conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(creds))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			qc := queryservicepb.NewQueryClient(conn)
			before := len(eng.callsSoFar())

			_, uerr := qc.Execute(ctxT(t), &querypb.ExecuteRequest{Target: primary, Query: &querypb.BoundQuery{Sql: "DELETE FROM t"}})
			serr := func() error {
				st, err := qc.StreamExecute(ctxT(t), &querypb.StreamExecuteRequest{Target: primary, Query: &querypb.BoundQuery{Sql: "SELECT 1"}})
				if err != nil {
					return err
				}
				for {
					if _, err := st.Recv(); err != nil {
						return err
					}
				}
			}()
			t.Logf("Execute: %v; StreamExecute: %v", uerr, serr)
			calls := eng.callsSoFar()[before:]
			if tt.ok {
				if uerr != nil || !errors.Is(serr, io.EOF) {
					t.Fatalf("trusted client refused: Execute %v, StreamExecute %v", uerr, serr)
				}
				if len(calls) != 2 {
					t.Fatalf("engine saw %q, want the Execute and the StreamExecute", calls)
				}
				return
			}
			for what, err := range map[string]error{"Execute": uerr, "StreamExecute": serr} {
				if status.Code(err) != codes.Unavailable {
					t.Errorf("%s = %v, want UNAVAILABLE: the handshake refused", what, err)
				}
			}
			if len(calls) != 0 {
				t.Errorf("an untrusted client reached the engine: %q", calls)
			}
		})
	}
}

// callsSoFar returns the calls the engine has seen.
func (f *fakeEngine) callsSoFar() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}
