// CoreDNS of any release from 1.8.4 on, with the plugins of the Corefile that clusterdns
// renders for the engine coredns (and bind and log, for loopback and debugging). It is the
// main package of github.com/coredns/coredns without the plugins that Corefile never uses,
// so that a release builds in minutes from its Go module: hack/build-binaries.sh writes the
// go.mod that pins the release next to this file.
package main

import (
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
)

func main() {
	coremain.Run()
}
