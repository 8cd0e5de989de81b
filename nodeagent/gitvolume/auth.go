package gitvolume

import (
	"fmt"
	"net"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
	corev1 "k8s.io/api/core/v1"
)

// CredentialsAnnotation on a pod names a Secret in the pod's namespace that
// its gitRepo volumes authenticate with: a kubernetes.io/basic-auth Secret
// (username, password: https) or a kubernetes.io/ssh-auth Secret
// (ssh-privatekey, and known_hosts with the server's key: ssh).
const CredentialsAnnotation = "shoal.run/git-credentials"

// AuthFromSecret turns a credentials Secret into go-git authentication.
func AuthFromSecret(s *corev1.Secret) (transport.AuthMethod, error) {
	get := func(k string) []byte {
		if v, ok := s.Data[k]; ok {
			return v
		}
		if v, ok := s.StringData[k]; ok {
			return []byte(v)
		}
		return nil
	}
	switch s.Type {
	case corev1.SecretTypeBasicAuth:
		return &githttp.BasicAuth{Username: string(get(corev1.BasicAuthUsernameKey)), Password: string(get(corev1.BasicAuthPasswordKey))}, nil
	case corev1.SecretTypeSSHAuth:
		keys, err := gitssh.NewPublicKeys("git", get(corev1.SSHAuthPrivateKey), "")
		if err != nil {
			return nil, fmt.Errorf("secret %s: %s: %w", s.Name, corev1.SSHAuthPrivateKey, err)
		}
		kh := get("known_hosts")
		if len(kh) == 0 {
			return nil, fmt.Errorf("secret %s: add the Git server's host key under known_hosts: shoal does not trust unknown ssh hosts", s.Name)
		}
		cb, err := knownHostsCallback(kh)
		if err != nil {
			return nil, fmt.Errorf("secret %s: known_hosts: %w", s.Name, err)
		}
		keys.HostKeyCallback = cb
		return keys, nil
	}
	return nil, fmt.Errorf("secret %s has type %q: Git credentials need type kubernetes.io/basic-auth or kubernetes.io/ssh-auth", s.Name, s.Type)
}

// knownHostsCallback checks ssh host keys against known_hosts content.
func knownHostsCallback(data []byte) (ssh.HostKeyCallback, error) {
	var keys []struct {
		hosts []string
		key   ssh.PublicKey
	}
	rest := data
	for len(rest) > 0 {
		_, hosts, key, _, r, err := ssh.ParseKnownHosts(rest)
		if err != nil {
			break
		}
		keys = append(keys, struct {
			hosts []string
			key   ssh.PublicKey
		}{hosts, key})
		rest = r
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("no host keys found")
	}
	return func(hostname string, remote netAddr, key ssh.PublicKey) error {
		addr := knownhosts.Normalize(hostname)
		for _, k := range keys {
			for _, h := range k.hosts {
				if knownhosts.Normalize(h) == addr && string(k.key.Marshal()) == string(key.Marshal()) {
					return nil
				}
			}
		}
		return fmt.Errorf("ssh: host key of %s is not in known_hosts", hostname)
	}, nil
}

// netAddr is the address type ssh.HostKeyCallback takes.
type netAddr = net.Addr
