package main

// procSpec is one program the generator can start: its name, executable, typical argument
// vectors and usual parent.
type procSpec struct {
	name, exe         string
	args              [][]string
	parent, parentExe string
	user              int // index into the OS's account table, -1 for a regular user
	workDir           string
}

// Linux host programs (Elastic Defend, endpoint.events.process).
var linuxHostProcs = []procSpec{
	{"sshd", "/usr/sbin/sshd", [][]string{{"/usr/sbin/sshd", "-D", "-R"}, {"sshd: ubuntu [priv]"}}, "sshd", "/usr/sbin/sshd", 0, "/"},
	{"bash", "/usr/bin/bash", [][]string{{"-bash"}, {"bash"}, {"bash", "-l"}}, "sshd", "/usr/sbin/sshd", -1, "/home"},
	{"sudo", "/usr/bin/sudo", [][]string{{"sudo", "systemctl", "restart", "nginx"}, {"sudo", "-i"}, {"sudo", "journalctl", "-u", "kubelet", "--since", "10 min ago"}}, "bash", "/usr/bin/bash", -1, "/home"},
	{"systemctl", "/usr/bin/systemctl", [][]string{{"systemctl", "status", "kubelet"}, {"systemctl", "is-active", "containerd"}}, "bash", "/usr/bin/bash", -1, "/home"},
	{"sh", "/usr/bin/dash", [][]string{{"/bin/sh", "-c", "test -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily )"}, {"/bin/sh", "-c", "command -v debian-sa1 > /dev/null && debian-sa1 1 1"}}, "cron", "/usr/sbin/cron", 0, "/root"},
	{"python3", "/usr/bin/python3.10", [][]string{{"/usr/bin/python3", "/usr/bin/unattended-upgrade"}, {"/usr/bin/python3", "/usr/share/unattended-upgrades/unattended-upgrade-shutdown", "--wait-for-signal"}}, "systemd", "/usr/lib/systemd/systemd", 0, "/"},
	{"ls", "/usr/bin/ls", [][]string{{"ls", "-la", "/var/log"}, {"ls", "--color=auto"}}, "bash", "/usr/bin/bash", -1, "/home"},
	{"grep", "/usr/bin/grep", [][]string{{"grep", "-r", "error", "/var/log/syslog"}, {"grep", "--color=auto", "-i", "oom"}}, "bash", "/usr/bin/bash", -1, "/home"},
	{"curl", "/usr/bin/curl", [][]string{{"curl", "-fsSL", "https://packages.cloud.google.com/apt/doc/apt-key.gpg"}, {"curl", "-s", "http://169.254.169.254/latest/meta-data/instance-id"}}, "bash", "/usr/bin/bash", -1, "/home"},
	{"containerd-shim-runc-v2", "/usr/bin/containerd-shim-runc-v2", [][]string{{"/usr/bin/containerd-shim-runc-v2", "-namespace", "k8s.io", "-address", "/run/containerd/containerd.sock"}}, "containerd", "/usr/bin/containerd", 0, "/run/containerd/io.containerd.runtime.v2.task/k8s.io"},
	{"runc", "/usr/bin/runc", [][]string{{"runc", "--root", "/run/containerd/runc/k8s.io", "--log-format", "json", "exec", "--detach"}, {"runc", "--root", "/run/containerd/runc/k8s.io", "state"}}, "containerd-shim-runc-v2", "/usr/bin/containerd-shim-runc-v2", 0, "/run/containerd"},
	{"iptables", "/usr/sbin/xtables-nft-multi", [][]string{{"iptables", "-w", "5", "-W", "100000", "-S", "KUBE-KUBELET-CANARY", "-t", "mangle"}, {"iptables-save", "-t", "filter"}}, "kubelet", "/usr/bin/kubelet", 0, "/"},
	{"mount", "/usr/bin/mount", [][]string{{"mount", "-t", "tmpfs", "tmpfs", "/var/lib/kubelet/pods/volumes/kubernetes.io~projected/kube-api-access"}}, "kubelet", "/usr/bin/kubelet", 0, "/"},
	{"apt-get", "/usr/bin/apt-get", [][]string{{"apt-get", "update", "-qq"}, {"apt-get", "-y", "install", "jq"}}, "sh", "/usr/bin/dash", 0, "/root"},
	{"dpkg", "/usr/bin/dpkg", [][]string{{"dpkg", "--print-foreign-architectures"}, {"dpkg", "-l"}}, "apt-get", "/usr/bin/apt-get", 0, "/root"},
	{"id", "/usr/bin/id", [][]string{{"id", "-u"}, {"id"}}, "bash", "/usr/bin/bash", -1, "/home"},
	{"cat", "/usr/bin/cat", [][]string{{"cat", "/etc/os-release"}, {"cat", "/proc/meminfo"}}, "bash", "/usr/bin/bash", -1, "/home"},
	{"ps", "/usr/bin/ps", [][]string{{"ps", "aux"}, {"ps", "-ef"}}, "bash", "/usr/bin/bash", -1, "/home"},
	{"git", "/usr/bin/git", [][]string{{"git", "pull", "--ff-only"}, {"git", "status", "--porcelain"}}, "bash", "/usr/bin/bash", -1, "/home"},
	{"logrotate", "/usr/sbin/logrotate", [][]string{{"/usr/sbin/logrotate", "/etc/logrotate.conf"}}, "systemd", "/usr/lib/systemd/systemd", 0, "/"},
}

