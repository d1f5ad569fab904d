package demo_test

import (
	"context"
	"fmt"
	"log"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/demo"
)

// Example shows how `stacktop --demo` wires the simulator to the real sources.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cloud, err := demo.Start(ctx, demo.DefaultConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer cloud.Close()

	cr := cloud.Credentials()
	// nova.Config{Auth: &nova.Auth{URL: cr.AuthURL, Username: cr.Username, Password: cr.Password,
	//     UserDomainName: cr.UserDomainName, ProjectName: cr.ProjectName, ProjectDomainName: cr.ProjectDomainName},
	//     Region: cr.Region}
	// rabbitmq.Config{URL: cr.RabbitURL, User: cr.RabbitUser, Password: cr.RabbitPassword, VHost: cr.VHost}
	fmt.Println(cr.AuthURL, cr.RabbitURL, cr.VHost)

	// Heartbeats and canary probes come from the simulator directly.
	var hb sources.Source = cloud.HeartbeatSource()
	go func() { _ = hb.Run(ctx, func(b sources.Batch) { /* hand to the state */ }) }()
}
