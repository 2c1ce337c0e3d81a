package main

// Test PKI: one CA that signs both the serving certificate and the client
// certificate the tests use. Files are reused when they already exist, so a
// restarted server keeps accepting an existing kubeconfig.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

type pkiFiles struct {
	CACert, CAKey         string
	ServerCert, ServerKey string
	ClientCert, ClientKey string
}

func pkiIn(dir string) pkiFiles {
	p := func(n string) string { return filepath.Join(dir, n) }
	return pkiFiles{
		CACert: p("ca.crt"), CAKey: p("ca.key"),
		ServerCert: p("server.crt"), ServerKey: p("server.key"),
		ClientCert: p("client.crt"), ClientKey: p("client.key"),
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// ensurePKI creates whatever is missing in dir. clientUser becomes the
// client certificate's CommonName (the user name), clientGroup its
// Organization (the group).
func ensurePKI(dir, clientUser, clientGroup string) (pkiFiles, error) {
	f := pkiIn(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return f, err
	}
	if exists(f.CACert) && exists(f.CAKey) && exists(f.ServerCert) && exists(f.ServerKey) &&
		exists(f.ClientCert) && exists(f.ClientKey) {
		return f, nil
	}

	var caCert *x509.Certificate
	var caKey *ecdsa.PrivateKey
	if exists(f.CACert) && exists(f.CAKey) {
		c, k, err := loadPair(f.CACert, f.CAKey)
		if err != nil {
			return f, fmt.Errorf("loading existing CA: %w", err)
		}
		caCert, caKey = c, k
	} else {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return f, err
		}
		tmpl := &x509.Certificate{
			SerialNumber:          serial(),
			Subject:               pkix.Name{CommonName: "mcpgw-test-ca"},
			NotBefore:             time.Now().Add(-time.Hour),
			NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
			BasicConstraintsValid: true,
			IsCA:                  true,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
		if err != nil {
			return f, err
		}
		c, _ := x509.ParseCertificate(der)
		if err := writePair(f.CACert, f.CAKey, der, k); err != nil {
			return f, err
		}
		caCert, caKey = c, k
	}

	if !exists(f.ServerCert) || !exists(f.ServerKey) {
		tmpl := &x509.Certificate{
			Subject:     pkix.Name{CommonName: "mcpgw-crd-apiserver"},
			DNSNames:    []string{"localhost"},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		if err := issue(tmpl, caCert, caKey, f.ServerCert, f.ServerKey); err != nil {
			return f, err
		}
	}
	if !exists(f.ClientCert) || !exists(f.ClientKey) {
		tmpl := &x509.Certificate{
			Subject:     pkix.Name{CommonName: clientUser, Organization: []string{clientGroup}},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}
		if err := issue(tmpl, caCert, caKey, f.ClientCert, f.ClientKey); err != nil {
			return f, err
		}
	}
	return f, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		panic(err)
	}
	return n
}

func issue(tmpl, ca *x509.Certificate, caKey *ecdsa.PrivateKey, certPath, keyPath string) error {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl.SerialNumber = serial()
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(5 * 365 * 24 * time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	tmpl.BasicConstraintsValid = true
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
	if err != nil {
		return err
	}
	return writePair(certPath, keyPath, der, k)
}

func writePair(certPath, keyPath string, der []byte, k *ecdsa.PrivateKey) error {
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func loadPair(certPath, keyPath string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cb, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, err
	}
	kb, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, err
	}
	cp, _ := pem.Decode(cb)
	kp, _ := pem.Decode(kb)
	if cp == nil || kp == nil {
		return nil, nil, fmt.Errorf("%s / %s: not PEM", certPath, keyPath)
	}
	c, err := x509.ParseCertificate(cp.Bytes)
	if err != nil {
		return nil, nil, err
	}
	k, err := x509.ParseECPrivateKey(kp.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("CA key must be an EC key: %w", err)
	}
	return c, k, nil
}
