package gitsource

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"testing"

	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
)

// TestNewSSHAuth: an ssh key and known_hosts make a verifying auth method;
// a bad key fails New.
func TestNewSSHAuth(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	hostPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hostKey, err := ssh.NewPublicKey(hostPub)
	if err != nil {
		t.Fatal(err)
	}
	knownHosts := "git.example.com " + string(ssh.MarshalAuthorizedKey(hostKey))

	cfg := DefaultConfig("ssh://git@git.example.com/org/site.git")
	cfg.CacheDir = t.TempDir()
	cfg.Auth = Auth{SSHPrivateKey: pem.EncodeToMemory(block), SSHKnownHosts: []byte(knownHosts)}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	keys, ok := s.auth.(*gitssh.PublicKeys)
	if !ok || keys.User != "git" || keys.HostKeyCallback == nil {
		t.Fatalf("auth = %#v", s.auth)
	}
	cc, err := keys.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	if err := cc.HostKeyCallback("git.example.com:22", fakeAddr{}, hostKey); err != nil {
		t.Errorf("known host rejected: %v", err)
	}
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	other, _ := ssh.NewPublicKey(otherPub)
	if err := cc.HostKeyCallback("git.example.com:22", fakeAddr{}, other); err == nil {
		t.Error("a different host key was accepted")
	}

	cfg.Auth.SSHPrivateKey = []byte("not a key")
	if _, err := New(cfg); err == nil {
		t.Error("New accepted a bad private key")
	}
}

type fakeAddr struct{}

func (fakeAddr) Network() string { return "tcp" }
func (fakeAddr) String() string  { return "192.0.2.1:22" }
