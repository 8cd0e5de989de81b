// Command testapp is shoal's own test workload: a small static HTTP server
// whose every answer names the pod that gave it, with health endpoints that
// can be made to fail, environment and file echo, and exit on demand. The
// end-to-end tests and benchmarks run it as a container image built from
// this package (CGO_ENABLED=0, so the binary alone is a working image).
//
// Endpoints (all plain text):
//
//	/            "hello from HOSTNAME"
//	/healthz     200 "ok" until /healthz/fail, then 500 (liveness)
//	/healthz/fail
//	/ready       200 "ready" until /ready/fail, 503 after (readiness); /ready/ok restores
//	/ready/fail, /ready/ok
//	/env         every environment variable, sorted, NAME=value per line
//	/env/NAME    one variable's value (404 when unset)
//	/file?path=P the content of file P
//	/exit?code=N exits the process with code N after answering
//	/alloc?mb=N  allocates and touches N MiB (for memory-limit tests)
//
// Flags: -listen (default :8080), -exit-after D and -exit-code N (exit by
// itself), -term-delay D (on SIGTERM, wait D before exiting 0), -ready-after D.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "version" {
		fmt.Println("testapp 1")
		return
	}
	listen := flag.String("listen", ":8080", "address to listen on")
	exitAfter := flag.Duration("exit-after", 0, "exit by itself after this long (0: never)")
	exitCode := flag.Int("exit-code", 0, "exit code for -exit-after")
	termDelay := flag.Duration("term-delay", 0, "on SIGTERM, wait this long before exiting 0")
	readyAfter := flag.Duration("ready-after", 0, "report not ready for this long after start")
	flag.Parse()

	host, _ := os.Hostname()
	start := time.Now()
	var healthy, ready atomic.Bool
	healthy.Store(true)
	ready.Store(true)
	var ballast [][]byte

	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s\n", host)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() {
			http.Error(w, "unhealthy "+host, http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "ok %s\n", host)
	})
	mux.HandleFunc("/healthz/fail", func(w http.ResponseWriter, r *http.Request) {
		healthy.Store(false)
		fmt.Fprintf(w, "liveness will fail on %s\n", host)
	})
	mux.HandleFunc("/ready", func(w http.ResponseWriter, r *http.Request) {
		if !ready.Load() || time.Since(start) < *readyAfter {
			http.Error(w, "not ready "+host, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "ready %s\n", host)
	})
	mux.HandleFunc("/ready/fail", func(w http.ResponseWriter, r *http.Request) {
		ready.Store(false)
		fmt.Fprintf(w, "readiness will fail on %s\n", host)
	})
	mux.HandleFunc("/ready/ok", func(w http.ResponseWriter, r *http.Request) {
		ready.Store(true)
		fmt.Fprintf(w, "readiness restored on %s\n", host)
	})
	mux.HandleFunc("/env", func(w http.ResponseWriter, r *http.Request) {
		env := os.Environ()
		sort.Strings(env)
		fmt.Fprintln(w, strings.Join(env, "\n"))
	})
	mux.HandleFunc("/env/", func(w http.ResponseWriter, r *http.Request) {
		v, ok := os.LookupEnv(strings.TrimPrefix(r.URL.Path, "/env/"))
		if !ok {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, v)
	})
	mux.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) {
		data, err := os.ReadFile(r.URL.Query().Get("path"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Write(data)
	})
	mux.HandleFunc("/exit", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		fmt.Fprintf(w, "%s exiting with %d\n", host, code)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		go func() { time.Sleep(50 * time.Millisecond); os.Exit(code) }()
	})
	mux.HandleFunc("/alloc", func(w http.ResponseWriter, r *http.Request) {
		mb, _ := strconv.Atoi(r.URL.Query().Get("mb"))
		for i := 0; i < mb; i++ {
			b := make([]byte, 1<<20)
			for j := range b {
				b[j] = byte(j)
			}
			ballast = append(ballast, b)
		}
		fmt.Fprintf(w, "%s holds %d MiB\n", host, len(ballast))
	})

	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		sig := <-sigs
		fmt.Printf("testapp on %s got %s\n", host, sig)
		time.Sleep(*termDelay)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		os.Exit(0)
	}()
	if *exitAfter > 0 {
		go func() {
			time.Sleep(*exitAfter)
			fmt.Printf("testapp on %s exiting with %d\n", host, *exitCode)
			os.Exit(*exitCode)
		}()
	}
	fmt.Printf("testapp on %s listening on %s\n", host, *listen)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "testapp:", err)
		os.Exit(1)
	}
}
