package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHTTPLimits: a client dribbling its headers (slowloris) is cut off at
// the read-header timeout while others are served, and a header block over
// the configured size is refused with 431.
func TestHTTPLimits(t *testing.T) {
	const headerTimeout = 500 * time.Millisecond
	th := startServe(t, map[string]string{"OCRHOST_HTTP_READ_HEADER_TIMEOUT": headerTimeout.String(),
		"OCRHOST_HTTP_MAX_HEADER_BYTES": "16KiB"})
	addr := strings.TrimPrefix(th.httpURL, "http://")

	t.Run("slowloris", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		start := time.Now()
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: ocrhost\r\n"); err != nil {
				return
			}
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-tick.C:
					if _, err := fmt.Fprintf(conn, "X-Drip-%d: a\r\n", i); err != nil {
						return
					}
				}
			}
		}()
		// Served meanwhile.
		resp, err := http.Get(th.httpURL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("normal request: %d", resp.StatusCode)
		}
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		got, err := io.ReadAll(conn)
		took := time.Since(start)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("slow client still connected after %v", took)
		}
		if took < headerTimeout-50*time.Millisecond || took > 5*headerTimeout {
			t.Errorf("cut off after %v, want about %v", took, headerTimeout)
		}
		if strings.Contains(string(got), " 200 ") {
			t.Errorf("slow client was answered: %q", got)
		}
	})

	t.Run("header size", func(t *testing.T) {
		for size, want := range map[int]int{8 << 10: http.StatusOK, 32 << 10: http.StatusRequestHeaderFieldsTooLarge} {
			req, _ := http.NewRequest("GET", th.httpURL+"/healthz", nil)
			req.Header.Set("X-Big", strings.Repeat("a", size))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("%d-byte header: %d, want %d", size, resp.StatusCode, want)
			}
		}
	})
}

func TestHTTPAndIdleConfig(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		c, err := loadConfig()
		if err != nil {
			t.Fatal(err)
		}
		if c.HTTPReadHeaderTimeout != 10*time.Second || c.HTTPReadTimeout != 2*time.Minute ||
			c.HTTPIdleTimeout != 2*time.Minute || c.HTTPMaxHeaderBytes != 64<<10 || c.ExitWhenIdle != 0 {
			t.Errorf("%+v", c)
		}
	})
	for k, v := range map[string]string{
		"OCRHOST_HTTP_READ_HEADER_TIMEOUT": "0s",
		"OCRHOST_HTTP_IDLE_TIMEOUT":        "-1s",
		"OCRHOST_HTTP_MAX_HEADER_BYTES":    "lots",
		"OCRHOST_EXIT_WHEN_IDLE":           "-5s",
	} {
		t.Run(k, func(t *testing.T) {
			t.Setenv(k, v)
			if _, err := loadConfig(); err == nil || !strings.Contains(err.Error(), k) {
				t.Errorf("%s=%s: %v, want an error naming it", k, v, err)
			}
		})
	}
}
