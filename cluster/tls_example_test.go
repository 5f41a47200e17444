package cluster_test

import (
	"flag"
	"fmt"

	"github.com/par-project/par/cluster"
)

// A program that connects to a cluster takes the par commands' TLS and
// credentials flags, which fall back on PAR_TLS_CA and the others.
func ExampleClientFlags() {
	fs := flag.NewFlagSet("mytool", flag.ContinueOnError)
	url := fs.String("connect", "tls://127.0.0.1:4222", "the cluster")
	var cf cluster.ClientFlags
	cf.Register(fs)
	if err := fs.Parse([]string{"--tls-ca", "ca.pem", "--creds", "user.creds"}); err != nil {
		fmt.Println(err)
		return
	}
	// Then: c, err := cluster.Connect(*url, cf.Options()...)
	fmt.Println(*url, cf.CA, cf.Creds)
	// Output: tls://127.0.0.1:4222 ca.pem user.creds
}
