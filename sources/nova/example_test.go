package nova_test

import (
	"context"
	"fmt"
	"time"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/nova"
)

// A cloud from clouds.yaml, as the openstack CLI would find it (Cloud ""
// means OS_CLOUD; with neither, an openrc's OS_* variables are used).
func ExampleNew_cloudsYAML() {
	src, err := nova.New(nova.Config{
		Cloud:      "prod",
		CloudsFile: "", // or an explicit path, e.g. for an integration test
		Interval:   10 * time.Second,
	})
	if err != nil {
		fmt.Println(err) // e.g. nova: config: cloud "prod": cloud "prod" not found in clouds.yaml
		return
	}
	go src.Run(context.Background(), func(b sources.Batch) { /* hand to the state store */ })
}

// Explicit credentials, as the built-in demo passes them.
func ExampleNew_explicit() {
	src, err := nova.New(nova.Config{
		Auth: &nova.Auth{
			URL:               "http://127.0.0.1:5000/v3",
			Username:          "admin",
			Password:          "demo-password",
			UserDomainName:    "Default",
			ProjectName:       "admin",
			ProjectDomainName: "Default",
		},
		Region: "RegionOne",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(src.Name(), src.Target())
	// Output: nova http://127.0.0.1:5000/v3
}
