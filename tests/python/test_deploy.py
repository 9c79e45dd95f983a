"""Offline checks of deploy/: Kubernetes manifests against the bundled OpenAPI schemas, the
Dockerfile and compose file, and the Slurm script (linted, then run against stand-ins for
scontrol, srun and arbor to check its start-up and teardown)."""

import os
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
COMPOSE = DEPLOY / "docker" / "compose.yaml"
SBATCH = DEPLOY / "slurm" / "arbor.sbatch"

# The oldest Kubernetes minor still commonly run, and the newest the validator bundles.
K8S_VERSIONS = ["1.29.0", "latest"]


# ---------------------------------------------------------------- Kubernetes


def kustomization():
    return yaml.safe_load((K8S / "kustomization.yaml").read_text())


def manifests():
    """(file name, document) for every resource the kustomization lists."""
    documents = []
    for name in kustomization()["resources"]:
        for document in yaml.safe_load_all((K8S / name).read_text()):
            if document:
                documents.append((name, document))
    return documents


def resource(kind, name):
    found = [d for _, d in manifests() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def container(deployment):
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def flag(arguments, name):
    """The value of --name=VALUE or --name VALUE in a container's args."""
    for index, argument in enumerate(arguments):
        if argument.startswith(f"--{name}="):
            return argument.split("=", 1)[1]
        if argument == f"--{name}":
            return arguments[index + 1]
    return None


def test_kustomization_lists_every_manifest_in_the_folder():
    listed = set(kustomization()["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_manifests_match_the_kubernetes_openapi_schemas(version):
    import kubernetes_validate

    if version == "latest":
        version = kubernetes_validate.utils.latest_version()
    kinds = set()
    for name, document in manifests():
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{name}: {document['kind']}/{document['metadata']['name']}: {error}")
        kinds.add(document["kind"])
    assert kinds >= {
        "Deployment", "Service", "PersistentVolumeClaim", "Secret", "ConfigMap",
        "HorizontalPodAutoscaler", "NetworkPolicy",
    }


def test_the_validator_rejects_a_broken_manifest():
    """The schema check is real: an unknown field and a wrong type both fail."""
    import kubernetes_validate

    broken = resource("Deployment", "arbor-worker")
    broken = yaml.safe_load(yaml.safe_dump(broken))
    broken["spec"]["replicas"] = "four"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.29.0", strict=True)
    unknown = yaml.safe_load(yaml.safe_dump(resource("Service", "arbor-coordinator")))
    unknown["spec"]["prots"] = []
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(unknown, "1.29.0", strict=True)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_kustomize_builds_and_its_output_validates(tmp_path):
    import kubernetes_validate

    built = subprocess.run(["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, timeout=60)
    assert built.returncode == 0, built.stderr
    documents = [d for d in yaml.safe_load_all(built.stdout) if d]
    assert len(documents) == len(manifests())
    for document in documents:
        if document["kind"] != "Namespace":
            assert document["metadata"]["namespace"] == "arbor"
        kubernetes_validate.validate(document, "1.29.0", strict=True)


def test_coordinator_service_reaches_the_coordinator_ports():
    deployment = resource("Deployment", "arbor-coordinator")
    service = resource("Service", "arbor-coordinator")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    ports = {p["name"]: p["containerPort"] for p in container(deployment)["ports"]}
    assert ports == {"worker": 5555, "control": 5556, "http": 8080}
    for port in service["spec"]["ports"]:
        assert port["targetPort"] in ports
        assert port["port"] == ports[port["targetPort"]]
    arguments = container(deployment)["args"]
    assert arguments[0] == "coordinator"
    assert flag(arguments, "bind") == "tcp://0.0.0.0:5555"
    assert flag(arguments, "control") == "tcp://0.0.0.0:5556"
    assert flag(arguments, "http") == "0.0.0.0:8080"
    # One writer on the run directory: never two coordinators at once.
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"]["type"] == "Recreate"


def test_coordinator_probes_use_healthz_on_the_http_port():
    coordinator = container(resource("Deployment", "arbor-coordinator"))
    for probe in ("readinessProbe", "livenessProbe"):
        check = coordinator[probe]["httpGet"]
        assert check == {"path": "/healthz", "port": "http"}, probe


def test_coordinator_mounts_the_job_run_directory_and_keys():
    deployment = resource("Deployment", "arbor-coordinator")
    spec = deployment["spec"]["template"]["spec"]
    mounts = {m["name"]: m["mountPath"] for m in container(deployment)["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    arguments = container(deployment)["args"]
    assert volumes["job"]["configMap"]["name"] == "arbor-job"
    job_key = next(iter(resource("ConfigMap", "arbor-job")["data"]))
    assert flag(arguments, "config") == f"{mounts['job']}/{job_key}"
    assert volumes["runs"]["persistentVolumeClaim"]["claimName"] == "arbor-runs"
    resource("PersistentVolumeClaim", "arbor-runs")
    assert flag(arguments, "run-dir").startswith(mounts["runs"] + "/")
    assert flag(arguments, "curve-secret") == f"{mounts['curve']}/coordinator.key"
    assert flag(arguments, "authorized-keys") == mounts["authorized-keys"]
    assert "--insecure" not in arguments


def test_secret_items_name_keys_the_secret_has():
    secret = resource("Secret", "arbor-curve")
    keys = set(secret.get("stringData", {})) | set(secret.get("data", {}))
    assert keys == {"coordinator.key", "coordinator.pub", "worker-1.key", "worker-1.pub"}
    for name in ("arbor-coordinator", "arbor-worker"):
        for volume in resource("Deployment", name)["spec"]["template"]["spec"]["volumes"]:
            if "secret" in volume:
                assert volume["secret"]["secretName"] == "arbor-curve"
                assert {item["key"] for item in volume["secret"]["items"]} <= keys


def test_worker_connects_to_the_service_with_keys_and_drains_on_stop():
    deployment = resource("Deployment", "arbor-worker")
    worker = container(deployment)
    arguments = worker["args"]
    assert arguments[0] == "worker"
    assert flag(arguments, "connect") == "tcp://arbor-coordinator:5555"
    mounts = {m["name"]: m["mountPath"] for m in worker["volumeMounts"]}
    assert flag(arguments, "curve-secret") == f"{mounts['curve']}/worker-1.key"
    assert flag(arguments, "server-key") == f"{mounts['curve']}/coordinator.pub"
    assert int(flag(arguments, "slots")) >= 1
    assert deployment["spec"]["replicas"] >= 1
    spec = deployment["spec"]["template"]["spec"]
    # Drain: SIGTERM (from the preStop hook, then the kubelet) and time to finish requests.
    assert spec["terminationGracePeriodSeconds"] >= 120
    hook = " ".join(worker["lifecycle"]["preStop"]["exec"]["command"])
    assert "kill -TERM 1" in hook
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["model"]["persistentVolumeClaim"]["claimName"] == "arbor-model"
    resource("PersistentVolumeClaim", "arbor-model")


def test_job_configmap_points_at_files_in_the_image_and_the_model_volume():
    job = yaml.safe_load(resource("ConfigMap", "arbor-job")["data"]["job.yaml"])
    worker = container(resource("Deployment", "arbor-worker"))
    model_mount = next(m["mountPath"] for m in worker["volumeMounts"] if m["name"] == "model")
    assert job["model"]["path"].startswith(model_mount + "/")
    assert job["model"]["backend"] == flag(worker["args"], "backend")
    for task_set in job["task_sets"]:
        # The image copies examples/ to /opt/arbor/examples.
        relative = Path(task_set["path"]).relative_to("/opt/arbor/examples")
        assert (ROOT / "examples" / relative).is_file(), task_set["path"]
    assert (ROOT / "examples" / Path(job["tools"]["search"]["corpus"]).relative_to("/opt/arbor/examples")).exists()
    for key in ("tree", "reward", "advantage", "batch"):
        assert key in job


def test_hpa_scales_the_workers_on_the_queue_depth_metric():
    hpa = resource("HorizontalPodAutoscaler", "arbor-worker")
    assert hpa["apiVersion"] == "autoscaling/v2"
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "arbor-worker")
    [metric] = hpa["spec"]["metrics"]
    body = metric[metric["type"].lower()]
    assert body["metric"]["name"] == "arbor_queue_depth"
    if metric["type"] == "Object":
        described = body["describedObject"]
        resource(described["kind"], described["name"])
    assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]


def test_network_policies_restrict_the_worker_port_to_workers():
    coordinator = resource("NetworkPolicy", "arbor-coordinator")
    worker_labels = resource("Deployment", "arbor-worker")["spec"]["template"]["metadata"]["labels"]
    coordinator_labels = resource("Deployment", "arbor-coordinator")["spec"]["template"]["metadata"]["labels"]
    assert coordinator["spec"]["podSelector"]["matchLabels"].items() <= coordinator_labels.items()
    rules = coordinator["spec"]["ingress"]
    by_port = {}
    for rule in rules:
        for port in rule["ports"]:
            by_port.setdefault(port["port"], []).extend(rule["from"])
    assert set(by_port) == {5555, 5556, 8080}
    [worker_peer] = by_port[5555]
    assert worker_peer["podSelector"]["matchLabels"].items() <= worker_labels.items()
    for port in (5556, 8080):
        assert by_port[port] == [{"podSelector": {}}], "control and HTTP: any pod in the namespace"

    worker = resource("NetworkPolicy", "arbor-worker")
    assert worker["spec"]["podSelector"]["matchLabels"].items() <= worker_labels.items()
    assert worker["spec"]["ingress"] == []
    egress_ports = {
        (port["port"], tuple(sorted(peer.get("podSelector", {}).get("matchLabels", {}).items())))
        for rule in worker["spec"]["egress"] for port in rule["ports"] for peer in rule["to"]
    }
    coordinator_ports = {
        port for port, labels in egress_ports if labels and dict(labels).items() <= coordinator_labels.items()
    }
    assert coordinator_ports == {5555}
    assert {p for p, _ in egress_ports} == {5555, 53}


# ---------------------------------------------------------------- Docker


def dockerfile_instructions():
    """(instruction, arguments) with continuation lines joined and comments dropped."""
    instructions, pending = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        text = pending + stripped
        pending = ""
        keyword, _, rest = text.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


def dockerfile_stages():
    stages = {}
    current = None
    arguments = {}
    for keyword, rest in dockerfile_instructions():
        if keyword == "ARG" and current is None:
            name, _, default = rest.partition("=")
            arguments[name] = default
        elif keyword == "FROM":
            image, _, alias = rest.partition(" AS ")
            for name, value in arguments.items():
                image = image.replace("${%s}" % name, value)
            current = alias.strip() or image
            stages[current] = {"image": image.strip(), "steps": []}
        else:
            stages[current]["steps"].append((keyword, rest))
    return stages


@pytest.mark.skipif(shutil.which("hadolint") is None, reason="hadolint not installed")
def test_hadolint_passes_on_the_dockerfile():
    result = subprocess.run(["hadolint", "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_builds_arbor_with_swift_then_copies_it_into_a_slim_runtime():
    stages = dockerfile_stages()
    assert list(stages) == ["builder", "runtime"]
    assert stages["builder"]["image"].startswith("swift:6.")
    assert "bookworm" in stages["builder"]["image"]
    assert stages["runtime"]["image"] == "debian:bookworm-slim"
    builder = " ".join(rest for keyword, rest in stages["builder"]["steps"] if keyword == "RUN")
    assert "swift build -c release --product arbor" in builder
    for package in ("libzmq3-dev", "libopenblas-dev"):
        assert package in builder
    # What the build context must hold exists in the repository.
    for keyword, rest in stages["builder"]["steps"]:
        if keyword == "COPY":
            sources = shlex.split(rest)[:-1]
            assert any((ROOT / s.rstrip("*")).exists() for s in sources), rest


def test_runtime_stage_has_the_libraries_the_binary_and_a_non_root_user():
    steps = dockerfile_stages()["runtime"]["steps"]
    installs = " ".join(rest for keyword, rest in steps if keyword == "RUN")
    for package in ("libzmq5", "libopenblas0", "bubblewrap", "python3", "tini"):
        assert f" {package} " in f" {installs} ", package
    copies = [rest for keyword, rest in steps if keyword == "COPY"]
    assert any("--from=builder" in c and c.endswith("/usr/local/bin/arbor") for c in copies)
    assert any("--from=builder" in c and "/usr/lib/swift/linux" in c for c in copies), "the Swift runtime"
    assert "ldconfig" in installs
    runtime = dict(steps)
    user = runtime["USER"].split(":")[0]
    assert user not in ("root", "0")
    assert runtime["ENTRYPOINT"].startswith("[")
    entrypoint = yaml.safe_load(runtime["ENTRYPOINT"])
    assert entrypoint[-1] == "arbor"
    assert set(runtime["EXPOSE"].split()) == {"5555", "5556", "8080"}


def compose():
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_runs_a_coordinator_and_scalable_workers():
    services = compose()["services"]
    assert set(services) == {"coordinator", "worker"}
    coordinator, worker = services["coordinator"], services["worker"]
    for service in (coordinator, worker):
        build = service["build"]
        assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
    # `--scale worker=N` needs no fixed container name and no host ports on the worker.
    assert "container_name" not in worker and "ports" not in worker
    assert worker["command"][0] == "worker"
    assert flag(worker["command"], "connect") == "tcp://coordinator:5555"
    assert flag(coordinator["command"], "bind") == "tcp://0.0.0.0:5555"
    assert worker["depends_on"]["coordinator"]["condition"] == "service_healthy"
    assert "/healthz" in " ".join(coordinator["healthcheck"]["test"])
    assert worker["stop_signal"] == "SIGTERM"
    assert int(worker["stop_grace_period"].rstrip("s")) >= 60


def test_compose_volumes_hold_the_run_directory_and_the_model():
    document = compose()
    coordinator, worker = document["services"]["coordinator"], document["services"]["worker"]
    assert "runs" in document["volumes"]
    assert any(v.startswith("runs:/var/lib/arbor/runs") for v in coordinator["volumes"])
    run_dir = flag(coordinator["command"], "run-dir")
    assert run_dir.startswith("/var/lib/arbor/runs/")
    model_mounts = [v for v in worker["volumes"] if ":/opt/arbor/models" in v]
    assert model_mounts and model_mounts[0].split(":")[0] == "../../models"
    assert model_mounts[0] in coordinator["volumes"], "the same model path everywhere"
    # The default job ships in the image (examples/ is copied to /opt/arbor/examples).
    default_job = flag(coordinator["command"], "config").split(":-")[1].rstrip("}")
    assert (ROOT / "examples" / Path(default_job).relative_to("/opt/arbor/examples")).is_file()


# ---------------------------------------------------------------- Slurm


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed")
def test_shellcheck_passes_on_the_sbatch_script():
    result = subprocess.run(["shellcheck", "--shell=bash", str(SBATCH)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_sbatch_directives_ask_for_nodes_and_an_early_warning():
    directives = [line.split(None, 1)[1] for line in SBATCH.read_text().splitlines() if line.startswith("#SBATCH ")]
    options = dict(d.split("=", 1) for d in directives)
    assert int(options["--nodes"]) >= 2
    assert options["--signal"].startswith("B:TERM@"), "the batch shell is warned before the time limit"
    assert subprocess.run(["bash", "-n", str(SBATCH)]).returncode == 0


FAKE_SCONTROL = """\
#!/usr/bin/env bash
# scontrol show hostnames LIST
[ "$1 $2" = "show hostnames" ] && printf 'node1\\nnode2\\nnode3\\n'
"""

FAKE_SRUN = """\
#!/usr/bin/env bash
# Runs one copy of the command per --ntasks, locally; forwards SIGTERM like srun does.
echo "srun $*" >> "$FAKE_LOG"
tasks=1
while [[ "$1" == --* ]]; do
    case "$1" in --ntasks=*) tasks="${1#--ntasks=}" ;; esac
    shift
done
pids=()
for i in $(seq 1 "$tasks"); do "$@" & pids+=($!); done
trap 'kill -TERM "${pids[@]}" 2>/dev/null' TERM
for pid in "${pids[@]}"; do wait "$pid" || wait "$pid"; done
"""

FAKE_ARBOR = """\
#!/usr/bin/env bash
# Stands in for arbor: records its arguments; the coordinator runs until the marker file
# appears or SIGTERM; workers drain on SIGTERM (log it) or exit when the coordinator is gone.
echo "arbor $*" >> "$FAKE_LOG"
case "$1" in
  status) [ -f "$FAKE_DIR/coordinator.up" ] ;;
  coordinator)
    trap 'echo "coordinator stopped by SIGTERM" >> "$FAKE_LOG"; rm -f "$FAKE_DIR/coordinator.up"; exit 0' TERM
    touch "$FAKE_DIR/coordinator.up"
    while [ ! -f "$FAKE_DIR/job.done" ]; do sleep 0.1; done
    rm -f "$FAKE_DIR/coordinator.up"
    echo "job complete" ;;
  worker)
    trap 'echo "worker drained after SIGTERM" >> "$FAKE_LOG"; exit 0' TERM
    while [ -f "$FAKE_DIR/coordinator.up" ]; do sleep 0.1; done
    echo "worker left: job done" >> "$FAKE_LOG" ;;
esac
"""


def fake_cluster(tmp_path, **settings):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("scontrol", FAKE_SCONTROL), ("srun", FAKE_SRUN), ("arbor", FAKE_ARBOR)):
        path = bin_dir / name
        path.write_text(text)
        path.chmod(0o755)
    job = tmp_path / "job.yaml"
    job.write_text("name: fake\n")
    environment = dict(
        os.environ,
        PATH=f"{bin_dir}:{os.environ['PATH']}",
        FAKE_LOG=str(tmp_path / "calls.log"),
        FAKE_DIR=str(tmp_path),
        SLURM_JOB_ID="4242",
        SLURM_JOB_NODELIST="node[1-3]",
        SLURM_SUBMIT_DIR=str(tmp_path),
        ARBOR_RUN_DIR=str(tmp_path / "shared" / "runs" / "exp1"),
        ARBOR_DRAIN_S="10",
        **settings,
    )
    script = subprocess.Popen(
        ["bash", str(SBATCH), str(job)], env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True)
    return script, tmp_path / "calls.log"


def workers_started(log):
    return log.exists() and sum(line.startswith("arbor worker") for line in log.read_text().splitlines()) == 2


def wait_for(condition, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_sbatch_runs_the_coordinator_here_and_workers_on_the_other_nodes(tmp_path):
    script, log = fake_cluster(tmp_path)
    try:
        assert wait_for(lambda: workers_started(log)), script.stdout.read()
        (tmp_path / "job.done").touch()
        output, _ = script.communicate(timeout=30)
    finally:
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)
    calls = log.read_text()
    assert script.returncode == 0, output + calls
    [coordinator] = [line for line in calls.splitlines() if line.startswith("arbor coordinator")]
    assert f"--run-dir {tmp_path}/shared/runs/exp1" in coordinator
    assert "--bind tcp://0.0.0.0:5555" in coordinator
    assert "--insecure" in coordinator, "no ARBOR_KEYS: plain sockets, said out loud"
    [srun] = [line for line in calls.splitlines() if line.startswith("srun")]
    assert "--nodelist=node2,node3" in srun and "--ntasks=2" in srun
    assert "--connect tcp://node1:5555" in srun
    assert calls.count("worker left: job done") == 2
    assert "SIGTERM" not in calls


def test_sbatch_teardown_drains_workers_then_stops_the_coordinator(tmp_path):
    script, log = fake_cluster(tmp_path)
    try:
        assert wait_for(lambda: workers_started(log)), script.stdout.read()
        time.sleep(0.3)
        script.send_signal(signal.SIGTERM)  # scancel, or the time limit's warning
        output, _ = script.communicate(timeout=30)
    finally:
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)
    calls = log.read_text()
    assert script.returncode == 143, output
    assert calls.count("worker drained after SIGTERM") == 2, calls
    assert "coordinator stopped by SIGTERM" in calls
    # Workers drain before the coordinator goes.
    assert calls.rindex("worker drained") < calls.index("coordinator stopped")
    assert "stopping workers" in output


def test_sbatch_passes_curve_keys_when_given(tmp_path):
    keys = tmp_path / "keys"
    keys.mkdir()
    script, log = fake_cluster(tmp_path, ARBOR_KEYS=str(keys))
    try:
        assert wait_for(lambda: log.exists() and "srun" in log.read_text()), script.stdout.read()
        (tmp_path / "job.done").touch()
        script.communicate(timeout=30)
    finally:
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)
    calls = log.read_text()
    assert f"--curve-secret {keys}/coordinator.key --authorized-keys {keys}/authorized_keys" in calls
    assert f"--curve-secret {keys}/worker-1.key --server-key {keys}/coordinator.pub" in calls
    assert "--insecure" not in calls
