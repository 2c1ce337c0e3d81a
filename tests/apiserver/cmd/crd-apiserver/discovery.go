package main

// Root discovery (/apis and /api).
//
// The apiextensions library leaves /apis to kube-apiserver's aggregator: the
// library's own handler serves /apis/<group> and /apis/<group>/<version> for
// CRD groups, and passes everything else (including /apis itself) to its
// delegate. This wrapper installs a delegate that answers:
//
//   /apis  aggregated discovery (apidiscovery.k8s.io/v2, used by newer kubectl
//          and client-go) straight from the server's aggregated discovery
//          manager, which the library's discovery controller keeps in sync with
//          established CRDs; the legacy APIGroupList (used by kube-rs
//          Discovery and older clients) is derived from the same document, so
//          both views list a group at the same moment the per-group endpoints
//          start to serve it.
//   /api   core v1 with no resources: /api lists "v1" and /api/v1 is an
//          empty APIResourceList (kube-rs Discovery rejects an /api without
//          versions, so "no core API" has to look like an empty core v1).
//   else   a 404 Status, like kube-apiserver's not-found handler.
//
// The delegate sits behind the generic server's filter chain, so these paths
// need client-certificate authentication like everything else.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	extensionsapiserver "k8s.io/apiextensions-apiserver/pkg/apiserver"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apiserver/pkg/endpoints/discovery"
	"k8s.io/apiserver/pkg/endpoints/discovery/aggregated"
	"k8s.io/apiserver/pkg/endpoints/handlers/negotiation"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
)

const aggregatedAccept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

// rootDiscovery is the delegate handler. Its managers are set once the
// generic server exists (it is created before the server because the server
// takes it as its delegate); until then it answers 503.
type rootDiscovery struct {
	addresses discovery.Addresses
	apis      atomic.Pointer[http.Handler]
	api       atomic.Pointer[http.Handler]
	apiV1     atomic.Pointer[http.Handler]
}

func (d *rootDiscovery) bind(apisAgg, apiAgg aggregated.ResourceManager) {
	legacyApis := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		d.serveLegacyApis(apisAgg, w, req)
	})
	legacyApi := http.HandlerFunc(d.serveLegacyApi)
	var h1 http.Handler = aggregated.WrapAggregatedDiscoveryToHandler(legacyApis, apisAgg, nil)
	var h2 http.Handler = aggregated.WrapAggregatedDiscoveryToHandler(legacyApi, apiAgg, nil)
	var h3 http.Handler = http.HandlerFunc(d.serveCoreV1)
	// The aggregated form of /api shows the same empty core v1.
	apiAgg.AddGroupVersion("", apidiscoveryv2.APIVersionDiscovery{
		Version:   "v1",
		Resources: []apidiscoveryv2.APIResourceDiscovery{},
		Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent,
	})
	d.apis.Store(&h1)
	d.api.Store(&h2)
	d.apiV1.Store(&h3)
}

func (d *rootDiscovery) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var h *http.Handler
	switch req.URL.Path {
	case "/apis", "/apis/":
		h = d.apis.Load()
	case "/api", "/api/":
		h = d.api.Load()
	case "/api/v1", "/api/v1/":
		h = d.apiV1.Load()
	default:
		responsewriters.ErrorNegotiated(
			apierrors.NewGenericServerResponse(http.StatusNotFound, "", schema.GroupResource{}, "", "", 0, false),
			extensionsapiserver.Codecs, schema.GroupVersion{}, w, req)
		return
	}
	if h == nil {
		responsewriters.ErrorNegotiated(apierrors.NewServiceUnavailable("discovery is not ready yet"),
			extensionsapiserver.Codecs, schema.GroupVersion{}, w, req)
		return
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		responsewriters.ErrorNegotiated(apierrors.NewMethodNotSupported(schema.GroupResource{}, req.Method),
			extensionsapiserver.Codecs, schema.GroupVersion{}, w, req)
		return
	}
	(*h).ServeHTTP(w, req)
}

func (d *rootDiscovery) serveLegacyApis(agg http.Handler, w http.ResponseWriter, req *http.Request) {
	// Ask the aggregated manager for its document, in JSON.
	inner := httptest.NewRequest(http.MethodGet, "/apis", nil).WithContext(req.Context())
	inner.Header.Set("Accept", aggregatedAccept)
	rec := httptest.NewRecorder()
	agg.ServeHTTP(rec, inner)
	var doc apidiscoveryv2.APIGroupDiscoveryList
	if rec.Code != http.StatusOK {
		responsewriters.ErrorNegotiated(apierrors.NewInternalError(fmt.Errorf("aggregated discovery answered %d", rec.Code)),
			extensionsapiserver.Codecs, schema.GroupVersion{}, w, req)
		return
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		responsewriters.ErrorNegotiated(apierrors.NewInternalError(err),
			extensionsapiserver.Codecs, schema.GroupVersion{}, w, req)
		return
	}

	cidrs := d.addresses.ServerAddressByClientCIDRs(utilnet.GetClientIP(req))
	list := &metav1.APIGroupList{Groups: []metav1.APIGroup{}}
	for _, g := range doc.Items {
		group := metav1.APIGroup{Name: g.Name, ServerAddressByClientCIDRs: cidrs}
		// Versions come sorted by priority, preferred first (the same order
		// kube-apiserver's aggregator uses).
		for _, v := range g.Versions {
			group.Versions = append(group.Versions, metav1.GroupVersionForDiscovery{
				GroupVersion: g.Name + "/" + v.Version,
				Version:      v.Version,
			})
		}
		if len(group.Versions) == 0 {
			continue
		}
		group.PreferredVersion = group.Versions[0]
		list.Groups = append(list.Groups, group)
	}
	responsewriters.WriteObjectNegotiated(extensionsapiserver.Codecs, negotiation.DefaultEndpointRestrictions,
		schema.GroupVersion{}, w, req, http.StatusOK, list, false)
}

func (d *rootDiscovery) serveLegacyApi(w http.ResponseWriter, req *http.Request) {
	versions := &metav1.APIVersions{
		Versions:                   []string{"v1"},
		ServerAddressByClientCIDRs: d.addresses.ServerAddressByClientCIDRs(utilnet.GetClientIP(req)),
	}
	responsewriters.WriteObjectNegotiated(extensionsapiserver.Codecs, negotiation.DefaultEndpointRestrictions,
		schema.GroupVersion{}, w, req, http.StatusOK, versions, false)
}

func (d *rootDiscovery) serveCoreV1(w http.ResponseWriter, req *http.Request) {
	list := &metav1.APIResourceList{GroupVersion: "v1", APIResources: []metav1.APIResource{}}
	responsewriters.WriteObjectNegotiated(extensionsapiserver.Codecs, negotiation.DefaultEndpointRestrictions,
		schema.GroupVersion{}, w, req, http.StatusOK, list, false)
}
