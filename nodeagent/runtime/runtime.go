package runtime

import (
	"debug/elf"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/shoal-run/shoal/nodeagent/runtime/pid1"
)

// Errors the runtime returns; branch on them with errors.Is.
var (
	// ErrExists: Start was given an ID that is already in use.
	ErrExists = errors.New("container already exists")
	// ErrNotFound: no container with that ID.
	ErrNotFound = errors.New("container not found")
	// ErrNotRunning: the operation needs a running container.
	ErrNotRunning = errors.New("container not running")
	// ErrCommandNotFound: the command is not in the container's root (or
	// PATH). Kubernetes reports it as CreateContainerError/StartError.
	ErrCommandNotFound = errors.New("executable file not found")
	// ErrNotExecutable: the command exists but is not an executable file.
	ErrNotExecutable = errors.New("file is not executable")
	// ErrInvalidSpec: the ContainerSpec (or ExecSpec) is malformed.
	ErrInvalidSpec = errors.New("invalid container spec")
)

// Config configures a Runtime.
type Config struct {
	// Root holds all the runtime's state: Root/libcontainer (libcontainer's
	// state root) and Root/containers/<id>/ (spec, rootfs mount point,
	// overlay upper/work directories, run directory with log and status).
	// It must not be the folder of the agent's own binary (nor contain it in
	// Root/libcontainer): libcontainer's binary sealing overlay would fail
	// and fall back to copying the binary on every start.
	Root string
	// CgroupParent is the absolute cgroupfs path under which containers
	// live (as CgroupParent/<id>), e.g. "/shoal/<node>".
	CgroupParent string
	// InitBinary is a static executable implementing the container init
	// (pid1.Main); default: os.Executable(). It is bind-mounted read-only
	// at /.shoal/init in every container.
	InitBinary string
	// Logger receives the runtime's logs (component=runtime); default
	// slog.Default().
	Logger *slog.Logger
}

// RemoveOptions adjust Remove.
type RemoveOptions struct {
	// KeepLogs leaves Root/containers/<id>/shoal/log (see LogPath) in place.
	KeepLogs bool
}

// Runtime runs containers through libcontainer. It is safe for concurrent
// use. Several Runtimes (in one process or several, one after another) may
// work on the same Root: a new one re-adopts the containers it finds there.
// Dropping a Runtime leaves its containers running.
type Runtime struct {
	cfg    Config
	log    *slog.Logger
	lcRoot string
	nofile uint64

	mu         sync.Mutex
	containers map[string]*container
	starting   map[string]bool
}

// New checks cfg and prepares Root. It fails when InitBinary is not a
// static ELF executable (it runs inside containers that have no dynamic
// loader).
func New(cfg Config) (*Runtime, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if !filepath.IsAbs(cfg.Root) {
		return nil, fmt.Errorf("runtime: Root %q must be an absolute path", cfg.Root)
	}
	cfg.Root = filepath.Clean(cfg.Root)
	if !path.IsAbs(cfg.CgroupParent) || path.Clean(cfg.CgroupParent) == "/" {
		return nil, fmt.Errorf("runtime: CgroupParent %q must be an absolute cgroup path below the root", cfg.CgroupParent)
	}
	cfg.CgroupParent = path.Clean(cfg.CgroupParent)
	if cfg.InitBinary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("runtime: InitBinary not set and own executable unknown: %w", err)
		}
		cfg.InitBinary = exe
	}
	if err := checkStaticELF(cfg.InitBinary); err != nil {
		return nil, fmt.Errorf("runtime: InitBinary: %w", err)
	}
	lcRoot := filepath.Join(cfg.Root, "libcontainer")
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		if d := filepath.Dir(exe); lcRoot == d || strings.HasPrefix(lcRoot, d+"/") {
			return nil, fmt.Errorf("runtime: Root %s puts libcontainer's state inside %s, the folder of the agent binary: choose another Root", cfg.Root, d)
		}
	}
	for _, d := range []string{lcRoot, filepath.Join(cfg.Root, "containers")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("runtime: %w", err)
		}
	}
	var rl unix.Rlimit
	nofile := uint64(maxNofile)
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err == nil && rl.Max < nofile {
		nofile = rl.Max
	}
	return &Runtime{
		cfg:        cfg,
		log:        cfg.Logger.With("component", "runtime"),
		lcRoot:     lcRoot,
		nofile:     nofile,
		containers: map[string]*container{},
		starting:   map[string]bool{},
	}, nil
}

// checkStaticELF fails unless p is an ELF executable without a program
// interpreter.
func checkStaticELF(p string) error {
	f, err := elf.Open(p)
	if err != nil {
		return fmt.Errorf("%s is not an ELF executable: %w", p, err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked (it has a PT_INTERP program header); the container init must be static: build it with CGO_ENABLED=0, or with -ldflags '-linkmode external -extldflags -static' when it needs cgo", p)
		}
	}
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not executable", p)
	}
	return nil
}

func (r *Runtime) containerDir(id string) string {
	return filepath.Join(r.cfg.Root, "containers", id)
}

// LogPath is the container's CRI-format log file (written by its init,
// also while no agent runs). It is a pure function of the ID.
func (r *Runtime) LogPath(id string) string {
	return filepath.Join(r.containerDir(id), runDir, pid1.LogFile)
}

// List reports every container under Root (for re-adoption when an agent
// starts), sorted by ID. Folders left with only a kept log are not
// containers.
func (r *Runtime) List() ([]State, error) {
	entries, err := os.ReadDir(filepath.Join(r.cfg.Root, "containers"))
	if err != nil {
		return nil, err
	}
	var out []State
	for _, e := range entries {
		if !e.IsDir() || validateID(e.Name()) != nil {
			continue
		}
		st, err := r.State(e.Name())
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// PruneCgroupParent removes the CgroupParent folders (and their parents up
// to the hierarchy root) in every cgroup hierarchy where they are empty.
// For node teardown and tests; containers of other Runtimes are untouched.
func (r *Runtime) PruneCgroupParent() error {
	return removeEmptyCgroupDirs(r.cfg.CgroupParent)
}

// get returns the container, re-adopting it from disk on first use.
func (r *Runtime) get(id string) (*container, error) {
	if err := validateID(id); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.containers[id]; c != nil {
		return c, nil
	}
	if r.starting[id] {
		return nil, fmt.Errorf("container %s: %w (still starting)", id, ErrNotFound)
	}
	c, err := r.adopt(id)
	if err != nil {
		return nil, err
	}
	r.containers[id] = c
	return c, nil
}
