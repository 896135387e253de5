package deploy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// composeFile is the part of the compose specification the test reads.
type composeFile struct {
	Name     string                    `json:"name"`
	Services map[string]composeService `json:"services"`
	Volumes  map[string]any            `json:"volumes"`
}

type composeService struct {
	Image string `json:"image"`
	Build *struct {
		Context    string            `json:"context"`
		Dockerfile string            `json:"dockerfile"`
		Args       map[string]string `json:"args"`
	} `json:"build"`
	Entrypoint      []string                  `json:"entrypoint"`
	Command         []string                  `json:"command"`
	DependsOn       map[string]map[string]any `json:"depends_on"`
	Volumes         []string                  `json:"volumes"`
	NetworkMode     string                    `json:"network_mode"`
	Ports           []string                  `json:"ports"`
	StopGracePeriod string                    `json:"stop_grace_period"`
	Restart         string                    `json:"restart"`
	Healthcheck     map[string]any            `json:"healthcheck"`
	Environment     map[string]string         `json:"environment"`
	Hostname, User  string
	ContainerName   string `json:"container_name"`
}

var composeKeys = []string{"name", "services", "volumes", "networks", "configs", "secrets"}

// TestCompose checks the compose file's structure (no Docker engine runs
// here): known top-level keys, every service with an image or a build whose
// Dockerfile exists, dependencies on existing services with valid
// conditions, declared named volumes, bind mounts that exist, and for the
// tablet services flags the binary has and a stop grace period that covers
// the drain.
func TestCompose(t *testing.T) {
	const path = "compose/compose.yaml"
	var raw map[string]any
	readYAML(t, path, &raw)
	for k := range raw {
		if !slices.Contains(composeKeys, k) && !strings.HasPrefix(k, "x-") {
			t.Errorf("%s: unknown top-level key %q", path, k)
		}
	}
	var c composeFile
	readYAML(t, path, &c)
	if len(c.Services) == 0 {
		t.Fatalf("%s: no services", path)
	}
	known := tabletFlags(t)
	topoFlags := subcommandFlags(t, "topo")
	topoCmds := topoCommands(t)
	tabletImages := map[string]bool{}
	for _, s := range c.Services {
		if s.Build != nil {
			tabletImages[s.Image] = true
		}
	}
	for _, name := range []string{"etcd", "prometheus", "orchestrator"} {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("%s: no %s service", path, name)
		}
	}
	mysqls := 0
	for name, s := range c.Services {
		where := path + ": service " + name
		if s.Image == "" && s.Build == nil {
			t.Errorf("%s: neither image nor build", where)
		}
		if strings.HasPrefix(s.Image, "mysql:5.7") {
			mysqls++
		}
		if s.Build != nil {
			df := filepath.Join("compose", s.Build.Context, s.Build.Dockerfile)
			if _, err := os.Stat(df); err != nil {
				t.Errorf("%s: build: %v", where, err)
			}
		}
		for dep, cond := range s.DependsOn {
			if _, ok := c.Services[dep]; !ok {
				t.Errorf("%s: depends on %s, which is not a service", where, dep)
			}
			switch cond["condition"] {
			case "service_started", "service_healthy", "service_completed_successfully":
			default:
				t.Errorf("%s: depends on %s with condition %v", where, dep, cond["condition"])
			}
			if cond["condition"] == "service_healthy" && c.Services[dep].Healthcheck == nil {
				t.Errorf("%s: waits for %s to be healthy, which has no healthcheck", where, dep)
			}
		}
		if other, ok := strings.CutPrefix(s.NetworkMode, "service:"); ok {
			if _, exists := c.Services[other]; !exists {
				t.Errorf("%s: network_mode names service %s, which does not exist", where, other)
			}
			if len(s.Ports) > 0 {
				t.Errorf("%s: publishes ports while sharing %s's network; publish them on %s", where, other, other)
			}
		}
		for _, v := range s.Volumes {
			src, _, ok := strings.Cut(v, ":")
			if !ok {
				continue
			}
			if strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/") {
				if _, err := os.Stat(filepath.Join("compose", src)); err != nil {
					t.Errorf("%s: bind mount %s: %v", where, src, err)
				}
			} else if _, ok := c.Volumes[src]; !ok {
				t.Errorf("%s: named volume %s is not declared under volumes", where, src)
			}
		}
		if !tabletImages[s.Image] {
			continue
		}
		cmdline := strings.Join(append(append([]string{}, s.Entrypoint...), s.Command...), " ")
		switch {
		case len(s.Command) > 0 && s.Command[0] == "topo":
			checkTopoCommand(t, where, strings.Join(s.Command, " "), topoFlags, topoCmds)
		case strings.Contains(cmdline, "tablet topo"):
			for _, part := range strings.Split(cmdline, "tablet topo")[1:] {
				checkTopoCommand(t, where, "topo"+strings.Split(part, "||")[0], topoFlags, topoCmds)
			}
		case len(s.Command) > 0 && strings.HasPrefix(s.Command[0], "--"):
			checkTabletFlags(t, where, cmdline, known)
			for _, f := range []string{"tablet-path", "init_keyspace", "init_shard", "topo_global_server_address", "db-credentials-file"} {
				if _, ok := flagArgs(cmdline)[f]; !ok {
					t.Errorf("%s: no --%s", where, f)
				}
			}
			stop, err := time.ParseDuration(s.StopGracePeriod)
			if err != nil {
				t.Errorf("%s: stop_grace_period %q: %v", where, s.StopGracePeriod, err)
				continue
			}
			checkDrainFits(t, where, cmdline, stop, known)
		}
	}
	if mysqls < 2 {
		t.Errorf("%s: %d mysql:5.7 services, want a primary and a replica", path, mysqls)
	}
}

