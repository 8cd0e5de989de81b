package manifests

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
)

// Level is how shoal treats a kind or a field.
type Level int

const (
	// Supported fields are read, defaulted, validated and acted on.
	Supported Level = iota
	// Ignored fields are read and left alone, with a warning. Only fields
	// whose absence cannot change what runs are ignored.
	Ignored
	// Refused fields make the object an error: running it without them would
	// run something other than what the manifest says.
	Refused
)

// String names the level as the support matrix does.
func (l Level) String() string {
	switch l {
	case Ignored:
		return "ignored (warning)"
	case Refused:
		return "refused (error)"
	}
	return "supported"
}

// FieldRule classifies one field of a kind. Paths are relative to the rule
// group they belong to, with "[]" for the items of a list
// ("containers[].ports[].hostIP").
type FieldRule struct {
	Path  string
	Level Level
	// Note says what shoal does with the field, or why it is ignored or
	// refused. For refused fields it is the error message.
	Note string
	// Subtree makes the rule cover every field below Path, which then needs
	// no rules of its own.
	Subtree bool
	// Check, when set, decides the level from the value as written (for
	// example, a volume mode that is supported for one value and refused for
	// another). It returns the level and the message to report; a nil Check
	// means the rule's Level applies to any value.
	Check func(v any) (Level, string) `json:"-"`
}

// mount places a shared rule group at a path of another.
type mount struct {
	at    string
	group *ruleGroup
}

// ruleGroup is the rules of one Go type (a kind, PodSpec, ObjectMeta, ...)
// and the groups mounted inside it.
type ruleGroup struct {
	name   string
	rules  []FieldRule
	mounts []mount
	byPath map[string]*FieldRule
	byAt   map[string]*ruleGroup
}

func newGroup(name string, mounts []mount, rules ...FieldRule) *ruleGroup {
	g := &ruleGroup{name: name, rules: rules, mounts: mounts, byPath: map[string]*FieldRule{}, byAt: map[string]*ruleGroup{}}
	for i := range g.rules {
		if _, dup := g.byPath[g.rules[i].Path]; dup {
			panic("manifests: duplicate support rule " + name + " " + g.rules[i].Path)
		}
		g.byPath[g.rules[i].Path] = &g.rules[i]
	}
	for _, m := range mounts {
		g.byAt[m.at] = m.group
	}
	return g
}

// checkSupport classifies every field an object sets (as its generic JSON
// form) and returns the ignored and refused ones.
func checkSupport(kind string, obj map[string]any) []fieldProblem {
	loadSupport()
	g := supportByKind[kind]
	if g == nil {
		return nil
	}
	var out []fieldProblem
	for _, k := range sortedKeys(obj) {
		if k == "apiVersion" || k == "kind" {
			continue
		}
		g.check(k, obj[k], []pathElem{{name: k}}, &out)
	}
	return out
}

// check classifies the value v at rel (relative to g); abs is its full path.
func (g *ruleGroup) check(rel string, v any, abs []pathElem, out *[]fieldProblem) {
	if v == nil {
		return
	}
	if sub := g.byAt[rel]; sub != nil {
		sub.checkChildren("", v, abs, out)
		return
	}
	r := g.byPath[rel]
	if r != nil {
		level, msg := r.Level, r.Note
		if r.Check != nil {
			level, msg = r.Check(v)
		}
		switch level {
		case Refused:
			*out = append(*out, fieldProblem{path: formatPath(abs), message: msg})
			return
		case Ignored:
			*out = append(*out, fieldProblem{path: formatPath(abs), message: "ignored: " + msg, warning: true})
			return
		}
		if r.Subtree {
			return
		}
	}
	g.checkChildren(rel, v, abs, out)
}

// checkChildren descends into a map's fields or a list's items.
func (g *ruleGroup) checkChildren(rel string, v any, abs []pathElem, out *[]fieldProblem) {
	join := func(k string) string {
		if rel == "" {
			return k
		}
		return rel + "." + k
	}
	switch x := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			g.check(join(k), x[k], append(abs[:len(abs):len(abs)], pathElem{name: k}), out)
		}
	case []any:
		for i, e := range x {
			itemAbs := append(abs[:len(abs):len(abs)], pathElem{index: i, isIndex: true})
			if sub := g.byAt[rel+"[]"]; sub != nil {
				sub.checkChildren("", e, itemAbs, out)
				continue
			}
			g.checkChildren(rel+"[]", e, itemAbs, out)
		}
	}
}

// Rule constructors keep the tables below readable.

func sup(path string, note ...string) FieldRule {
	return FieldRule{Path: path, Level: Supported, Note: strings.Join(note, " ")}
}

func ign(path, note string) FieldRule { return FieldRule{Path: path, Level: Ignored, Note: note} }

func ref(path, note string) FieldRule { return FieldRule{Path: path, Level: Refused, Note: note} }

// tree marks a rule as covering its whole subtree.
func tree(r FieldRule) FieldRule { r.Subtree = true; return r }