// Linux accounts used for system processes (index 0 is root).
var linuxSystemUsers = []struct{ name, id string }{{"root", "0"}, {"systemd-network", "100"}, {"syslog", "104"}}

// Container programs that pods run as part of their workload (never interactive).
var containerWorkloadProcs = []procSpec{
	{"java", "/opt/java/openjdk/bin/java", [][]string{{"java", "-XX:MaxRAMPercentage=75", "-jar", "/app/service.jar"}}, "containerd-shim", "/usr/bin/containerd-shim-runc-v2", 0, "/app"},
	{"node", "/usr/local/bin/node", [][]string{{"node", "server.js"}, {"node", "/app/dist/main.js"}}, "containerd-shim", "/usr/bin/containerd-shim-runc-v2", 0, "/app"},
	{"python3", "/usr/local/bin/python3.12", [][]string{{"python3", "-m", "gunicorn", "app:app", "--bind", "0.0.0.0:8000"}, {"python3", "manage.py", "migrate", "--noinput"}}, "sh", "/bin/sh", 0, "/app"},
	{"nginx", "/usr/sbin/nginx", [][]string{{"nginx", "-g", "daemon off;"}}, "containerd-shim", "/usr/bin/containerd-shim-runc-v2", 0, "/"},
	{"sh", "/bin/sh", [][]string{{"/bin/sh", "-c", "/healthcheck.sh"}, {"sh", "-c", "test -f /tmp/ready"}}, "runc", "/usr/bin/runc", 0, "/"},
	{"curl", "/usr/bin/curl", [][]string{{"curl", "-fs", "http://localhost:8080/healthz"}}, "sh", "/bin/sh", 0, "/"},
	{"wget", "/usr/bin/wget", [][]string{{"wget", "-q", "--spider", "http://127.0.0.1:9090/-/ready"}}, "sh", "/bin/sh", 0, "/"},
	{"envoy", "/usr/local/bin/envoy", [][]string{{"envoy", "-c", "/etc/envoy/envoy.yaml", "--log-level", "info"}}, "containerd-shim", "/usr/bin/containerd-shim-runc-v2", 0, "/"},
}

// Programs people run by hand in an interactive shell inside a container. They match the seed
// rule's first stage, so they only appear in pods that never call the API server.
var containerInteractiveProcs = []procSpec{
	{"bash", "/bin/bash", [][]string{{"bash"}, {"/bin/bash", "-il"}}, "runc", "/usr/bin/runc", 0, "/"},
	{"sh", "/bin/sh", [][]string{{"sh"}, {"/bin/sh", "-i"}}, "runc", "/usr/bin/runc", 0, "/"},
	{"ls", "/bin/ls", [][]string{{"ls", "-la"}, {"ls", "/var/run/secrets/kubernetes.io/serviceaccount"}}, "bash", "/bin/bash", 0, "/"},
	{"cat", "/bin/cat", [][]string{{"cat", "/etc/resolv.conf"}, {"cat", "config.yaml"}}, "bash", "/bin/bash", 0, "/app"},
	{"env", "/usr/bin/env", [][]string{{"env"}}, "bash", "/bin/bash", 0, "/"},
	{"ps", "/bin/ps", [][]string{{"ps", "aux"}}, "bash", "/bin/bash", 0, "/"},
	{"python3", "/usr/local/bin/python3.12", [][]string{{"python3"}, {"python3", "-c", "import os; print(os.environ)"}}, "bash", "/bin/bash", 0, "/app"},
	{"vi", "/usr/bin/vi", [][]string{{"vi", "/etc/hosts"}}, "bash", "/bin/bash", 0, "/"},
	{"df", "/bin/df", [][]string{{"df", "-h"}}, "sh", "/bin/sh", 0, "/"},
	{"hostname", "/bin/hostname", [][]string{{"hostname", "-i"}}, "sh", "/bin/sh", 0, "/"},
}

