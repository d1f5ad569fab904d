package demo

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// benchCloud is a large cloud mid-incident: 5,000 computes, 20,000 extra queues.
func benchCloud(b *testing.B) *Cloud {
	b.Helper()
	clk := &fakeClock{t: at(105)}
	c, err := Start(b.Context(), Config{Computes: 5000, ExtraQueues: 20000, Epoch: testEpoch, Now: clk.Now})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

func benchGet(b *testing.B, url string, header map[string]string, user, pass string) {
	b.Helper()
	var n int64
	for b.Loop() {
		req, _ := http.NewRequest("GET", url, nil)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	b.SetBytes(n)
}

func BenchmarkOSServices5000(b *testing.B) {
	c := benchCloud(b)
	tok := benchToken(b, c)
	benchGet(b, c.NovaURL()+"/os-services", map[string]string{"X-Auth-Token": tok, "X-OpenStack-Nova-API-Version": "2.53"}, "", "")
}

func BenchmarkQueuesColumns45000(b *testing.B) {
	c := benchCloud(b)
	benchGet(b, c.RabbitURL()+"/api/queues/nova?columns=name,vhost,messages,messages_ready,messages_unacknowledged,consumers", nil, c.cfg.RabbitUser, c.cfg.RabbitPassword)
}

func BenchmarkQueuesFull45000(b *testing.B) {
	c := benchCloud(b)
	benchGet(b, c.RabbitURL()+"/api/queues/nova", nil, c.cfg.RabbitUser, c.cfg.RabbitPassword)
}

func benchToken(b *testing.B, c *Cloud) string {
	b.Helper()
	req, _ := http.NewRequest("POST", c.KeystoneURL()+"/auth/tokens", bytes.NewReader(passwordAuth(c, c.cfg.Password)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("X-Subject-Token")
}