// oneOf makes a rule supported for the listed string values and refused,
// with the note as the message, for any other.
func oneOf(r FieldRule, values ...string) FieldRule {
	r.Check = func(v any) (Level, string) {
		s, _ := v.(string)
		for _, ok := range values {
			if s == ok {
				return Supported, ""
			}
		}
		return Refused, fmt.Sprintf("value %q is not supported: %s", s, r.Note)
	}
	return r
}

// ignoreNonEmpty ignores a map field with a warning unless it is empty (as
// `status: {}` in exported manifests).
func ignoreNonEmpty(r FieldRule) FieldRule {
	r.Level = Ignored
	r.Subtree = true
	r.Check = func(v any) (Level, string) {
		if m, ok := v.(map[string]any); ok && len(m) == 0 {
			return Supported, ""
		}
		return Ignored, r.Note
	}
	return r
}

func volumeTypeRefused(at, name string) FieldRule {
	return tree(ref(at+name, fmt.Sprintf("volume type %s is not supported on shoal nodes: use hostPath, local or nfs volumes, or a PersistentVolumeClaim", name)))
}

// cloudVolumeTypes are the in-tree volume plugins that need a cloud or a
// storage system shoal does not drive.
var cloudVolumeTypes = []string{
	"gcePersistentDisk", "awsElasticBlockStore", "azureDisk", "azureFile", "cinder", "cephfs", "rbd", "iscsi",
	"fc", "flocker", "flexVolume", "glusterfs", "portworxVolume", "quobyte", "scaleIO", "storageos",
	"photonPersistentDisk", "vsphereVolume", "csi",
}

func refusedVolumeTypes(at string, extra ...string) []FieldRule {
	var out []FieldRule
	for _, n := range append(append([]string(nil), cloudVolumeTypes...), extra...) {
		out = append(out, volumeTypeRefused(at, n))
	}
	return out
}

const serverSet = "set by the Kubernetes API server, never by a manifest"

// objectMetaRules classifies metadata; template is true for the metadata of
// a pod or job template, whose name and namespace come from the controller.
func objectMetaRules(template bool) *ruleGroup {
	name := sup("name", "required; the object's identity in Git and in the cluster")
	namespace := sup("namespace", "defaults to \"default\" for namespaced kinds; ignored with a warning for cluster-scoped kinds")
	group := "ObjectMeta"
	annotations := sup("annotations", `shoal.run/prune: "false" (or Flux's kustomize.toolkit.fluxcd.io/prune: disabled, or Argo CD's argocd.argoproj.io/sync-options: Prune=false) keeps the object running as last applied when it leaves Git, until shoal delete`)
	if template {
		annotations = sup("annotations")
		name = ign("name", "a controller names the pods and jobs it creates")
		namespace = ign("namespace", "a template's objects live in the namespace of their controller")
		group = "ObjectMeta (templates)"
	}
	return newGroup(group, nil,
		name, namespace,
		tree(sup("labels")),
		tree(annotations),
		ref("generateName", "metadata.generateName is not supported: an object in Git needs a fixed metadata.name"),
		ign("selfLink", serverSet),
		ign("uid", serverSet),
		ign("resourceVersion", serverSet),
		ign("generation", serverSet),
		ign("creationTimestamp", serverSet),
		ign("deletionTimestamp", serverSet),
		ign("deletionGracePeriodSeconds", serverSet),
		tree(ign("managedFields", serverSet)),
		tree(ign("ownerReferences", "objects from Git are owned by the repository; shoal sets owners on what its controllers create")),
		tree(ign("finalizers", "shoal deletes an object when it leaves Git; there are no finalizers to wait for")),
	)
}

const selectorNote = "matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist)"

// The rule tables. They are built on first use (loadSupport), not at
// package initialization: every container start re-executes the agent's
// binary, and those processes never check support.
var (
	supportOnce                                                                      sync.Once
	objectMetaGroup, templateMetaGroup, podSpecGroup, podTemplateGroup, jobSpecGroup *ruleGroup
	statusRule                                                                       FieldRule
	pvRefusedSources                                                                 []FieldRule
	supportByKind                                                                    map[string]*ruleGroup
)

// loadSupport builds the rule tables once.
func loadSupport() { supportOnce.Do(buildSupport) }

func buildSupport() {
	objectMetaGroup = objectMetaRules(false)
	templateMetaGroup = objectMetaRules(true)
	statusRule = ignoreNonEmpty(FieldRule{Path: "status", Note: "status is reported by shoal, never read from manifests"})
	podSpecGroup = newGroup("PodSpec", nil, podSpecRules()...)
	podTemplateGroup = newGroup("PodTemplateSpec", []mount{{"metadata", templateMetaGroup}, {"spec", podSpecGroup}})
	jobSpecGroup = newJobSpecGroup()
	pvRefusedSources = refusedVolumeTypes("spec.")
	supportByKind = kindRules()
}

