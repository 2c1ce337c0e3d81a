// crd-apiserver: a standalone Kubernetes API server for mcpgw's tests that
// serves CustomResourceDefinitions and custom resources only.
//
// It runs k8s.io/apiextensions-apiserver's server (the same code kube-apiserver
// embeds for CRDs) against etcd, and adds what the library otherwise expects
// kube-apiserver to provide:
//   - authentication: client certificates signed by a test CA (generated into
//     --cert-dir unless given), every authenticated user is allowed everything;
//   - root discovery at /apis and /api (see discovery.go);
//   - no core-API dependencies: no core informers (so no informer-sync
//     readiness check), no admission plugins (webhooks, namespace lifecycle,
//     ValidatingAdmissionPolicy all need core objects), no priority & fairness.
//
// When /readyz answers 200 it prints one line on stdout:
//
//	MCPGW_APISERVER_READY url=https://127.0.0.1:PORT kubeconfig=PATH
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	noopoteltrace "go.opentelemetry.io/otel/trace/noop"

	v1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1beta1"
	extensionsapiserver "k8s.io/apiextensions-apiserver/pkg/apiserver"
	"k8s.io/apiextensions-apiserver/pkg/cmd/server/options"
	generatedopenapi "k8s.io/apiextensions-apiserver/pkg/generated/openapi"
	"k8s.io/apiserver/pkg/admission"
	authx509 "k8s.io/apiserver/pkg/authentication/request/x509"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	"k8s.io/apiserver/pkg/endpoints/discovery"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/util/openapi"
	"k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/client-go/kubernetes/scheme"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
)

type flags struct {
	etcdServers string
	etcdPrefix  string
	bindAddress string
	port        int
	certDir     string
	tlsCert     string
	tlsKey      string
	clientCA    string
	kubeconfig  string
	clientUser  string
	clientGroup string
	readyWait   time.Duration
}