// Unusual utilities talking to the API server from an interactive shell: the planted first stage.
// The busybox one is the rule's own edge case: a shell running wget via "which" is not excluded.
var plantedProcs = []procSpec{
	{"python3", "/usr/local/bin/python3.12", [][]string{{"python3", "-c", "import urllib.request,ssl;print(urllib.request.urlopen('https://kubernetes.default.svc/api/v1/namespaces/default/secrets',context=ssl._create_unverified_context()).read())"}}, "bash", "/bin/bash", 0, "/tmp"},
	{"bash", "/bin/bash", [][]string{{"bash", "-c", "exec 3<>/dev/tcp/10.96.0.1/443"}}, "bash", "/bin/bash", 0, "/tmp"},
	{"perl", "/usr/bin/perl", [][]string{{"perl", "-MHTTP::Tiny", "-e", "print HTTP::Tiny->new->get(\"https://kubernetes.default.svc/api/v1/pods\")->{content}"}}, "sh", "/bin/sh", 0, "/tmp"},
	{"node", "/usr/local/bin/node", [][]string{{"node", "-e", "require('https').get('https://kubernetes.default.svc/api/v1/namespaces/kube-system/configmaps',r=>r.pipe(process.stdout))"}}, "bash", "/bin/bash", 0, "/app"},
	{"busybox", "/bin/busybox", [][]string{{"busybox", "which", "wget"}}, "sh", "/bin/sh", 0, "/"},
	{"kube-hunter", "/usr/local/bin/kube-hunter", [][]string{{"kube-hunter", "--pod", "--report", "json"}}, "sh", "/bin/sh", 0, "/tmp"},
}

// Utilities the seed rule excludes (in both its published and its documented version): decoys.
var excludedProcs = []procSpec{
	{"curl", "/usr/bin/curl", [][]string{{"curl", "-sk", "-H", "Authorization: Bearer eyJhbGciOiJSUzI1NiJ9", "https://kubernetes.default.svc/api/v1/namespaces/default/secrets"}}, "bash", "/bin/bash", 0, "/"},
	{"kubectl", "/usr/local/bin/kubectl", [][]string{{"kubectl", "get", "secrets", "-A"}, {"kubectl", "auth", "can-i", "--list"}}, "bash", "/bin/bash", 0, "/"},
	{"wget", "/usr/bin/wget", [][]string{{"wget", "-qO-", "https://kubernetes.default.svc/api"}}, "sh", "/bin/sh", 0, "/"},
	{"openssl", "/usr/bin/openssl", [][]string{{"openssl", "s_client", "-connect", "kubernetes.default.svc:443"}}, "bash", "/bin/bash", 0, "/"},
	{"busybox", "/bin/busybox", [][]string{{"busybox", "wget", "-qO-", "https://kubernetes.default.svc/api/v1/pods"}}, "sh", "/bin/sh", 0, "/"},
	{"sh", "/bin/sh", [][]string{{"sh", "/usr/local/bin/kubectl", "get", "pods"}}, "sh", "/bin/sh", 0, "/"},
	{"sleep", "/bin/sleep", [][]string{{"sleep", "3600"}}, "bash", "/bin/bash", 0, "/"},
	{"head", "/usr/bin/head", [][]string{{"head", "-c", "64", "/var/run/secrets/kubernetes.io/serviceaccount/token"}}, "bash", "/bin/bash", 0, "/"},
}