// probeRules classifies a probe or lifecycle handler's actions under at.
func handlerRules(at string, probe bool) []FieldRule {
	rules := []FieldRule{
		tree(sup(at+".exec", "runs the command in the container")),
		sup(at + ".httpGet.path"),
		sup(at+".httpGet.port", "number or container port name"),
		sup(at+".httpGet.host", "defaults to the pod IP"),
		oneOf(sup(at+".httpGet.scheme", "HTTP, HTTPS (certificates are not verified, as in Kubernetes)"), "HTTP", "HTTPS"),
		tree(sup(at + ".httpGet.httpHeaders")),
		oneOf(sup(at+".httpGet.protocol", "HTTP1 only"), "HTTP1"),
	}
	if probe {
		rules = append(rules,
			sup(at+".tcpSocket.port", "number or container port name"),
			sup(at+".tcpSocket.host"),
			tree(ref(at+".grpc", "gRPC probes are not supported: use httpGet, tcpSocket or exec")),
		)
	} else {
		rules = append(rules,
			tree(ref(at+".tcpSocket", "tcpSocket lifecycle handlers are not supported (Kubernetes deprecated them): use exec or httpGet")),
			sup(at+".sleep.seconds", "waits in the agent; the container is not touched"),
		)
	}
	return rules
}

// containerRules classifies a container. init is true for initContainers.
func containerRules(init bool) []FieldRule {
	rules := []FieldRule{
		sup("name"),
		sup("image", "pulled from an OCI registry or imported with `shoal image import`"),
		sup("command", "replaces the image's ENTRYPOINT; $(VAR) expanded as in Kubernetes"),
		sup("args", "replaces the image's CMD; $(VAR) expanded as in Kubernetes"),
		sup("workingDir"),
		sup("ports[].name"),
		sup("ports[].containerPort"),
		sup("ports[].hostPort"),
		sup("ports[].hostIP"),
		oneOf(sup("ports[].protocol", "TCP and UDP; SCTP is not supported"), "TCP", "UDP"),
		sup("envFrom[].prefix"),
		tree(sup("envFrom[].configMapRef")),
		tree(sup("envFrom[].secretRef")),
		sup("env[].name"),
		sup("env[].value"),
		tree(sup("env[].valueFrom.fieldRef", "metadata.name, metadata.namespace, metadata.uid, metadata.labels['k'], metadata.annotations['k'], spec.nodeName, spec.serviceAccountName, status.podIP, status.hostIP")),
		tree(sup("env[].valueFrom.resourceFieldRef")),
		tree(sup("env[].valueFrom.configMapKeyRef")),
		tree(sup("env[].valueFrom.secretKeyRef")),
		tree(ref("env[].valueFrom.fileKeyRef", "env valueFrom.fileKeyRef is not supported: read the file in the container, or use a ConfigMap")),
		{Path: "resources.limits", Level: Supported, Subtree: true, Note: "cpu (CFS quota), memory (cgroup limit), ephemeral-storage (reported only); extended resources are refused", Check: checkResourceNames},
		{Path: "resources.requests", Level: Supported, Subtree: true, Note: "cpu (CPU shares) and memory, used by the scheduler against allocatable", Check: checkResourceNames},
		tree(ref("resources.claims", "resources.claims is not supported: shoal has no dynamic resource allocation")),
		tree(ign("resizePolicy", "shoal does not resize containers in place; a changed template replaces the pod")),
		sup("volumeMounts[].name"),
		sup("volumeMounts[].mountPath"),
		sup("volumeMounts[].readOnly"),
		sup("volumeMounts[].subPath"),
		sup("volumeMounts[].subPathExpr"),
		oneOf(sup("volumeMounts[].mountPropagation", "None, HostToContainer, Bidirectional"), "None", "HostToContainer", "Bidirectional"),
		ref("volumeMounts[].recursiveReadOnly", "volumeMounts.recursiveReadOnly is not supported: use readOnly"),
		ref("volumeMounts[].bindMountOptions", "volumeMounts.bindMountOptions is not supported"),
		tree(ref("volumeDevices", "raw block devices (volumeDevices) are not supported")),
		sup("terminationMessagePath"),
		oneOf(sup("terminationMessagePolicy", "File, FallbackToLogsOnError"), "File", "FallbackToLogsOnError"),
		oneOf(sup("imagePullPolicy", "Always, IfNotPresent, Never"), "Always", "IfNotPresent", "Never"),
		tree(sup("securityContext.capabilities", "add and drop, as capability names with or without CAP_")),
		sup("securityContext.privileged"),
		sup("securityContext.runAsUser"),
		sup("securityContext.runAsGroup"),
		sup("securityContext.runAsNonRoot"),
		sup("securityContext.readOnlyRootFilesystem"),
		sup("securityContext.allowPrivilegeEscalation", "sets no_new_privs"),
		tree(ign("securityContext.seLinuxOptions", "shoal nodes do not label containers for SELinux")),
		tree(ign("securityContext.windowsOptions", "shoal runs Linux containers only")),
		oneOf(sup("securityContext.procMount", "Default only"), "Default"),
		tree(ign("securityContext.seccompProfile", "shoal does not install seccomp filters (see docs/SUPPORT.md)")),
		tree(ign("securityContext.appArmorProfile", "shoal does not load AppArmor profiles")),
		ign("stdin", "shoal has no attach; `shoal exec -i` gives an interactive session instead"),
		ign("stdinOnce", "shoal has no attach"),
		ign("tty", "shoal has no attach; `shoal exec -t` gives a terminal instead"),
		tree(ref("restartPolicyRules", "container restartPolicyRules are not supported")),
		ref("lifecycle.stopSignal", "lifecycle.stopSignal is not supported: containers are stopped with SIGTERM, then SIGKILL"),
	}
	for _, p := range []string{"livenessProbe", "readinessProbe", "startupProbe"} {
		rules = append(rules,
			sup(p+".initialDelaySeconds"), sup(p+".timeoutSeconds"), sup(p+".periodSeconds"),
			sup(p+".successThreshold"), sup(p+".failureThreshold"),
			ref(p+".terminationGracePeriodSeconds", "probe-level terminationGracePeriodSeconds is not supported: set it on the pod"),
		)
		rules = append(rules, handlerRules(p, true)...)
	}
	for _, h := range []string{"lifecycle.postStart", "lifecycle.preStop"} {
		rules = append(rules, handlerRules(h, false)...)
	}
	if init {
		rules = append(rules, ref("restartPolicy", "init containers with a restartPolicy (sidecar containers) are not supported: run the sidecar as an app container"))
	} else {
		rules = append(rules, ref("restartPolicy", "a container-level restartPolicy is only meaningful for init (sidecar) containers, which are not supported"))
	}
	return rules
}

