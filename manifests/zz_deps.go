package manifests

import (
	_ "github.com/robfig/cron/v3"
	_ "github.com/spf13/cobra"
	_ "go.yaml.in/yaml/v3"
	_ "k8s.io/api/core/v1"
	_ "k8s.io/apimachinery/pkg/util/validation/field"
	_ "sigs.k8s.io/json"
	_ "sigs.k8s.io/yaml"
)
