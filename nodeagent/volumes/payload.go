package volumes

import (
	corev1 "k8s.io/api/core/v1"
)

// DefaultMode is the file mode of configMap, secret, downwardAPI and
// projected volume files when neither the volume nor the item sets one
// (the API's default).
const DefaultMode int32 = 0o644

// Source looks up the objects volumes refer to. Implementations answer from
// memory (the desired state the agent holds) and must not block; ok is
// false when the object does not exist. Callers must not modify the
// returned objects.
type Source interface {
	ConfigMap(namespace, name string) (cm *corev1.ConfigMap, ok bool)
	Secret(namespace, name string) (s *corev1.Secret, ok bool)
}

// ConfigMapPayload returns the files of a configMap volume. cm is nil when
// the ConfigMap does not exist.
//
// Without items every key of data and binaryData becomes a file named after
// it; with items only the listed keys are projected, each to its path.
// The mode is the item's, else src.DefaultMode, else defaultMode.
// A missing ConfigMap is an error (`configmap "NAME" not found`, ErrNotFound)
// unless src.Optional, which yields an empty payload; a missing item key is
// an error (ErrMissingKey) unless src.Optional, which skips the item.
func ConfigMapPayload(src *corev1.ConfigMapVolumeSource, cm *corev1.ConfigMap, defaultMode int32) (map[string]FileProjection, error) {
	return configMapPayload(src.Name, src.Items, isTrue(src.Optional), cm, modeOr(src.DefaultMode, defaultMode))
}

func configMapPayload(name string, items []corev1.KeyToPath, optional bool, cm *corev1.ConfigMap, mode int32) (map[string]FileProjection, error) {
	if cm == nil {
		if !optional {
			return nil, newError(ErrNotFound, "configmap %q not found", name)
		}
		cm = &corev1.ConfigMap{}
	}
	payload := make(map[string]FileProjection, len(cm.Data)+len(cm.BinaryData))
	if len(items) == 0 {
		for k, v := range cm.Data {
			payload[k] = FileProjection{Data: []byte(v), Mode: mode}
		}
		for k, v := range cm.BinaryData {
			payload[k] = FileProjection{Data: v, Mode: mode}
		}
		return payload, nil
	}
	for _, it := range items {
		var data []byte
		if s, ok := cm.Data[it.Key]; ok {
			data = []byte(s)
		} else if b, ok := cm.BinaryData[it.Key]; ok {
			data = b
		} else {
			if optional {
				continue
			}
			return nil, newError(ErrMissingKey, "configmap references non-existent config key: %s", it.Key)
		}
		payload[it.Path] = FileProjection{Data: data, Mode: modeOr(it.Mode, mode)}
	}
	return payload, nil
}

// SecretPayload returns the files of a secret volume. s is nil when the
// Secret does not exist. stringData is merged into data (stringData wins, as
// the API server does on write). Items, modes and optional behave as in
// ConfigMapPayload; the errors are `secret "NAME" not found` and
// `secret references non-existent secret key: KEY`.
func SecretPayload(src *corev1.SecretVolumeSource, s *corev1.Secret, defaultMode int32) (map[string]FileProjection, error) {
	return secretPayload(src.SecretName, src.Items, isTrue(src.Optional), s, modeOr(src.DefaultMode, defaultMode))
}

func secretPayload(name string, items []corev1.KeyToPath, optional bool, s *corev1.Secret, mode int32) (map[string]FileProjection, error) {
	if s == nil {
		if !optional {
			return nil, newError(ErrNotFound, "secret %q not found", name)
		}
		s = &corev1.Secret{}
	}
	data := make(map[string][]byte, len(s.Data)+len(s.StringData))
	for k, v := range s.Data {
		data[k] = v
	}
	for k, v := range s.StringData {
		data[k] = []byte(v)
	}
	payload := make(map[string]FileProjection, len(data))
	if len(items) == 0 {
		for k, v := range data {
			payload[k] = FileProjection{Data: v, Mode: mode}
		}
		return payload, nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			if optional {
				continue
			}
			return nil, newError(ErrMissingKey, "secret references non-existent secret key: %s", it.Key)
		}
		payload[it.Path] = FileProjection{Data: v, Mode: modeOr(it.Mode, mode)}
	}
	return payload, nil
}

// ProjectedPayload returns the files of a projected volume: the union of
// its configMap, secret and downwardAPI sources, later sources overwriting
// earlier ones on the same path. ConfigMaps and Secrets are looked up in
// objects in the pod's namespace; the downward API inputs are those of
// DownwardAPIPayload. The mode is the item's, else src.DefaultMode, else
// defaultMode.
//
// As in the kubelet, every source is tried and the errors of all failing
// sources are returned together (the payload then is incomplete and must not
// be written). serviceAccountToken, clusterTrustBundle and podCertificate
// sources fail with ErrUnsupported.
func ProjectedPayload(src *corev1.ProjectedVolumeSource, objects Source, pod *corev1.Pod, podIP, nodeName string, allocatable corev1.ResourceList, defaultMode int32) (map[string]FileProjection, error) {
	mode := modeOr(src.DefaultMode, defaultMode)
	payload := make(map[string]FileProjection)
	var errs []error
	for i, s := range src.Sources {
		var part map[string]FileProjection
		var err error
		switch {
		case s.ConfigMap != nil:
			cm, ok := objects.ConfigMap(pod.Namespace, s.ConfigMap.Name)
			if !ok {
				cm = nil
			}
			part, err = configMapPayload(s.ConfigMap.Name, s.ConfigMap.Items, isTrue(s.ConfigMap.Optional), cm, mode)
		case s.Secret != nil:
			sec, ok := objects.Secret(pod.Namespace, s.Secret.Name)
			if !ok {
				sec = nil
			}
			part, err = secretPayload(s.Secret.Name, s.Secret.Items, isTrue(s.Secret.Optional), sec, mode)
		case s.DownwardAPI != nil:
			part, err = DownwardAPIPayload(s.DownwardAPI.Items, pod, podIP, nodeName, allocatable, mode)
		case s.ServiceAccountToken != nil:
			err = newError(ErrUnsupported, "projected source serviceAccountToken (path %q): not supported on shoal nodes", s.ServiceAccountToken.Path)
		case s.ClusterTrustBundle != nil:
			err = newError(ErrUnsupported, "projected source clusterTrustBundle (path %q): not supported on shoal nodes", s.ClusterTrustBundle.Path)
		case s.PodCertificate != nil:
			err = newError(ErrUnsupported, "projected source podCertificate (signer %q): not supported on shoal nodes", s.PodCertificate.SignerName)
		default:
			err = newError(ErrUnsupported, "projected source %d: no known source set: not supported on shoal nodes", i)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for k, v := range part {
			payload[k] = v
		}
	}
	return payload, aggregate(errs)
}

// aggregate joins errors the way the kubelet's utilerrors.NewAggregate
// prints them: one error as itself, several as "[a, b]". errors.Is sees
// every one of them.
func aggregate(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return aggregateError(errs)
}

type aggregateError []error

func (a aggregateError) Error() string {
	msg := "["
	for i, err := range a {
		if i > 0 {
			msg += ", "
		}
		msg += err.Error()
	}
	return msg + "]"
}

func (a aggregateError) Unwrap() []error { return a }

func isTrue(b *bool) bool { return b != nil && *b }

func modeOr(mode *int32, fallback int32) int32 {
	if mode != nil {
		return *mode
	}
	return fallback
}
