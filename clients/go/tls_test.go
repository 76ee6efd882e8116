package discretion_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"testing"
	"time"

	discretion "github.com/discretion/discretion/clients/go"
	v1 "github.com/discretion/discretion/clients/go/discretionv1"
)

// asking is a client of the mutual-TLS server with tenants tests/clients/conftest.py starts, presenting
// who's certificate ("" for none).
func asking(t *testing.T, who string) *discretion.Client {
	t.Helper()
	env := func(name string) string {
		value := os.Getenv(name)
		if value == "" {
			t.Fatalf("%s is set by make test (tests/clients/conftest.py)", name)
		}
		return value
	}
	roots := x509.NewCertPool()
	ca, err := os.ReadFile(env("DISCRETION_TLS_CA"))
	if err != nil || !roots.AppendCertsFromPEM(ca) {
		t.Fatalf("the CA: %v", err)
	}
	config := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if who != "" {
		pair, err := tls.LoadX509KeyPair(env("DISCRETION_TLS_"+who+"_CERT"), env("DISCRETION_TLS_"+who+"_KEY"))
		if err != nil {
			t.Fatal(err)
		}
		config.Certificates = []tls.Certificate{pair}
	}
	client, err := discretion.New(env("DISCRETION_TLS_TARGET"), discretion.WithTLS(config),
		discretion.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

func TestMutualTLSNamesTheTenant(t *testing.T) {
	answer, err := asking(t, "FORUM").Check(context.Background(), chathamQuote())
	if err != nil || answer.GetDecision() != v1.Decision_DECISION_ALLOW_WITH_OBLIGATIONS {
		t.Fatalf("the forum, which owns the group: %v, %v", answer.GetDecision(), err)
	}
	for who, kind := range map[string]error{
		"NEWSROOM": discretion.ErrPermissionDenied, // another tenant's group
		"STRANGER": discretion.ErrUnauthenticated,  // a certificate naming no tenant
		"":         discretion.ErrUnavailable,      // no certificate: no connection
	} {
		if _, err := asking(t, who).Check(context.Background(), chathamQuote()); !errors.Is(err, kind) {
			t.Errorf("%q: got %v, want %v", who, err, kind)
		}
	}
}
