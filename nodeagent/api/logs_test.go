package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

func TestLogsOptions(t *testing.T) {
	svc := &fakeService{pods: testPods(), logs: func(_ context.Context, _, _ string, _ LogOptions, w io.Writer) error {
		_, err := io.WriteString(w, "line 1\nline 2\n")
		return err
	}}
	_, c := start(t, svc, "")
	tests := []struct {
		name string
		in   LogOptions
		want LogOptions // what the service is asked
	}{
		{"defaults", LogOptions{TailLines: -1}, LogOptions{TailLines: -1}},
		{"everything", LogOptions{Container: "main", Previous: true, Timestamps: true, TailLines: 10, Since: 90 * time.Second},
			LogOptions{Container: "main", Previous: true, Timestamps: true, TailLines: 10, Since: 90 * time.Second}},
		{"tail zero", LogOptions{TailLines: 0}, LogOptions{TailLines: 0}},
		{"since rounds up to seconds", LogOptions{TailLines: -1, Since: 1500 * time.Millisecond}, LogOptions{TailLines: -1, Since: 2 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			if err := c.Logs(context.Background(), "default", "web", tt.in, &out); err != nil {
				t.Fatal(err)
			}
			if out.String() != "line 1\nline 2\n" {
				t.Errorf("log %q", out.String())
			}
			if got := svc.lastLogOpts(); got != tt.want {
				t.Errorf("service asked for %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLogsErrors(t *testing.T) {
	svc := &fakeService{pods: testPods(), logs: func(_ context.Context, _, _ string, opts LogOptions, w io.Writer) error {
		switch opts.Container {
		case "nope":
			return fmt.Errorf("container %q: %w", opts.Container, ErrNotFound)
		case "ambiguous":
			return fmt.Errorf("pod has containers a and b: name one: %w", ErrBadRequest)
		case "broken":
			io.WriteString(w, "before\n")
			return errors.New("log file vanished")
		}
		return nil
	}}
	_, c := start(t, svc, "")
	ctx := context.Background()

	var out strings.Builder
	if err := c.Logs(ctx, "default", "web", LogOptions{}, &out); err != nil || out.Len() != 0 {
		t.Errorf("empty log: %q %v", out.String(), err)
	}
	err := c.Logs(ctx, "default", "web", LogOptions{Container: "nope"}, &out)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `container "nope"`) {
		t.Errorf("missing container: %v", err)
	}
	err = c.Logs(ctx, "default", "web", LogOptions{Container: "ambiguous"}, &out)
	if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), "name one") {
		t.Errorf("ambiguous container: %v", err)
	}
	err = c.Logs(ctx, "default", "nope", LogOptions{}, &out)
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("missing pod: %v", err)
	}
	out.Reset()
	err = c.Logs(ctx, "default", "web", LogOptions{Container: "broken"}, &out)
	if err == nil || !strings.Contains(err.Error(), "log file vanished") || out.String() != "before\n" {
		t.Errorf("error after the log started: %q %v", out.String(), err)
	}
}

func TestLogsFollow(t *testing.T) {
	next := make(chan string)
	serverDone := make(chan error, 1)
	svc := &fakeService{pods: testPods(), logs: func(ctx context.Context, _, _ string, _ LogOptions, w io.Writer) error {
		for {
			select {
			case l := <-next:
				if _, err := io.WriteString(w, l+"\n"); err != nil {
					serverDone <- err
					return err
				}
			case <-ctx.Done():
				serverDone <- ctx.Err()
				return ctx.Err()
			}
		}
	}}
	_, c := start(t, svc, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	clientDone := make(chan error, 1)
	go func() {
		clientDone <- c.Logs(ctx, "default", "web", LogOptions{Follow: true, TailLines: -1}, &out)
	}()

	// Each line reaches the client while the stream is still open.
	want := ""
	for i := range 3 {
		l := fmt.Sprintf("line %d", i)
		select {
		case next <- l:
		case <-time.After(5 * time.Second):
			t.Fatal("the service was not asked for the log")
		}
		want += l + "\n"
		waitFor(t, l, func() bool { return out.String() == want })
	}
	if !svc.lastLogOpts().Follow {
		t.Error("follow did not reach the service")
	}

	// The client leaving ends the service's Logs.
	cancel()
	if err := receive(t, "client Logs to return", clientDone); !errors.Is(err, context.Canceled) {
		t.Errorf("client Logs = %v, want context.Canceled", err)
	}
	if err := receive(t, "service Logs to return", serverDone); err == nil {
		t.Error("service Logs ended without an error")
	}
}
