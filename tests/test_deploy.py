"""What ships beside the code (issue 13, items 4 and 5): the Kubernetes
manifests render with `kubectl kustomize` and validate offline against the
Kubernetes schemas, and hold together (selectors, probes, secrets, the
shutdown budget); the container is reproducible (base by digest, one lock
with hashes that the image and this environment both install); the compose
file protects Redis and limits resources."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
KUSTOMIZE = ROOT / "deploy" / "kubernetes"
# The oldest Kubernetes the manifests promise to work on, and the newest the
# validator knows.
VERSIONS = ("1.25.0", kubernetes_validate.latest_version())
# Custom resources: no schema in Kubernetes itself; checked by hand below.
CUSTOM_KINDS = {"ServiceMonitor"}
LABELS = {"app.kubernetes.io/name": "loibinh", "app.kubernetes.io/component": "api"}


def render(folder: str) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    assert kubectl is not None, (
        "kubectl is missing: `make test` installs it (scripts/install-kubectl.sh)"
    )
    done = subprocess.run(
        [kubectl, "kustomize", str(KUSTOMIZE / folder)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.fixture(scope="module", params=["base", "overlays/example"])
def rendered(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(request.param)


def one(docs: list[dict[str, Any]], kind: str, name: str = "loibinh") -> dict[str, Any]:
    [found] = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


@pytest.mark.parametrize("version", VERSIONS)
def test_manifests_validate_against_the_kubernetes_schemas(
    rendered: list[dict[str, Any]], version: str
) -> None:
    kinds = set()
    for doc in rendered:
        kinds.add(doc["kind"])
        if doc["kind"] in CUSTOM_KINDS:
            continue
        # strict: a field the schema does not know (a typo) fails too.
        kubernetes_validate.validate(doc, version, strict=True)
    assert {
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "ConfigMap",
    } <= kinds


def test_the_deployment_is_hardened_and_probed(rendered: list[dict[str, Any]]) -> None:
    deployment = one(rendered, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["automountServiceAccountToken"] is False
    [container] = pod["containers"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert "memory" in container["resources"]["limits"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    # The only writable place is a volume of its own.
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert "/tmp" in mounts
    assert all(m.get("readOnly") for path, m in mounts.items() if path != "/tmp")

    # Every setting the pod is given exists (an unknown one would stop the service).
    env = {e["name"]: e for e in container["env"]}
    from service.settings import Settings

    for name in env:
        top = name.removeprefix("LOIBINH_").split("__")[0].lower()
        assert top in Settings.model_fields or top in ("config", "secret_key_file"), name

    # Secrets come from Secrets, never from the manifests.
    assert env["LOIBINH_REDIS__URL"]["valueFrom"]["secretKeyRef"]["name"] == "loibinh-redis"
    volumes = {v["name"]: v for v in pod["volumes"]}
    secret_mount = next(m for m in container["volumeMounts"] if m["name"] == "secret")
    assert env["LOIBINH_SECRET_KEY_FILE"]["value"].startswith(secret_mount["mountPath"] + "/")
    assert volumes["secret"]["secret"]["secretName"] == "loibinh-secret"
    assert not [d for d in rendered if d["kind"] == "Secret"]
    # The configuration file is the generated ConfigMap, by its hashed name.
    config = volumes["config"]["configMap"]["name"]
    [config_map] = [d for d in rendered if d["kind"] == "ConfigMap"]
    assert config_map["metadata"]["name"] == config
    config_mount = next(m for m in container["volumeMounts"] if m["name"] == "config")
    [file_name] = config_map["data"]
    assert env["LOIBINH_CONFIG"]["value"] == f"{config_mount['mountPath']}/{file_name}"

    # Stopping: preStop first, then the service's drain and shutdown, all
    # inside the grace period (or the pod is killed with requests in flight).
    pause = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pause[0] == "sleep"
    budget = (
        int(pause[1])
        + float(env["LOIBINH_DRAIN_SECONDS"]["value"])
        + float(env["LOIBINH_SHUTDOWN_SECONDS"]["value"])
    )
    assert budget < pod["terminationGracePeriodSeconds"]


def test_the_configuration_file_loads(rendered: list[dict[str, Any]], tmp_path: Path) -> None:
    """The ConfigMap's file is a valid configuration with at least one site."""
    from service.settings import load_settings

    [config_map] = [d for d in rendered if d["kind"] == "ConfigMap"]
    [(name, text)] = config_map["data"].items()
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("LOIBINH_CONFIG", str(path))
    monkeypatch.setenv("LOIBINH_SECRET_KEY", "k" * 40)
    try:
        settings = load_settings()
    finally:
        monkeypatch.undo()
    assert settings.mode == "production"
    assert settings.sites
    assert settings.network.trusted_proxies