// checkTopoCommand checks a `tablet topo ...` command line: its flags and
// its command.
func checkTopoCommand(t *testing.T, where, cmdline string, flags map[string]flagDoc, cmds map[string]bool) {
	t.Helper()
	for name := range flagArgs(cmdline) {
		if !knownFlag(flags, name) {
			t.Errorf("%s: `tablet topo` has no flag --%s", where, name)
		}
	}
	found := false
	for _, w := range strings.Fields(cmdline) {
		if cmds[w] {
			found = true
		}
	}
	if !found {
		t.Errorf("%s: %q runs no `tablet topo` command", where, cmdline)
	}
}

// k8sObject is the part of a Kubernetes object the test reads.
type k8sObject struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Data       map[string]string `json:"data"`
	StringData map[string]string `json:"stringData"`
	Spec       struct {
		ServiceName string `json:"serviceName"`
		Selector    struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		Template struct {
			Metadata struct {
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
			Spec podSpec `json:"spec"`
		} `json:"template"`
		VolumeClaimTemplates []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		} `json:"volumeClaimTemplates"`
	} `json:"spec"`
}

type podSpec struct {
	TerminationGracePeriodSeconds int `json:"terminationGracePeriodSeconds"`
	Containers                    []struct {
		Name    string   `json:"name"`
		Image   string   `json:"image"`
		Command []string `json:"command"`
		Args    []string `json:"args"`
		Ports   []struct {
			Name          string `json:"name"`
			ContainerPort int    `json:"containerPort"`
		} `json:"ports"`
		ReadinessProbe map[string]any `json:"readinessProbe"`
		LivenessProbe  map[string]any `json:"livenessProbe"`
		VolumeMounts   []struct {
			Name    string `json:"name"`
			SubPath string `json:"subPath"`
		} `json:"volumeMounts"`
	} `json:"containers"`
	Volumes []struct {
		Name      string `json:"name"`
		ConfigMap *struct {
			Name string `json:"name"`
		} `json:"configMap"`
		Secret *struct {
			SecretName string `json:"secretName"`
			Items      []struct {
				Key string `json:"key"`
			} `json:"items"`
		} `json:"secret"`
	} `json:"volumes"`
}

