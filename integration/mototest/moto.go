// Package mototest runs Python moto's server (moto_server) on 127.0.0.1 for
// tests that need AWS STS, IAM or S3 to answer in the real wire format:
// the real aws-sdk-go-v2 clients talk to it.
//
// moto_server listens on a free port chosen by the test, lives in a fresh
// process per Start (no state shared between tests) and is stopped by PID
// when the test ends; on Linux the kernel kills it if the test binary dies
// first. When moto_server is not installed, Start skips the test locally
// and fails it under IDBRIDGE_REQUIRE_INTEGRATION=1 (integration/testenv).
// Install it with: pip install 'moto[server]'.
package mototest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/idbridge/idbridge/integration/testenv"
)

// Install is how to get moto_server, for the skip message and .ci/setup.
const Install = "pip install 'moto[server]'"

// Server is a running moto_server.
type Server struct {
	// URL is the endpoint for every service, http://127.0.0.1:PORT.
	URL string
	cmd *exec.Cmd
}

// Start runs moto_server and waits until it answers. The server is stopped
// when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		testenv.Missing(t, "moto_server (Python moto)", Install)
	}
	var lastErr error
	for range 3 { // a port freed for us can be taken before moto binds it
		port, err := testenv.FreePort()
		if err != nil {
			t.Fatalf("mototest: %v", err)
		}
		cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
		cmd.SysProcAttr = testenv.SysProcAttr()
		cmd.Env = append(os.Environ(), "MOTO_ALLOW_NONEXISTENT_REGION=true")
		if err := cmd.Start(); err != nil {
			t.Fatalf("mototest: starting moto_server: %v", err)
		}
		s := &Server{URL: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		if lastErr = s.wait(exited); lastErr == nil {
			t.Cleanup(func() {
				_ = cmd.Process.Kill() // by PID; fails only if it already exited
				<-exited
			})
			return s
		}
		_ = cmd.Process.Kill()
	}
	t.Fatalf("mototest: moto_server did not start: %v", lastErr)
	return nil
}

func (s *Server) wait(exited <-chan error) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("moto_server exited: %v", err)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/moto-api/", nil)
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			return nil
		}
		// Polling is the only readiness signal a child process gives.
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("no answer on %s within 30s", s.URL)
}

// Config is an aws.Config pointing every client at the server, with moto's
// conventional static test credentials (moto accepts any).
func (s *Server) Config() aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
	}
}
