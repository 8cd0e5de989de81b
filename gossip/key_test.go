package gossip

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenerateKey(t *testing.T) {
	a, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := GenerateKey()
	if len(a) != KeySize || bytes.Equal(a, b) {
		t.Fatalf("keys %x and %x: want two different %d-byte keys", a, b, KeySize)
	}
}

func TestKeyEncoding(t *testing.T) {
	for _, n := range []int{16, 24, 32} {
		key := bytes.Repeat([]byte{byte(n)}, n)
		got, err := DecodeKey("  " + EncodeKey(key) + "\n")
		if err != nil || !bytes.Equal(got, key) {
			t.Errorf("%d bytes: DecodeKey(EncodeKey) = %x, %v", n, got, err)
		}
	}
	for _, s := range []string{"", "not base64!", EncodeKey(make([]byte, 20))} {
		if _, err := DecodeKey(s); err == nil {
			t.Errorf("DecodeKey(%q) succeeded", s)
		}
	}
}

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cluster.key")
	key, _ := GenerateKey()
	if err := WriteKeyFile(path, key); err != nil {
		t.Fatal(err)
	}
	if err := WriteKeyFile(path, key); err == nil {
		t.Error("WriteKeyFile overwrote an existing key file")
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	got, err := ReadKeyFile(path)
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("ReadKeyFile = %x, %v; want %x", got, err, key)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string // "" = valid
	}{
		{"valid", func(*Config) {}, ""},
		{"no name", func(c *Config) { c.Name = "" }, "Name"},
		{"no key", func(c *Config) { c.ClusterKey = nil }, "ClusterKey is empty"},
		{"bad key size", func(c *Config) { c.ClusterKey = make([]byte, 10) }, "ClusterKey"},
		{"long API address", func(c *Config) { c.APIAddr = strings.Repeat("a", maxAPIAddr+1) }, "APIAddr"},
		{"bad port", func(c *Config) { c.BindPort = 70000 }, "BindPort"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := LocalConfig("n")
			cfg.ClusterKey = testKey
			tt.change(cfg)
			err := cfg.validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want ErrConfig mentioning %q", err, tt.want)
			}
		})
	}
}