// TestKubernetesSidecar checks the Kubernetes example's structure: each
// document an object with apiVersion, kind and name; the StatefulSet's
// selector matching its pods, its service existing, every mounted volume
// defined, config maps and secrets (and their keys) present in the file,
// the tablet container's flags real, its readiness probe on
// /debug/health, and a termination grace period covering the drain.
func TestKubernetesSidecar(t *testing.T) {
	const path = "kubernetes/tablet-sidecar.yaml"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	objs := map[string]k8sObject{}
	for i, doc := range strings.Split(string(b), "\n---\n") {
		var o k8sObject
		decodeYAML(t, path, []byte(doc), &o)
		if o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "" {
			t.Fatalf("%s: document %d lacks apiVersion, kind or metadata.name", path, i)
		}
		objs[o.Kind+"/"+o.Metadata.Name] = o
	}
	var sts *k8sObject
	for _, o := range objs {
		if o.Kind == "StatefulSet" {
			sts = &o
		}
	}
	if sts == nil {
		t.Fatalf("%s: no StatefulSet", path)
	}
	if _, ok := objs["Service/"+sts.Spec.ServiceName]; !ok {
		t.Errorf("%s: serviceName %q names no Service in the file", path, sts.Spec.ServiceName)
	}
	for k, v := range sts.Spec.Selector.MatchLabels {
		if sts.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("%s: selector %s=%s does not match the pod template's labels", path, k, v)
		}
	}
	pod := sts.Spec.Template.Spec
	volumes := map[string]bool{}
	for _, v := range sts.Spec.VolumeClaimTemplates {
		volumes[v.Metadata.Name] = true
	}
	for _, v := range pod.Volumes {
		volumes[v.Name] = true
		if v.ConfigMap != nil {
			if _, ok := objs["ConfigMap/"+v.ConfigMap.Name]; !ok {
				t.Errorf("%s: volume %s uses ConfigMap %s, not in the file", path, v.Name, v.ConfigMap.Name)
			}
		}
		if v.Secret != nil {
			s, ok := objs["Secret/"+v.Secret.SecretName]
			if !ok {
				t.Errorf("%s: volume %s uses Secret %s, not in the file", path, v.Name, v.Secret.SecretName)
			}
			for _, it := range v.Secret.Items {
				if _, ok := s.StringData[it.Key]; !ok {
					t.Errorf("%s: volume %s wants key %s of Secret %s, which lacks it", path, v.Name, it.Key, v.Secret.SecretName)
				}
			}
		}
	}
	known := tabletFlags(t)
	sawTablet := false
	for _, c := range pod.Containers {
		where := path + ": container " + c.Name
		for _, m := range c.VolumeMounts {
			if !volumes[m.Name] {
				t.Errorf("%s: mounts volume %s, which the pod does not define", where, m.Name)
			}
		}
		if c.Image != "tablet:dev" {
			continue
		}
		sawTablet = true
		cmdline := strings.Join(append(append([]string{}, c.Command...), c.Args...), " ")
		if !strings.Contains(cmdline, "/usr/local/bin/tablet") {
			t.Errorf("%s: does not run /usr/local/bin/tablet: %q", where, cmdline)
		}
		checkTabletFlags(t, where, cmdline, known)
		checkDrainFits(t, where, cmdline, time.Duration(pod.TerminationGracePeriodSeconds)*time.Second, known)
		ports := map[string]bool{}
		for _, p := range c.Ports {
			ports[p.Name] = true
		}
		get, _ := c.ReadinessProbe["httpGet"].(map[string]any)
		if get["path"] != "/debug/health" || !ports[get["port"].(string)] {
			t.Errorf("%s: readiness probe %v, want httpGet /debug/health on a named port of the container", where, c.ReadinessProbe)
		}
		if _, ok := c.LivenessProbe["httpGet"]; ok {
			t.Errorf("%s: liveness probe on HTTP: a lagging replica answers 503 on /debug/health and must not be restarted for it", where)
		}
	}
	if !sawTablet {
		t.Errorf("%s: no container runs the tablet image", path)
	}
}