func main() {
	var f flags
	fs := flag.NewFlagSet(os.Args[0], flag.ExitOnError)
	fs.StringVar(&f.etcdServers, "etcd-servers", "http://127.0.0.1:2379", "comma-separated etcd client URLs")
	fs.StringVar(&f.etcdPrefix, "etcd-prefix", "/registry", "etcd key prefix")
	fs.StringVar(&f.bindAddress, "bind-address", "127.0.0.1", "address to listen on")
	fs.IntVar(&f.port, "port", 0, "HTTPS port (0: pick a free one)")
	fs.StringVar(&f.certDir, "cert-dir", "", "directory for the generated CA, serving and client certificates (required unless all of --tls-cert-file, --tls-private-key-file, --client-ca-file are given)")
	fs.StringVar(&f.tlsCert, "tls-cert-file", "", "serving certificate (default: generated in --cert-dir)")
	fs.StringVar(&f.tlsKey, "tls-private-key-file", "", "serving key (default: generated in --cert-dir)")
	fs.StringVar(&f.clientCA, "client-ca-file", "", "CA that client certificates must chain to (default: the CA in --cert-dir)")
	fs.StringVar(&f.kubeconfig, "kubeconfig-out", "", "where to write a kubeconfig using the generated client certificate (default: <cert-dir>/kubeconfig; needs --cert-dir)")
	fs.StringVar(&f.clientUser, "client-user", "mcpgw-test", "CommonName (user) of the generated client certificate")
	fs.StringVar(&f.clientGroup, "client-group", "system:masters", "Organization (group) of the generated client certificate")
	fs.DurationVar(&f.readyWait, "ready-timeout", 2*time.Minute, "give up if /readyz is not 200 after this long")
	klog.InitFlags(fs)
	_ = fs.Parse(os.Args[1:])

	ctx := genericapiserver.SetupSignalContext()
	if err := run(ctx, f); err != nil {
		fmt.Fprintln(os.Stderr, "crd-apiserver:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, f flags) error {
	// --- certificates -------------------------------------------------------
	var pki pkiFiles
	if f.certDir != "" {
		var err error
		if pki, err = ensurePKI(f.certDir, f.clientUser, f.clientGroup); err != nil {
			return fmt.Errorf("certificates: %w", err)
		}
	} else if f.tlsCert == "" || f.tlsKey == "" || f.clientCA == "" {
		return errors.New("give --cert-dir, or all of --tls-cert-file, --tls-private-key-file and --client-ca-file")
	}
	servingCert, servingKey, clientCAFile := pick(f.tlsCert, pki.ServerCert), pick(f.tlsKey, pki.ServerKey), pick(f.clientCA, pki.CACert)
	clientCAPEM, err := os.ReadFile(clientCAFile)
	if err != nil {
		return err
	}
	clientCA, err := dynamiccertificates.NewStaticCAContent("client-ca", clientCAPEM)
	if err != nil {
		return fmt.Errorf("client CA: %w", err)
	}

	// --- listener (port 0 allowed) -----------------------------------------
	ln, err := net.Listen("tcp", net.JoinHostPort(f.bindAddress, strconv.Itoa(f.port)))
	if err != nil {
		return err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	url := "https://" + net.JoinHostPort(f.bindAddress, strconv.Itoa(port))

	// --- generic server config ---------------------------------------------
	runOpts := genericoptions.NewServerRunOptions()
	if err := runOpts.ComponentGlobalsRegistry.Set(); err != nil {
		return err
	}
	if err := runOpts.Complete(); err != nil {
		return err
	}
	runOpts.AdvertiseAddress = net.ParseIP(f.bindAddress)
	if errs := runOpts.Validate(); len(errs) > 0 {
		return fmt.Errorf("server options: %v", errs)
	}

	cfg := genericapiserver.NewRecommendedConfig(extensionsapiserver.Codecs)
	if err := runOpts.ApplyTo(&cfg.Config); err != nil {
		return err
	}

	etcd := genericoptions.NewEtcdOptions(storagebackend.NewDefaultConfig(
		strings.TrimRight(f.etcdPrefix, "/")+"/apiextensions.kubernetes.io",
		extensionsapiserver.Codecs.LegacyCodec(v1beta1.SchemeGroupVersion, v1.SchemeGroupVersion)))
	etcd.StorageConfig.Transport.ServerList = strings.Split(f.etcdServers, ",")
	if errs := etcd.Validate(); len(errs) > 0 {
		return fmt.Errorf("etcd options: %v", errs)
	}
	if err := etcd.ApplyTo(&cfg.Config); err != nil {
		return err
	}

	serving := genericoptions.NewSecureServingOptions()
	serving.Listener = ln
	serving.ServerCert.CertKey.CertFile = servingCert
	serving.ServerCert.CertKey.KeyFile = servingKey
	if err := serving.WithLoopback().ApplyToConfig(&cfg.Config); err != nil {
		return err
	}

	// Authentication: client certificates (CN = user, O = groups). The
	// server's own loopback token is added in Complete().
	if err := cfg.Authentication.ApplyClientCert(clientCA, cfg.SecureServing); err != nil {
		return err
	}
	cfg.Authentication.Authenticator = authx509.NewDynamic(clientCA.VerifyOptions, authx509.CommonNameUserConversion)
	// Authorization: every authenticated identity may do everything.
	cfg.Authorization.Authorizer = authorizerfactory.NewAlwaysAllowAuthorizer()
	// Admission: none (all upstream plugins need the core API).
	cfg.AdmissionControl = admission.NewChainHandler()
	// Serve apiextensions.k8s.io/v1 (CRDs) as upstream does.
	cfg.MergedResourceConfig = extensionsapiserver.DefaultAPIResourceConfigSource()
	// No core informers: no "informer-sync" readiness check waiting on them.
	cfg.SharedInformerFactory = nil

	// OpenAPI v2 and v3. Both are needed: the library only runs its CRD
	// OpenAPI controllers (which publish CRD schemas, used by kubectl's
	// client-side validation and explain) when the v2 static spec exists.
	defs := openapi.GetOpenAPIDefinitionsWithoutDisabledFeatures(generatedopenapi.GetOpenAPIDefinitions)
	namer := openapinamer.NewDefinitionNamer(extensionsapiserver.Scheme, scheme.Scheme)
	cfg.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(defs, namer)
	cfg.OpenAPIConfig.Info.Title = "mcpgw crd-apiserver"
	cfg.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(defs, namer)
	cfg.OpenAPIV3Config.Info.Title = "mcpgw crd-apiserver"

	extCfg := &extensionsapiserver.Config{
		GenericConfig: cfg,
		ExtraConfig: extensionsapiserver.ExtraConfig{
			CRDRESTOptionsGetter: options.NewCRDRESTOptionsGetter(*etcd, cfg.ResourceTransformers, cfg.StorageObjectCountTracker),
			MasterCount:          1,
			ServiceResolver:      webhook.NewDefaultServiceResolver(),
			AuthResolverWrapper:  webhook.NewDefaultAuthenticationInfoResolverWrapper(nil, nil, cfg.LoopbackClientConfig, noopoteltrace.NewTracerProvider()),
		},
	}

	// --- server -----------------------------------------------------------
	completed := extCfg.Complete()
	root := &rootDiscovery{addresses: discovery.DefaultAddresses{DefaultAddress: completed.GenericConfig.ExternalAddress}}
	server, err := completed.New(genericapiserver.NewEmptyDelegateWithCustomHandler(root))
	if err != nil {
		return err
	}
	gs := server.GenericAPIServer
	root.bind(gs.AggregatedDiscoveryGroupManager, gs.AggregatedLegacyDiscoveryGroupManager)

	// kubeconfig for the tests' client certificate
	kubeconfig := f.kubeconfig
	if kubeconfig == "" && f.certDir != "" {
		kubeconfig = filepath.Join(f.certDir, "kubeconfig")
	}
	if kubeconfig != "" {
		if f.certDir == "" {
			return errors.New("--kubeconfig-out needs --cert-dir (the generated client certificate)")
		}
		if err := writeKubeconfig(kubeconfig, url, pki); err != nil {
			return fmt.Errorf("kubeconfig: %w", err)
		}
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- gs.PrepareRun().RunWithContext(runCtx) }()

	if f.certDir != "" {
		go func() {
			if err := waitReady(runCtx, url, pki, f.readyWait); err != nil {
				klog.Errorf("not ready: %v", err)
				cancel()
				return
			}
			fmt.Printf("MCPGW_APISERVER_READY url=%s kubeconfig=%s\n", url, kubeconfig)
			_ = os.Stdout.Sync()
		}()
	} else {
		// Without our own client certificate we cannot call /readyz.
		klog.Warning("no --cert-dir: readiness is not checked and no MCPGW_APISERVER_READY line is printed")
	}
	return <-done
}

func pick(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func writeKubeconfig(path, url string, p pkiFiles) error {
	ca, err := os.ReadFile(p.CACert)
	if err != nil {
		return err
	}
	cert, err := os.ReadFile(p.ClientCert)
	if err != nil {
		return err
	}
	key, err := os.ReadFile(p.ClientKey)
	if err != nil {
		return err
	}
	c := clientcmdapi.NewConfig()
	c.Clusters["mcpgw-test"] = &clientcmdapi.Cluster{Server: url, CertificateAuthorityData: ca}
	c.AuthInfos["mcpgw-test"] = &clientcmdapi.AuthInfo{ClientCertificateData: cert, ClientKeyData: key}
	c.Contexts["mcpgw-test"] = &clientcmdapi.Context{Cluster: "mcpgw-test", AuthInfo: "mcpgw-test", Namespace: "default"}
	c.CurrentContext = "mcpgw-test"
	return clientcmd.WriteToFile(*c, path)
}

// waitReady polls /readyz with the client certificate until it answers 200.
func waitReady(ctx context.Context, url string, p pkiFiles, timeout time.Duration) error {
	cert, err := tls.LoadX509KeyPair(p.ClientCert, p.ClientKey)
	if err != nil {
		return err
	}
	caPEM, err := os.ReadFile(p.CACert)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}},
	}
	deadline := time.Now().Add(timeout)
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/readyz", nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("/readyz after %s: %s", timeout, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