// Windows programs (Elastic Defend, endpoint.events.process).
var windowsProcs = []procSpec{
	{"svchost.exe", `C:\Windows\System32\svchost.exe`, [][]string{{`C:\Windows\System32\svchost.exe`, "-k", "WerSvcGroup"}, {`C:\Windows\system32\svchost.exe`, "-k", "netsvcs", "-p", "-s", "Schedule"}}, "services.exe", `C:\Windows\System32\services.exe`, 0, `C:\Windows\system32\`},
	{"powershell.exe", `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, [][]string{{"powershell.exe", "-NoProfile", "-ExecutionPolicy", "Bypass", "-File", `C:\ProgramData\Tasks\inventory.ps1`}, {"powershell.exe", "-NoLogo"}}, "explorer.exe", `C:\Windows\explorer.exe`, -1, `C:\Users\Public\`},
	{"cmd.exe", `C:\Windows\System32\cmd.exe`, [][]string{{`C:\Windows\system32\cmd.exe`, "/c", `"C:\Program Files\Git\cmd\git.exe" fetch`}, {`C:\Windows\system32\cmd.exe`}}, "explorer.exe", `C:\Windows\explorer.exe`, -1, `C:\Users\Public\`},
	{"conhost.exe", `C:\Windows\System32\conhost.exe`, [][]string{{`\??\C:\Windows\system32\conhost.exe`, "0xffffffff", "-ForceV1"}}, "cmd.exe", `C:\Windows\System32\cmd.exe`, -1, `C:\Windows\system32\`},
	{"msedge.exe", `C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe`, [][]string{{`C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe`, "--type=renderer", "--lang=en-US", "--renderer-client-id=7"}}, "msedge.exe", `C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe`, -1, `C:\Program Files (x86)\Microsoft\Edge\Application\`},
	{"taskhostw.exe", `C:\Windows\System32\taskhostw.exe`, [][]string{{"taskhostw.exe", "Install", "$(Arg0)"}}, "svchost.exe", `C:\Windows\System32\svchost.exe`, -1, `C:\Windows\system32\`},
	{"WmiPrvSE.exe", `C:\Windows\System32\wbem\WmiPrvSE.exe`, [][]string{{`C:\Windows\system32\wbem\wmiprvse.exe`, "-Embedding"}}, "svchost.exe", `C:\Windows\System32\svchost.exe`, 1, `C:\Windows\system32\`},
	{"RuntimeBroker.exe", `C:\Windows\System32\RuntimeBroker.exe`, [][]string{{`C:\Windows\System32\RuntimeBroker.exe`, "-Embedding"}}, "svchost.exe", `C:\Windows\System32\svchost.exe`, -1, `C:\Windows\system32\`},
	{"git.exe", `C:\Program Files\Git\cmd\git.exe`, [][]string{{`C:\Program Files\Git\cmd\git.exe`, "fetch"}, {"git.exe", "status"}}, "cmd.exe", `C:\Windows\System32\cmd.exe`, -1, `C:\Users\Public\`},
	{"backgroundTaskHost.exe", `C:\Windows\System32\backgroundTaskHost.exe`, [][]string{{`C:\Windows\system32\backgroundTaskHost.exe`, "-ServerName:App.AppXmtcan0h2tfbfy7k9kn8hbxb6dmzz1zh0.mca"}}, "svchost.exe", `C:\Windows\System32\svchost.exe`, -1, `C:\Windows\system32\`},
	{"MsMpEng.exe", `C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MsMpEng.exe`, [][]string{{`C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MsMpEng.exe`}}, "services.exe", `C:\Windows\System32\services.exe`, 0, `C:\Windows\system32\`},
	{"OneDrive.exe", `C:\Users\Public\AppData\Local\Microsoft\OneDrive\OneDrive.exe`, [][]string{{"OneDrive.exe", "/background"}}, "explorer.exe", `C:\Windows\explorer.exe`, -1, `C:\Users\Public\`},
	{"whoami.exe", `C:\Windows\System32\whoami.exe`, [][]string{{"whoami.exe", "/all"}, {"whoami"}}, "cmd.exe", `C:\Windows\System32\cmd.exe`, -1, `C:\Users\Public\`},
	{"schtasks.exe", `C:\Windows\System32\schtasks.exe`, [][]string{{"schtasks.exe", "/query", "/fo", "LIST"}}, "cmd.exe", `C:\Windows\System32\cmd.exe`, -1, `C:\Users\Public\`},
	{"explorer.exe", `C:\Windows\explorer.exe`, [][]string{{`C:\Windows\Explorer.EXE`}}, "userinit.exe", `C:\Windows\System32\userinit.exe`, -1, `C:\Windows\system32\`},
}

// Windows system accounts (index 0 is SYSTEM).
var windowsSystemUsers = []struct{ name, id, domain string }{
	{"SYSTEM", "S-1-5-18", "NT AUTHORITY"}, {"NETWORK SERVICE", "S-1-5-20", "NT AUTHORITY"}, {"LOCAL SERVICE", "S-1-5-19", "NT AUTHORITY"},
}

var firstNames = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yuki"}

var appNames = []string{"checkout", "payments", "catalog", "frontend", "cart", "inventory", "shipping", "auth", "search", "recommendation", "notification", "gateway", "billing", "profile", "reporting", "ledger", "orders", "media", "analytics", "scheduler"}

// Deployment names used only by planted and decoy episodes, so their pods never collide with noise pods.
var episodeAppNames = []string{"toolbox", "debug-shell", "ci-runner", "jupyter", "ops-bastion", "batch-worker", "migration-job", "sandbox"}

var namespaces = []string{"default", "prod", "staging", "payments", "platform", "data", "monitoring", "kube-system"}

var images = []struct{ name, tag string }{
	{"registry.example.com/shop/service", "1.24.3"}, {"docker.io/library/nginx", "1.27-alpine"}, {"docker.io/library/python", "3.12-slim"},
	{"docker.io/library/node", "22-bookworm"}, {"eclipse-temurin", "21-jre"}, {"envoyproxy/envoy", "v1.31.2"}, {"docker.io/library/busybox", "1.36"},
}

var k8sResources = []struct {
	resource, group, version string
	namespaced               bool
}{
	{"pods", "", "v1", true}, {"secrets", "", "v1", true}, {"configmaps", "", "v1", true}, {"endpoints", "", "v1", true},
	{"services", "", "v1", true}, {"events", "", "v1", true}, {"leases", "coordination.k8s.io", "v1", true},
	{"deployments", "apps", "v1", true}, {"replicasets", "apps", "v1", true}, {"nodes", "", "v1", false},
	{"namespaces", "", "v1", false}, {"serviceaccounts", "", "v1", true}, {"endpointslices", "discovery.k8s.io", "v1", true},
	{"jobs", "batch", "v1", true}, {"persistentvolumeclaims", "", "v1", true}, {"selfsubjectaccessreviews", "authorization.k8s.io", "v1", false},
}

var k8sVerbs = []string{"get", "list", "watch", "update", "patch", "create", "delete", "get", "list", "watch", "get"}

var domains = []string{"api.github.com", "login.microsoftonline.com", "www.google.com", "update.googleapis.com", "s3.amazonaws.com", "registry-1.docker.io",
	"ocsp.digicert.com", "settings-win.data.microsoft.com", "packages.cloud.google.com", "archive.ubuntu.com", "slack.com", "teams.microsoft.com",
	"kubernetes.default.svc.cluster.local", "sts.amazonaws.com", "ctldl.windowsupdate.com"}

var linuxFiles = []string{"/var/log/syslog", "/etc/hosts", "/tmp/tmp.Xk2Lw9", "/var/lib/kubelet/config.yaml", "/home/ubuntu/.bash_history",
	"/etc/cron.d/backup", "/var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db", "/usr/local/bin/node_exporter", "/etc/ssl/certs/ca-certificates.crt", "/var/log/pods/app.log"}

var windowsFiles = []string{`C:\Users\Public\Downloads\report.pdf`, `C:\Windows\Temp\MpCmdRun.log`, `C:\ProgramData\Microsoft\Windows\WER\Temp\WER1A2B.tmp.csv`,
	`C:\Users\Public\AppData\Local\Temp\~DF3A1C.tmp`, `C:\Windows\Prefetch\SVCHOST.EXE-6D8B9CC4.pf`, `C:\Users\Public\Documents\budget.xlsx`,
	`C:\Windows\System32\Tasks\Microsoft\Windows\UpdateOrchestrator\Schedule Scan`, `C:\Program Files\Git\etc\gitconfig`}

var registryKeys = []struct{ hive, key, value, data, typ string }{
	{"HKLM", `SOFTWARE\Microsoft\Windows\CurrentVersion\Run`, "SecurityHealth", `%windir%\system32\SecurityHealthSystray.exe`, "REG_EXPAND_SZ"},
	{"HKLM", `SYSTEM\ControlSet001\Services\bam\State\UserSettings\S-1-5-21-1004336348-1177238915-682003330-1001`, `\Device\HarddiskVolume3\Windows\System32\cmd.exe`, "", "REG_BINARY"},
	{"HKU", `S-1-5-21-1004336348-1177238915-682003330-1001\Software\Microsoft\Windows\CurrentVersion\Explorer\RecentDocs`, "MRUListEx", "", "REG_BINARY"},
	{"HKLM", `SOFTWARE\Microsoft\Windows Defender\Signature Updates`, "SignaturesLastUpdated", "", "REG_BINARY"},
	{"HKLM", `SYSTEM\ControlSet001\Services\W32Time\Config`, "LastKnownGoodTime", "", "REG_QWORD"},
	{"HKU", `S-1-5-21-1004336348-1177238915-682003330-1001\Software\Microsoft\Office\16.0\Common\Roaming`, "RoamingLastSyncTime", "133711234", "REG_SZ"},
}
