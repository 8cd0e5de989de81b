package gossip

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/memberlist"
)

// KeySize is the size of the keys GenerateKey makes (AES-256).
const KeySize = 32

// GenerateKey returns a new random 32-byte cluster key.
func GenerateKey() ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("gossip: generate key: %w", err)
	}
	return key, nil
}

// EncodeKey returns the text form of a key: standard base64, as written to a
// key file and accepted by DecodeKey.
func EncodeKey(key []byte) string {
	return base64.StdEncoding.EncodeToString(key)
}

// DecodeKey parses the text form of a key (surrounding white space allowed)
// and checks that it is 16, 24 or 32 bytes long.
func DecodeKey(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("gossip: cluster key is not base64: %w", err)
	}
	if err := memberlist.ValidateKey(key); err != nil {
		return nil, fmt.Errorf("gossip: cluster key: %w", err)
	}
	return key, nil
}

// WriteKeyFile writes key to path in its text form, readable by the owner
// only. It refuses to overwrite an existing file.
func WriteKeyFile(path string, key []byte) error {
	if err := memberlist.ValidateKey(key); err != nil {
		return fmt.Errorf("gossip: cluster key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("gossip: write key file: %w", err)
	}
	if _, err := f.WriteString(EncodeKey(key) + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("gossip: write key file %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("gossip: write key file %s: %w", path, err)
	}
	return nil
}

// ReadKeyFile reads a key file written by WriteKeyFile (or any file holding
// a base64 key).
func ReadKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("gossip: read key file: %w", err)
	}
	key, err := DecodeKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}
