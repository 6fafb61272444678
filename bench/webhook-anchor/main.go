// A minimal mutating admission webhook in Go, the anchor of `npm run bench:webhook`: what the
// apiserver's calls cost when the server is Go's net/http, as in a controller-runtime
// webhook (HTTP/1.1, keep-alive, TLS 1.2 and newer). It answers every pod CREATE with the
// patch clusterdns's injector gives a pod: dnsPolicy None, the instance's dnsConfig and an
// annotation. The standard library only.
package main

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"time"
)

type review struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Request    *reviewRequest  `json:"request,omitempty"`
	Response   *reviewResponse `json:"response,omitempty"`
}

type reviewRequest struct {
	UID       string `json:"uid"`
	Namespace string `json:"namespace"`
}

type reviewResponse struct {
	UID       string `json:"uid"`
	Allowed   bool   `json:"allowed"`
	PatchType string `json:"patchType,omitempty"`
	Patch     string `json:"patch,omitempty"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	cert := flag.String("cert", "", "serving certificate (PEM)")
	key := flag.String("key", "", "its private key (PEM)")
	nameserver := flag.String("nameserver", "10.96.0.99", "the instance's clusterIP")
	flag.Parse()

	http.HandleFunc("/mutate-v1-pod", func(w http.ResponseWriter, r *http.Request) {
		var in review
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil || in.Request == nil {
			http.Error(w, "not an AdmissionReview", http.StatusBadRequest)
			return
		}
		patch, _ := json.Marshal([]map[string]any{
			{"op": "add", "path": "/metadata/annotations", "value": map[string]string{"clusterdns.io/injected": "bench"}},
			{"op": "add", "path": "/spec/dnsPolicy", "value": "None"},
			{"op": "add", "path": "/spec/dnsConfig", "value": map[string]any{
				"nameservers": []string{*nameserver},
				"searches":    []string{in.Request.Namespace + ".svc.cluster.local", "svc.cluster.local", "cluster.local"},
				"options":     []map[string]string{{"name": "ndots", "value": "5"}},
			}},
		})
		out := review{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview", Response: &reviewResponse{
			UID: in.Request.UID, Allowed: true, PatchType: "JSONPatch", Patch: base64.StdEncoding.EncodeToString(patch),
		}}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	server := &http.Server{
		Addr:              *addr,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}},
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	log.Fatal(server.ListenAndServeTLS(*cert, *key))
}