def test_the_parts_select_the_pods(rendered: list[dict[str, Any]]) -> None:
    deployment = one(rendered, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"] == LABELS
    assert LABELS.items() <= pod_labels.items()
    ports = {p["name"] for p in deployment["spec"]["template"]["spec"]["containers"][0]["ports"]}
    services = [d for d in rendered if d["kind"] == "Service"]
    for service in services:
        assert service["spec"]["selector"].items() <= pod_labels.items()
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports
    pdb = one(rendered, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    hpa = one(rendered, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert hpa["spec"]["minReplicas"] >= 2  # the disruption budget needs a second pod
    # The public Service does not expose the metrics port.
    public = one(rendered, "Service")
    assert [p["targetPort"] for p in public["spec"]["ports"]] == ["http"]


def test_the_overlay_adds_the_service_monitor_and_pins_the_image() -> None:
    docs = render("overlays/example")
    assert {d["metadata"].get("namespace") for d in docs} == {"comments"}
    [monitor] = [d for d in docs if d["kind"] == "ServiceMonitor"]
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    selected = [
        s
        for s in docs
        if s["kind"] == "Service"
        and monitor["spec"]["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()
    ]
    assert [s["metadata"]["name"] for s in selected] == ["loibinh-metrics"]
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {p["name"] for p in selected[0]["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    image = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert re.fullmatch(r"[\w./-]+@sha256:[0-9a-f]{64}", image), image


# --- the container ------------------------------------------------------------------------------

LOCK = ROOT / "requirements.lock"


def locked() -> dict[str, str]:
    """Package name -> version pinned in requirements.lock."""
    pins = {}
    for line in LOCK.read_text("utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)", line)
        if match:
            pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def test_the_lock_pins_every_dependency_with_hashes() -> None:
    pins = locked()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    for dependency in project["dependencies"]:
        requirement = Requirement(dependency)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in requirements.lock: run `make lock`"
        assert requirement.specifier.contains(pins[name]), (name, pins[name])
    # Every pin carries at least one hash (pip --require-hashes needs all of them).
    blocks = re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text("utf-8").split("\n\n")[-1].strip())
    entries = [b for b in blocks if re.match(r"^[A-Za-z0-9]", b)]
    assert len(entries) == len(pins)
    assert all("--hash=sha256:" in entry for entry in entries)


def test_this_environment_runs_the_locked_versions() -> None:
    """`make install` installed the lock, as the image does: the tests run
    what production runs."""
    for name, version in locked().items():
        assert metadata.version(name) == version, name


def test_the_image_is_built_from_a_pinned_base_and_the_lock() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text("utf-8")
    [base] = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", dockerfile, re.MULTILINE)
    assert re.fullmatch(r"python:3\.11-slim@sha256:[0-9a-f]{64}", base), base
    froms = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    assert froms and all(f == "${PYTHON_IMAGE}" for f in froms), froms
    assert "pip install --require-hashes --no-deps -r requirements.lock" in dockerfile
    assert "!requirements.lock" in (ROOT / ".dockerignore").read_text("utf-8").splitlines()


def test_the_compose_file_protects_redis_and_limits_resources() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text("utf-8"))
    services = compose["services"]
    redis, service = services["redis"], services["loibinh"]
    assert "@sha256:" in redis["image"]
    # Redis asks for a password, read from a secret file, and so does the service's URL.
    command = " ".join(redis["command"])
    assert "--requirepass" in command or "redis_password" in command
    assert "redis_password" in redis["secrets"]
    assert "redis_password" in service["secrets"]
    # The service's Redis URL is built from the same secret file at start.
    assert "redis://:$$(cat /run/secrets/redis_password)@redis" in " ".join(service["command"])
    assert "LOIBINH_NETWORK__TRUSTED_PROXIES" in service["environment"]
    for each in (redis, service):
        limits = each["deploy"]["resources"]["limits"]
        assert limits["memory"] and limits["cpus"]