// checkResourceNames refuses extended resources: no node of shoal's offers
// them, so a pod asking for one could never run.
func checkResourceNames(v any) (Level, string) {
	m, _ := v.(map[string]any)
	var bad []string
	for _, k := range sortedKeys(m) {
		switch k {
		case "cpu", "memory", "ephemeral-storage", "pods":
		default:
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		return Refused, fmt.Sprintf("resource %s is not supported: shoal nodes offer cpu, memory and ephemeral-storage only (no device plugins or hugepages)", strings.Join(bad, ", "))
	}
	return Supported, ""
}

func prefixRules(prefix string, rules []FieldRule) []FieldRule {
	out := make([]FieldRule, len(rules))
	for i, r := range rules {
		r.Path = prefix + r.Path
		out[i] = r
	}
	return out
}

func podSpecRules() []FieldRule {
	rules := []FieldRule{
		sup("containers", "real containers through libcontainer, one per entry"),
		sup("initContainers", "run in order to completion before the app containers"),
		tree(ref("ephemeralContainers", "ephemeralContainers are not supported: use `shoal exec`")),
		oneOf(sup("restartPolicy", "Always, OnFailure, Never"), "Always", "OnFailure", "Never"),
		sup("terminationGracePeriodSeconds", "SIGTERM, then SIGKILL when it runs out"),
		sup("activeDeadlineSeconds"),
		oneOf(sup("dnsPolicy", "ClusterFirst, ClusterFirstWithHostNet, Default, None"), "ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"),
		tree(sup("dnsConfig")),
		tree(sup("nodeSelector", "matched against node labels, including those Node objects in Git add")),
		sup("serviceAccountName", "identity only: reported and available to the downward API; no token is mounted"),
		sup("serviceAccount", "deprecated alias of serviceAccountName"),
		ign("automountServiceAccountToken", "shoal never mounts service account tokens: there is no Kubernetes API for pods to call"),
		sup("nodeName", "places the pod on that node, bypassing the scheduler"),
		sup("hostNetwork"),
		sup("hostPID"),
		sup("hostIPC"),
		ref("shareProcessNamespace", "shareProcessNamespace is not supported: each container has its own PID namespace"),
		sup("securityContext.runAsUser"),
		sup("securityContext.runAsGroup"),
		sup("securityContext.runAsNonRoot"),
		sup("securityContext.supplementalGroups"),
		oneOf(sup("securityContext.supplementalGroupsPolicy", "Merge only"), "Merge"),
		sup("securityContext.fsGroup", "volumes that support ownership are given to the group"),
		oneOf(sup("securityContext.fsGroupChangePolicy", "Always, OnRootMismatch"), "Always", "OnRootMismatch"),
		tree(ref("securityContext.sysctls", "pod sysctls are not supported")),
		tree(ign("securityContext.seLinuxOptions", "shoal nodes do not label containers for SELinux")),
		ign("securityContext.seLinuxChangePolicy", "shoal nodes do not label containers for SELinux"),
		tree(ign("securityContext.windowsOptions", "shoal runs Linux containers only")),
		tree(ign("securityContext.seccompProfile", "shoal does not install seccomp filters (see docs/SUPPORT.md)")),
		tree(ign("securityContext.appArmorProfile", "shoal does not load AppArmor profiles")),
		tree(sup("imagePullSecrets", "Secrets of type kubernetes.io/dockerconfigjson (and the older dockercfg)")),
		sup("hostname"),
		sup("subdomain"),
		tree(sup("affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution", "a filter of the scheduler")),
		tree(ign("affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution", "preferences do not change whether a pod runs; shoal's scheduler does not weigh them")),
		tree(ref("affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution", "required pod affinity is not supported: use nodeSelector or node affinity")),
		tree(ign("affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution", "preferences do not change whether a pod runs; shoal's scheduler does not weigh them")),
		tree(ref("affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution", "required pod anti-affinity is not supported: shoal's scheduler spreads a controller's pods across nodes by itself; use a DaemonSet for one pod per node")),
		tree(ign("affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution", "shoal's scheduler spreads a controller's pods across nodes by itself")),
		oneOf(sup("schedulerName", "default-scheduler only: a pod for another scheduler would never start"), "default-scheduler"),
		tree(ign("tolerations", "shoal nodes carry no taints, so tolerations have nothing to tolerate")),
		tree(sup("hostAliases", "added to the managed /etc/hosts")),
		ign("priorityClassName", "shoal does not preempt pods"),
		ign("priority", "shoal does not preempt pods"),
		ign("preemptionPolicy", "shoal does not preempt pods"),
		tree(ref("readinessGates", "readinessGates are not supported: nothing in shoal sets custom pod conditions")),
		ref("runtimeClassName", "runtimeClassName is not supported: shoal runs every container with libcontainer"),
		sup("enableServiceLinks", "the Docker-link style service environment variables"),
		tree(ign("overhead", "set by RuntimeClass admission in Kubernetes; shoal has none")),
		{Path: "topologySpreadConstraints", Level: Supported, Subtree: true, Check: checkSpread,
			Note: "whenUnsatisfiable: ScheduleAnyway is ignored with a warning (shoal spreads a controller's pods by itself); DoNotSchedule is refused"},
		sup("setHostnameAsFQDN"),
		oneOf(sup("os.name", "linux only"), "linux"),
		ref("hostUsers", "hostUsers (user namespaces) is not supported"),
		tree(ref("schedulingGates", "schedulingGates are not supported: nothing in shoal would remove them")),
		tree(ref("resourceClaims", "resourceClaims are not supported: shoal has no dynamic resource allocation")),
		tree(ref("resources", "pod-level resources are not supported: set resources on each container")),
		ref("hostnameOverride", "hostnameOverride is not supported: use hostname and subdomain"),
		tree(ref("schedulingGroup", "schedulingGroup (gang scheduling) is not supported")),
		tree(ref("evictionResponders", "evictionResponders are not supported")),
		sup("volumes[].name"),
		tree(sup("volumes[].emptyDir", "on disk, or tmpfs with medium: Memory (sizeLimit honoured)")),
		tree(sup("volumes[].hostPath", "every type check: Directory, DirectoryOrCreate, File, FileOrCreate, Socket, CharDevice, BlockDevice")),
		tree(sup("volumes[].gitRepo", "cloned with go-git before the containers start; the pod annotation shoal.run/git-sync keeps it on its branch")),
		tree(sup("volumes[].configMap", "updated in place through an atomically swapped ..data link")),
		tree(sup("volumes[].secret", "on tmpfs, never written to disk")),
		tree(sup("volumes[].downwardAPI")),
		sup("volumes[].projected.defaultMode"),
		ref("volumes[].projected.defaultUser", "projected.defaultUser is not supported"),
		tree(sup("volumes[].projected.sources[].configMap")),
		tree(sup("volumes[].projected.sources[].secret")),
		tree(sup("volumes[].projected.sources[].downwardAPI")),
		tree(ref("volumes[].projected.sources[].serviceAccountToken", "projected serviceAccountToken is not supported: shoal issues no service account tokens")),
		tree(ref("volumes[].projected.sources[].clusterTrustBundle", "projected clusterTrustBundle is not supported")),
		tree(ref("volumes[].projected.sources[].podCertificate", "projected podCertificate is not supported")),
		tree(sup("volumes[].persistentVolumeClaim", "bound to hostPath, local or shoal-provisioned PersistentVolumes")),
		tree(sup("volumes[].nfs", "mounted with the kernel NFS client")),
		tree(ref("volumes[].ephemeral", "ephemeral volumes are not supported: use an emptyDir or a PersistentVolumeClaim")),
		tree(ref("volumes[].image", "image volumes are not supported: copy the files in an init container")),
	}
	rules = append(rules, refusedVolumeTypes("volumes[].")...)
	rules = append(rules, prefixRules("containers[].", containerRules(false))...)
	rules = append(rules, prefixRules("initContainers[].", containerRules(true))...)
	return rules
}

// checkSpread ignores soft spread constraints and refuses hard ones.
func checkSpread(v any) (Level, string) {
	list, _ := v.([]any)
	for _, e := range list {
		m, _ := e.(map[string]any)
		if m["whenUnsatisfiable"] == "DoNotSchedule" {
			return Refused, "topologySpreadConstraints with whenUnsatisfiable: DoNotSchedule are not supported: shoal's scheduler spreads a controller's pods across nodes by itself"
		}
	}
	return Ignored, "soft topology spread constraints are not weighed; shoal's scheduler spreads a controller's pods across nodes by itself"
}

// newJobSpecGroup classifies a JobSpec (of a Job, or a CronJob's template).
func newJobSpecGroup() *ruleGroup {
	return newGroup("JobSpec", []mount{{"template", podTemplateGroup}},
		sup("parallelism"),
		sup("completions"),
		sup("activeDeadlineSeconds"),
		sup("backoffLimit"),
		sup("ttlSecondsAfterFinished"),
		oneOf(sup("completionMode", "NonIndexed only"), "NonIndexed"),
		sup("suspend"),
		tree(sup("selector", "generated from the Job's identity unless manualSelector is true, as in Kubernetes")),
		sup("manualSelector"),
		tree(ref("podFailurePolicy", "podFailurePolicy is not supported: failures count against backoffLimit")),
		ref("backoffLimitPerIndex", "backoffLimitPerIndex is not supported (it needs Indexed completion)"),
		ref("maxFailedIndexes", "maxFailedIndexes is not supported (it needs Indexed completion)"),
		oneOf(sup("podReplacementPolicy", "TerminatingOrFailed (shoal replaces a pod once it has stopped)"), "TerminatingOrFailed", "Failed"),
		tree(ref("successPolicy", "successPolicy is not supported: a Job succeeds when completions pods succeed")),
		ref("managedBy", "spec.managedBy is not supported: shoal's Job controller runs every Job"),
		tree(ref("scheduling", "spec.scheduling (gang scheduling, resource claims) is not supported")),
	)
}

// kindGroup makes the rules of a kind: its metadata, the given mounts and
// rules, and its status when the kind has one.
func kindGroup(kind string, mounts []mount, rules ...FieldRule) *ruleGroup {
	mounts = append([]mount{{"metadata", objectMetaGroup}}, mounts...)
	if _, hasStatus := reflect.TypeOf(kindsByNameInit(kind)).Elem().FieldByName("Status"); hasStatus {
		rules = append(rules, statusRule)
	}
	return newGroup(kind, mounts, rules...)
}

// kindsByNameInit finds a kind's object during package initialization,
// before the kind indexes are built.
func kindsByNameInit(kind string) any {
	for _, k := range kinds {
		if k.kind == kind {
			return k.newObj()
		}
	}
	panic("manifests: support rules for unknown kind " + kind)
}

// kindRules holds the rules of every supported kind.
func kindRules() map[string]*ruleGroup {
	return map[string]*ruleGroup{
		"Namespace": kindGroup("Namespace", nil,
			tree(ign("spec.finalizers", "shoal deletes a namespace's objects when the namespace leaves Git")),
		),
		"Node": kindGroup("Node", nil,
			sup("spec.unschedulable", "cordons the node: no new pods are placed on it (DaemonSet pods still are)"),
			tree(ref("spec.taints", "node taints are not supported: cordon with spec.unschedulable, steer pods with labels and nodeSelector")),
			ref("spec.podCIDR", "spec.podCIDR is not supported in manifests: shoal allocates pod CIDRs from the cluster CIDR"),
			ref("spec.podCIDRs", "spec.podCIDRs is not supported in manifests: shoal allocates pod CIDRs from the cluster CIDR"),
			ign("spec.providerID", "shoal has no cloud provider"),
			ign("spec.externalID", "deprecated and unused"),
			tree(ign("spec.configSource", "deprecated and unused")),
			tree(ign("spec.podPreemptionPolicy", "shoal does not preempt pods")),
		),
		"Pod": kindGroup("Pod", []mount{{"spec", podSpecGroup}}),
		"ReplicationController": kindGroup("ReplicationController", []mount{{"spec.template", podTemplateGroup}},
			sup("spec.replicas"),
			tree(sup("spec.selector", "equality-based, defaults to the template's labels")),
			sup("spec.minReadySeconds"),
		),
		"ReplicaSet": kindGroup("ReplicaSet", []mount{{"spec.template", podTemplateGroup}},
			sup("spec.replicas"),
			tree(sup("spec.selector", selectorNote)),
			sup("spec.minReadySeconds"),
		),
		"Deployment": kindGroup("Deployment", []mount{{"spec.template", podTemplateGroup}},
			sup("spec.replicas"),
			tree(sup("spec.selector", selectorNote)),
			oneOf(sup("spec.strategy.type", "RollingUpdate, Recreate"), "RollingUpdate", "Recreate"),
			sup("spec.strategy.rollingUpdate.maxUnavailable", "number or percentage"),
			sup("spec.strategy.rollingUpdate.maxSurge", "number or percentage"),
			sup("spec.minReadySeconds"),
			sup("spec.revisionHistoryLimit", "old ReplicaSets kept; the revisions themselves are Git's history"),
			sup("spec.paused"),
			sup("spec.progressDeadlineSeconds", "sets the Progressing condition's reason"),
		),
		"DaemonSet": kindGroup("DaemonSet", []mount{{"spec.template", podTemplateGroup}},
			tree(sup("spec.selector", selectorNote)),
			oneOf(sup("spec.updateStrategy.type", "RollingUpdate, OnDelete"), "RollingUpdate", "OnDelete"),
			sup("spec.updateStrategy.rollingUpdate.maxUnavailable"),
			sup("spec.updateStrategy.rollingUpdate.maxSurge"),
			sup("spec.minReadySeconds"),
			sup("spec.revisionHistoryLimit"),
		),
		"Job": kindGroup("Job", []mount{{"spec", jobSpecGroup}}),
		"CronJob": kindGroup("CronJob", []mount{{"spec.jobTemplate.metadata", templateMetaGroup}, {"spec.jobTemplate.spec", jobSpecGroup}},
			sup("spec.schedule", "five fields or a macro (@hourly, ...), parsed with robfig/cron as the scheduler parses it"),
			sup("spec.timeZone", "an IANA time zone name"),
			sup("spec.startingDeadlineSeconds"),
			oneOf(sup("spec.concurrencyPolicy", "Allow, Forbid, Replace"), "Allow", "Forbid", "Replace"),
			sup("spec.suspend"),
			sup("spec.successfulJobsHistoryLimit"),
			sup("spec.failedJobsHistoryLimit"),
		),
		"Service": kindGroup("Service", nil,
			oneOf(sup("spec.type", "ClusterIP, NodePort, LoadBalancer (from shoal's address pool), ExternalName"), "ClusterIP", "NodePort", "LoadBalancer", "ExternalName"),
			sup("spec.ports[].name"),
			oneOf(sup("spec.ports[].protocol", "TCP and UDP; SCTP is not supported"), "TCP", "UDP"),
			sup("spec.ports[].appProtocol", "informational"),
			sup("spec.ports[].port"),
			sup("spec.ports[].targetPort", "number or container port name"),
			sup("spec.ports[].nodePort", "30000-32767"),
			tree(sup("spec.selector")),
			sup("spec.clusterIP", "allocated from the service CIDR when empty; None makes the service headless"),
			sup("spec.clusterIPs", "one IPv4 address"),
			tree(ref("spec.externalIPs", "spec.externalIPs is not supported: use type LoadBalancer, whose address shoal announces")),
			oneOf(sup("spec.sessionAffinity", "None, ClientIP"), "None", "ClientIP"),
			sup("spec.sessionAffinityConfig.clientIP.timeoutSeconds"),
			sup("spec.loadBalancerIP", "requests that address from shoal's pool (deprecated in Kubernetes, still honoured)"),
			tree(ref("spec.loadBalancerSourceRanges", "spec.loadBalancerSourceRanges is not supported: use a NetworkPolicy with ipBlock")),
			sup("spec.externalName", "served as a DNS CNAME"),
			oneOf(sup("spec.externalTrafficPolicy", "Cluster, Local"), "Cluster", "Local"),
			sup("spec.healthCheckNodePort"),
			sup("spec.publishNotReadyAddresses"),
			FieldRule{Path: "spec.ipFamilies", Level: Supported, Note: "IPv4 only", Check: func(v any) (Level, string) {
				for _, f := range asList(v) {
					if f != "IPv4" {
						return Refused, fmt.Sprintf("ip family %v is not supported: shoal's service network is IPv4 only", f)
					}
				}
				return Supported, ""
			}},
			oneOf(sup("spec.ipFamilyPolicy", "SingleStack, PreferDualStack (one IPv4 address)"), "SingleStack", "PreferDualStack"),
			sup("spec.allocateLoadBalancerNodePorts"),
			ref("spec.loadBalancerClass", "spec.loadBalancerClass is not supported: shoal's own load balancer serves every LoadBalancer service"),
			oneOf(sup("spec.internalTrafficPolicy", "Cluster, Local"), "Cluster", "Local"),
			ign("spec.trafficDistribution", "shoal spreads connections across all ready endpoints"),
		),
		"Endpoints": kindGroup("Endpoints", nil,
			sup("subsets[].addresses[].ip"),
			sup("subsets[].addresses[].hostname"),
			sup("subsets[].addresses[].nodeName"),
			tree(ign("subsets[].addresses[].targetRef", "informational")),
			sup("subsets[].notReadyAddresses[].ip"),
			sup("subsets[].notReadyAddresses[].hostname"),
			sup("subsets[].notReadyAddresses[].nodeName"),
			tree(ign("subsets[].notReadyAddresses[].targetRef", "informational")),
			sup("subsets[].ports[].name"),
			sup("subsets[].ports[].port"),
			oneOf(sup("subsets[].ports[].protocol", "TCP and UDP"), "TCP", "UDP"),
			sup("subsets[].ports[].appProtocol", "informational"),
		),
		"ConfigMap": kindGroup("ConfigMap", nil,
			tree(sup("data")),
			tree(sup("binaryData")),
			sup("immutable"),
		),
		"Secret": kindGroup("Secret", nil,
			tree(sup("data", "base64 in the manifest; never logged, kept on tmpfs on nodes")),
			tree(sup("stringData", "merged into data, as in Kubernetes")),
			sup("type"),
			sup("immutable"),
		),
		"PersistentVolume": kindGroup("PersistentVolume", nil, append([]FieldRule{
			tree(sup("spec.capacity")),
			sup("spec.accessModes", "ReadWriteOnce, ReadOnlyMany, ReadWriteMany, ReadWriteOncePod"),
			oneOf(sup("spec.persistentVolumeReclaimPolicy", "Retain, Delete (Recycle is deprecated in Kubernetes and not supported)"), "Retain", "Delete"),
			sup("spec.storageClassName"),
			sup("spec.mountOptions", "for nfs"),
			oneOf(sup("spec.volumeMode", "Filesystem only"), "Filesystem"),
			tree(sup("spec.nodeAffinity", "pins local volumes to their node")),
			tree(sup("spec.claimRef", "pre-binds the volume to a claim")),
			tree(sup("spec.hostPath")),
			tree(sup("spec.local", "a directory on the node that nodeAffinity names")),
			tree(sup("spec.nfs")),
			ref("spec.volumeAttributesClassName", "volumeAttributesClassName is not supported"),
		}, pvRefusedSources...)...),
		"PersistentVolumeClaim": kindGroup("PersistentVolumeClaim", nil,
			sup("spec.accessModes"),
			tree(sup("spec.selector", selectorNote)),
			tree(sup("spec.resources.requests", "storage")),
			tree(ign("spec.resources.limits", "volumes are not capped")),
			sup("spec.volumeName", "binds to that PersistentVolume"),
			sup("spec.storageClassName"),
			oneOf(sup("spec.volumeMode", "Filesystem only"), "Filesystem"),
			tree(ref("spec.dataSource", "spec.dataSource is not supported: shoal cannot clone or restore volumes")),
			tree(ref("spec.dataSourceRef", "spec.dataSourceRef is not supported: shoal cannot clone or restore volumes")),
			ref("spec.volumeAttributesClassName", "volumeAttributesClassName is not supported"),
		),
		"StorageClass": kindGroup("StorageClass", nil,
			oneOf(sup("provisioner", LocalPathProvisioner+" (directories on the pod's node) or kubernetes.io/no-provisioner (static volumes only): no other provisioner runs on shoal nodes"),
				LocalPathProvisioner, "kubernetes.io/no-provisioner"),
			tree(sup("parameters", "for "+LocalPathProvisioner+": basePath")),
			oneOf(sup("reclaimPolicy", "Retain, Delete"), "Retain", "Delete"),
			sup("mountOptions"),
			ign("allowVolumeExpansion", "directory-backed volumes are not capped, so there is nothing to expand"),
			oneOf(sup("volumeBindingMode", "Immediate, WaitForFirstConsumer"), "Immediate", "WaitForFirstConsumer"),
			tree(ign("allowedTopologies", "local-path volumes are created on the node of the pod that uses them")),
		),
		"Ingress": kindGroup("Ingress", nil,
			sup("spec.ingressClassName", "served when empty or equal to the agent's --ingress-class (default shoal)"),
			tree(sup("spec.defaultBackend.service")),
			tree(ref("spec.defaultBackend.resource", "resource backends are not supported: use a service backend")),
			tree(sup("spec.tls", "certificates from Secrets of type kubernetes.io/tls, chosen by SNI")),
			sup("spec.rules[].host", "exact or wildcard (*.example.com)"),
			sup("spec.rules[].http.paths[].path"),
			oneOf(sup("spec.rules[].http.paths[].pathType", "Exact, Prefix, ImplementationSpecific (as Prefix)"), "Exact", "Prefix", "ImplementationSpecific"),
			tree(sup("spec.rules[].http.paths[].backend.service")),
			tree(ref("spec.rules[].http.paths[].backend.resource", "resource backends are not supported: use a service backend")),
		),
		"NetworkPolicy": kindGroup("NetworkPolicy", nil,
			tree(sup("spec.podSelector", selectorNote)),
			tree(sup("spec.ingress", "from: podSelector, namespaceSelector, ipBlock with except; ports by number, name and range")),
			tree(sup("spec.egress", "to: podSelector, namespaceSelector, ipBlock with except; ports by number, name and range")),
			sup("spec.policyTypes"),
		),
		"ResourceQuota": kindGroup("ResourceQuota", nil,
			tree(sup("spec.hard", "enforced when the reconciler creates pods")),
			FieldRule{Path: "spec.scopes", Level: Supported, Note: "Terminating, NotTerminating, BestEffort, NotBestEffort", Check: func(v any) (Level, string) {
				for _, s := range asList(v) {
					switch s {
					case "Terminating", "NotTerminating", "BestEffort", "NotBestEffort":
					default:
						return Refused, fmt.Sprintf("quota scope %v is not supported: shoal supports Terminating, NotTerminating, BestEffort and NotBestEffort", s)
					}
				}
				return Supported, ""
			}},
			tree(ref("spec.scopeSelector", "spec.scopeSelector is not supported: use spec.scopes")),
		),
		"LimitRange": kindGroup("LimitRange", nil,
			oneOf(sup("spec.limits[].type", "Container, Pod, PersistentVolumeClaim"), "Container", "Pod", "PersistentVolumeClaim"),
			tree(sup("spec.limits[].max")),
			tree(sup("spec.limits[].min")),
			tree(sup("spec.limits[].default")),
			tree(sup("spec.limits[].defaultRequest")),
			tree(sup("spec.limits[].maxLimitRequestRatio")),
		),
		"ServiceAccount": kindGroup("ServiceAccount", nil,
			tree(sup("imagePullSecrets", "added to the pods that run as this account, as in Kubernetes")),
			tree(ign("secrets", "shoal mounts no service account tokens")),
			ign("automountServiceAccountToken", "shoal mounts no service account tokens"),
		),
	}
}

// LocalPathProvisioner is the name of shoal's own dynamic provisioner: it
// makes a directory-backed PersistentVolume on the node a claim's pod runs
// on.
const LocalPathProvisioner = "shoal.run/local-path"

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
