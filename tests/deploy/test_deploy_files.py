"""The deployment files (Dockerfile, docker-compose.yml, deploy/) checked without a Docker engine.

Nothing here touches the database or the network: the files are parsed and compared with the
source tree. Where the Compose CLI is installed, it validates the compose file as well.
"""

from __future__ import annotations

import ast
import fnmatch
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import django
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENV_EXAMPLE = ROOT / "deploy" / ".env.example"
PROMETHEUS_CONFIG = ROOT / "deploy" / "prometheus.yml"

SERVICES = {"postgres", "rabbitmq", "redis", "migrate", "web", "worker", "beat", "flower"}
REQUIRED_SECRETS = (
    "SECRET_KEY", "SECRETS_KEYS", "POSTGRES_PASSWORD", "RABBITMQ_PASSWORD", "FLOWER_BASIC_AUTH",
    "METRICS_TOKEN",
)
ENV_DECLARATIONS = {"env_str", "env_int", "env_bool", "env_list"}
# `$${NAME}` is a literal `${NAME}` for the container's shell, not compose interpolation.
INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}")


def _compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def _services() -> dict[str, dict]:
    return _compose()["services"]


def _command(service: dict) -> str:
    command = service["command"]
    return command if isinstance(command, str) else shlex.join(command)


def _env_example_variables() -> dict[str, str]:
    variables = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        name, separator, value = line.partition("=")
        if separator and re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
            variables[name] = value
    return variables


def _prometheus_targets() -> list[str]:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    return [
        target
        for job in config["scrape_configs"]
        for static in job.get("static_configs", [])
        for target in static["targets"]
    ]


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    instructions, pending = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).strip().partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def _platform_variables() -> dict[str, ast.expr]:
    """Every variable the platform declares through config.env, with its default expression."""
    declared = {}
    for path in (ROOT / "config").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ENV_DECLARATIONS
                and len(node.args) >= 2
                and isinstance(node.args[0], ast.Constant)
            ):
                declared[node.args[0].value] = node.args[1]
    return declared


def _as_environment_value(default: ast.expr) -> str | None:
    """The environment spelling of a literal default; None when the default is computed."""
    if isinstance(default, ast.Constant):
        if isinstance(default.value, bool):
            return "true" if default.value else "false"
        return str(default.value)
    if isinstance(default, ast.List) and all(isinstance(e, ast.Constant) for e in default.elts):
        return ",".join(str(element.value) for element in default.elts)
    return None


def _module_file(dotted: str) -> Path:
    base = ROOT.joinpath(*dotted.split("."))
    return base.with_suffix(".py") if base.with_suffix(".py").exists() else base / "__init__.py"


def _assigns(path: Path, name: str) -> bool:
    tree = ast.parse(path.read_text())
    return any(
        isinstance(node, ast.Assign)
        and any(isinstance(target, ast.Name) and target.id == name for target in node.targets)
        for node in tree.body
    )


def _platform_packages() -> list[str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    includes = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    return [include.rstrip("*") for include in includes]


def _management_command_exists(name: str) -> bool:
    search_roots = [ROOT / package for package in _platform_packages()]
    search_roots.append(Path(django.__file__).parent)
    return any(any(root.glob(f"**/management/commands/{name}.py")) for root in search_roots)


def _dockerignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern decides; a match on a parent directory counts."""
    ignored = False
    for raw in patterns:
        negated = raw.startswith("!")
        pattern = raw.removeprefix("!").strip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[:end]) for end in range(1, len(parts) + 1)]
        if pattern.startswith("**/"):
            tail = pattern[3:]
            matched = any(
                fnmatch.fnmatchcase("/".join(parts[start:end]), tail)
                for end in range(1, len(parts) + 1)
                for start in range(end)
            )
        else:
            matched = any(fnmatch.fnmatchcase(prefix, pattern) for prefix in prefixes)
        if matched:
            ignored = not negated
    return ignored


def _dockerignore_patterns() -> list[str]:
    return [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


# --- docker-compose.yml ---------------------------------------------------------------------------


def test_compose_file_defines_every_service_of_the_platform():
    # given the compose file
    # when it is parsed
    services = _services()

    # then every process of the platform and every backing service is there
    assert services.keys() >= SERVICES


def test_every_service_has_an_image_or_a_build():
    # given every service of the compose file
    services = _services()

    # when the ones that say neither which image to run nor how to build it are collected
    without_image = [name for name, service in services.items()
                     if not (service.get("image") or service.get("build"))]

    # then there are none
    assert without_image == []


def test_every_dependency_is_a_service_of_the_file():
    # given every service of the compose file
    services = _services()

    # when their depends_on targets are collected
    targets = {target for service in services.values() for target in service.get("depends_on", [])}

    # then each target is one of the services
    assert targets <= services.keys()


@pytest.mark.parametrize("name", ["postgres", "rabbitmq", "redis", "web"])
def test_backing_services_and_web_have_health_checks(name):
    # given the service
    healthcheck = _services()[name].get("healthcheck", {})

    # when its health check is read
    test = healthcheck.get("test")

    # then it has one, and it is not disabled
    assert test and not healthcheck.get("disable")


def test_web_health_check_asks_for_readiness():
    # given the web service
    web = _services()["web"]

    # when its health check is read
    test = " ".join(web["healthcheck"]["test"])

    # then it is the readiness endpoint, so `up --wait` returns once the platform can serve
    assert "/health/ready" in test


@pytest.mark.parametrize("name", ["web", "worker", "beat"])
def test_processes_start_after_migrate_completes_and_the_services_are_healthy(name):
    # given a process that uses the database schema
    depends_on = _services()[name]["depends_on"]

    # when its dependencies are read
    conditions = {target: spec["condition"] for target, spec in depends_on.items()}

    # then it waits for the migrations and for every backing service
    assert conditions == {
        "migrate": "service_completed_successfully",
        "postgres": "service_healthy",
        "rabbitmq": "service_healthy",
        "redis": "service_healthy",
    }


def test_migrate_runs_once_and_prepares_database_static_files_and_admin():
    # given the one-shot migrate service
    migrate = _services()["migrate"]

    # when its restart policy and command are read
    command = _command(migrate)

    # then it is never restarted after it exits, and it runs all three steps in order
    assert migrate["restart"] == "no"
    steps = ["manage.py migrate", "manage.py collectstatic", "manage.py ensure_admin"]
    positions = [command.index(step) for step in steps]
    assert positions == sorted(positions)


def test_long_running_services_restart_unless_stopped():
    # given every service but the one-shot migrate
    services = {name: s for name, s in _services().items() if name != "migrate"}

    # when their restart policies are read
    policies = {name: service.get("restart") for name, service in services.items()}

    # then each comes back after a crash or a reboot
    assert set(policies.values()) == {"unless-stopped"}


def test_web_serves_the_asgi_application_of_the_repository():
    # given the web service's command
    command = _command(_services()["web"])

    # when its application path is resolved in the source tree
    module, attribute = re.search(r"uvicorn (\S+):(\w+)", command).groups()

    # then the module exists and defines that application
    assert (module, attribute) == ("config.asgi", "application")
    assert _assigns(_module_file(module), attribute)


@pytest.mark.parametrize(
    ("name", "subcommand"), [("worker", "worker"), ("beat", "beat"), ("flower", "flower")]
)
def test_celery_processes_load_the_celery_app_of_the_repository(name, subcommand):
    # given a Celery process's command
    command = _command(_services()[name])

    # when its -A application is resolved the way Celery does for a package
    package, celery_subcommand = re.search(r"celery -A (\S+) (\w+)", command).groups()

    # then it runs the expected subcommand of the app defined in <package>/celery.py
    assert celery_subcommand == subcommand
    assert _assigns(_module_file(f"{package}.celery"), "app")


def test_management_commands_of_the_compose_file_exist():
    # given every command of the compose file
    commands = " ".join(_command(s) for s in _services().values() if "command" in s)

    # when the manage.py commands among them are collected
    names = set(re.findall(r"manage\.py (\w+)", commands))

    # then each is Django's own or one of the platform's
    assert names
    assert [name for name in names if not _management_command_exists(name)] == []


def test_beat_runs_exactly_one_replica():
    # given the beat service
    beat = _services()["beat"]

    # when its replica count is read
    replicas = beat.get("deploy", {}).get("replicas", 1)

    # then there is one scheduler, so no periodic task is sent twice
    assert replicas == 1


def test_flower_takes_its_basic_auth_from_the_environment():
    # given the flower service, and the web service that signs in to it
    services = _services()

    # when their environments are read
    environments = [services[name]["environment"] for name in ("flower", "web")]

    # then both take the credentials from the required FLOWER_BASIC_AUTH variable
    assert all(environment["FLOWER_BASIC_AUTH"].startswith("${FLOWER_BASIC_AUTH:?")
               for environment in environments)


def test_flower_is_reached_through_the_web_service_under_its_prefix():
    # given the flower and web services
    flower, web = _services()["flower"], _services()["web"]

    # when Flower's command, ports and health check and the web's Flower address are read
    command = _command(flower)
    healthcheck = " ".join(flower["healthcheck"]["test"])
    internal = urlsplit(web["environment"]["FLOWER_INTERNAL_URL"])

    # then Flower serves under /flower/ on the stack's network only, and the web service
    # (which serves /flower/ to staff users) points at it without a path of its own
    assert "--url_prefix=flower" in command
    assert "ports" not in flower
    assert "/flower/healthcheck" in healthcheck
    assert (internal.hostname, internal.port, internal.path) == ("flower", 5555, "")


def test_every_interpolated_variable_is_documented_in_the_env_example():
    # given the compose file's text and the example environment
    used = {name for name, _ in INTERPOLATION.findall(COMPOSE_FILE.read_text())}

    # when the variables the example does not mention are collected
    undocumented = used - _env_example_variables().keys()

    # then there are none
    assert undocumented == set()


def test_every_variable_of_the_env_example_reaches_the_stack():
    # given the example environment and the compose file's text
    used = {name for name, _ in INTERPOLATION.findall(COMPOSE_FILE.read_text())}

    # when the example's variables the compose file never reads are collected
    unused = _env_example_variables().keys() - used

    # then there are none: setting a variable in .env always has an effect
    assert unused == set()


@pytest.mark.parametrize("name", REQUIRED_SECRETS)
def test_compose_refuses_to_start_without_a_required_secret(name):
    # given every place the compose file interpolates the secret
    modifiers = [m for n, m in INTERPOLATION.findall(COMPOSE_FILE.read_text()) if n == name]

    # when their modifiers are read
    # then each one is ${NAME:?message}, which makes compose stop on an unset or empty value
    assert modifiers
    assert all(modifier.startswith(":?") for modifier in modifiers)


def test_env_example_ships_no_usable_secret():
    # given the example environment
    variables = _env_example_variables()

    # when the required secrets are read
    values = {name: variables[name] for name in REQUIRED_SECRETS}

    # then each is empty, so a copy that was not filled in makes compose refuse to start
    assert set(values.values()) == {""}


def test_shared_environment_sets_only_what_the_platform_reads_with_its_defaults():
    # given the shared environment and the variables the platform declares
    shared = _compose()["x-weft-env"]
    declared = _platform_variables()

    # when the shared variables are compared with the declarations
    unknown = shared.keys() - declared.keys()
    defaults = {
        name: (match.group(1), _as_environment_value(declared[name]))
        for name, value in shared.items()
        if name in declared and (match := re.fullmatch(r"\$\{\w+:-([^}]*)\}", str(value)))
    }

    # then every one is a platform setting, and a compose default equals the platform's own
    assert unknown == set()
    assert {
        name: pair for name, pair in defaults.items() if pair[1] is not None and pair[0] != pair[1]
    } == {}


def test_production_profile_is_switched_on_for_every_platform_process():
    # given the shared environment
    shared = _compose()["x-weft-env"]

    # when the profile, debug and log format are read
    # then the platform runs its production checks, without debug, logging JSON lines
    assert (shared["PLATFORM_PROFILE"], shared["DEBUG"], shared["LOG_FORMAT"]) == (
        "production", "false", "json",
    )


def test_hosts_used_by_health_checks_and_prometheus_are_always_allowed():
    # given the hosts that the compose file adds to ALLOWED_HOSTS whatever .env says
    allowed = INTERPOLATION.sub("", _compose()["x-weft-env"]["ALLOWED_HOSTS"])
    always_allowed = {host for host in allowed.split(",") if host}

    # when the hosts the web process is asked for by its own checks and by Prometheus are read
    health_checks = " ".join(_services()["web"]["healthcheck"]["test"]) + " ".join(
        arguments for keyword, arguments in _dockerfile_instructions() if keyword == "HEALTHCHECK"
    )
    asked = {urlsplit(url).hostname for url in re.findall(r"http://[^'\"\s]+", health_checks)}
    asked |= {target.split(":")[0] for target in _prometheus_targets() if target.endswith(":8000")}

    # then Django admits each of them
    assert asked
    assert asked <= always_allowed


def test_published_ports_bind_to_the_publish_address():
    # given every published port of the compose file
    ports = [port for service in _services().values() for port in service.get("ports", [])]

    # when their host addresses are read
    # then each binds to PUBLISH_ADDRESS, by default the loopback interface only
    assert ports
    assert all(port.startswith("${PUBLISH_ADDRESS:-127.0.0.1}:") for port in ports)


def test_bind_mounted_files_exist():
    # given every volume of every service
    mounts = [mount for service in _services().values() for mount in service.get("volumes", [])]

    # when the ones mounted from the repository are collected
    sources = [mount.split(":")[0] for mount in mounts if mount.startswith(".")]

    # then each source exists
    assert [source for source in sources if not (ROOT / source).exists()] == []


def test_named_volumes_are_declared():
    # given every volume of every service and the file's volumes section
    compose = _compose()
    mounts = [mount for s in compose["services"].values() for mount in s.get("volumes", [])]

    # when the named ones are collected
    named = {mount.split(":")[0] for mount in mounts if not mount.startswith((".", "/"))}

    # then each is declared at the top level
    assert named <= compose["volumes"].keys()


# --- Dockerfile and .dockerignore ---------------------------------------------------------------


def test_image_runs_as_a_non_root_user():
    # given the Dockerfile
    users = [args for keyword, args in _dockerfile_instructions() if keyword == "USER"]

    # when the user of the final stage is read
    user = users[-1].split(":")[0]

    # then it is neither root nor uid 0
    assert user not in {"root", "0"}


def test_image_checks_its_health_against_the_liveness_endpoint_with_python():
    # given the Dockerfile
    instructions = _dockerfile_instructions()
    healthchecks = [args for keyword, args in instructions if keyword == "HEALTHCHECK"]

    # when its health check is read
    (healthcheck,) = healthchecks

    # then it asks /health with urllib, as the slim image has no curl
    assert "urllib.request" in healthcheck
    assert "localhost:8000/health'" in healthcheck


def test_dependencies_install_from_pyproject_with_the_constraints_before_the_source_is_copied():
    # given the Dockerfile's instructions in order
    instructions = _dockerfile_instructions()

    # when the dependency install and the copy of the whole source are located
    install = next(i for i, (keyword, args) in enumerate(instructions)
                   if keyword == "RUN" and "pip install" in args)
    copy_source = next(i for i, (keyword, args) in enumerate(instructions)
                       if keyword == "COPY" and args.split()[0] == ".")
    copied_before = [args for keyword, args in instructions[:install] if keyword == "COPY"]

    # then the install is pinned by constraints.txt, reads pyproject's dependency list, and only
    # those two files are copied before it, so a source change keeps the dependency layer
    assert "--constraint constraints.txt" in instructions[install][1]
    assert "tomllib" in instructions[install][1]
    assert copied_before == ["pyproject.toml constraints.txt ./"]
    assert install < copy_source


def test_image_sets_the_python_runtime_environment_and_exposes_the_web_port():
    # given the Dockerfile
    instructions = _dockerfile_instructions()

    # when its ENV and EXPOSE instructions are read
    environment = " ".join(args for keyword, args in instructions if keyword == "ENV")
    exposed = [args for keyword, args in instructions if keyword == "EXPOSE"]

    # then bytecode is not written, output is not buffered, and port 8000 is exposed
    assert "PYTHONDONTWRITEBYTECODE=1" in environment
    assert "PYTHONUNBUFFERED=1" in environment
    assert exposed == ["8000"]


def test_image_default_command_is_the_web_service_command():
    # given the Dockerfile's CMD and the compose web service
    (cmd,) = [args for keyword, args in _dockerfile_instructions() if keyword == "CMD"]

    # when both are compared as argument lists
    # then the image alone starts the same web server as compose does
    assert yaml.safe_load(cmd) == _services()["web"]["command"]


def test_dockerfile_copy_sources_exist_and_reach_the_build_context():
    # given the Dockerfile's COPY instructions from the build context (not from a stage)
    copies = [args.split() for keyword, args in _dockerfile_instructions()
              if keyword == "COPY" and "--from=" not in args]

    # when their sources are collected
    sources = [source for arguments in copies for source in arguments[:-1]
               if not source.startswith("--")]

    # then each exists and is not left out of the context by .dockerignore
    assert sources
    assert [source for source in sources if not (ROOT / source).exists()] == []
    ignored = [s for s in sources if s != "." and _dockerignored(s, _dockerignore_patterns())]
    assert ignored == []


def test_build_context_keeps_secrets_and_tests_out_and_the_source_in():
    # given .dockerignore and the platform's packages
    patterns = _dockerignore_patterns()
    packages = _platform_packages()

    # when paths are matched against it
    needed = ["manage.py", "templates", *(f"{package}/__init__.py" for package in packages)]
    kept_out = [".env", "deploy/.env", "deploy/.env.example", ".venv/bin/python",
                "var/weft.sqlite3", ".git/HEAD", "tests/deploy/test_deploy_files.py",
                "config/__pycache__/settings.cpython-311.pyc"]

    # then the source is copied, and no secret, local state or test is
    assert [path for path in needed if _dockerignored(path, patterns)] == []
    assert [path for path in kept_out if not _dockerignored(path, patterns)] == []


# --- deploy/prometheus.yml -----------------------------------------------------------------------


def test_prometheus_scrapes_the_web_process_and_flower():
    # given the Prometheus configuration
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())

    # when each job's metrics URLs are assembled
    urls = {
        f"{target}{job.get('metrics_path', '/metrics')}"
        for job in config["scrape_configs"]
        for static in job.get("static_configs", [])
        for target in static["targets"]
    }

    # then the web process's /metrics and Flower's, under its prefix, are among them
    assert {"web:8000/metrics", "flower:5555/flower/metrics"} <= urls


def test_prometheus_scrapes_the_platform_with_the_web_services_metrics_token():
    # given the web service, the prometheus service and its scrape of the platform
    services = _compose()["services"]
    job = next(job for job in yaml.safe_load(PROMETHEUS_CONFIG.read_text())["scrape_configs"]
               if job["job_name"] == "weft-web")

    # when where each takes the token from is read
    secret = _compose()["secrets"]["metrics_token"]

    # then the web service requires METRICS_TOKEN, compose hands the same variable to
    # Prometheus as a secret, and the scrape sends that file as its bearer token
    assert services["web"]["environment"]["METRICS_TOKEN"].startswith("${METRICS_TOKEN:?")
    assert secret == {"environment": "METRICS_TOKEN"}
    assert "metrics_token" in services["prometheus"]["secrets"]
    assert job["authorization"] == {"type": "Bearer",
                                    "credentials_file": "/run/secrets/metrics_token"}


def test_prometheus_targets_are_services_of_the_compose_file():
    # given the Prometheus targets
    hosts = {target.split(":")[0] for target in _prometheus_targets()}

    # when they are compared with the compose services
    # then each resolves on the stack's network
    assert hosts <= _services().keys()


# --- the Compose CLI, where it is installed -------------------------------------------------------


@pytest.fixture
def compose_cli() -> list[str]:
    """The Compose v2 command line: the docker plugin, or the standalone binary."""
    for command in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(command[0]) is None:
            continue
        result = subprocess.run([*command, "version", "--short"],
                                capture_output=True, text=True, check=False)
        major = re.match(r"v?(\d+)\.", result.stdout.strip())
        if result.returncode == 0 and major and int(major.group(1)) >= 2:
            return command
    if shutil.which("docker") is None:
        pytest.skip("the docker client is not installed")
    pytest.skip("the docker client is installed without Compose v2 (`docker compose` plugin or "
                "docker-compose binary); `docker compose config` cannot run")


def _compose_config(cli: list[str], tmp_path: Path, secrets: dict[str, str]):
    # Only these variables, and an empty env file instead of a local .env: the result must not
    # depend on the environment of whoever runs the tests.
    empty_env_file = tmp_path / "empty.env"
    empty_env_file.write_text("")
    environment = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "DOCKER_CONFIG"}}
    return subprocess.run(
        [*cli, "--file", str(COMPOSE_FILE), "--env-file", str(empty_env_file),
         "--profile", "monitoring", "config", "--quiet"],
        capture_output=True, text=True, check=False, env={**environment, **secrets}, cwd=ROOT,
    )


SAMPLE_SECRETS = {
    "SECRET_KEY": "s" * 50,
    "SECRETS_KEYS": "ZmVybmV0LWtleS1mb3ItY29tcG9zZS12YWxpZGF0aW9uPQ==",
    "POSTGRES_PASSWORD": "postgres-password",
    "RABBITMQ_PASSWORD": "rabbitmq-password",
    "FLOWER_BASIC_AUTH": "admin:flower-password",
    "METRICS_TOKEN": "metrics-token-for-compose-validation",
}


def test_compose_cli_accepts_the_file(compose_cli, tmp_path):
    # given every required secret
    # when the Compose CLI loads, interpolates and validates the file
    result = _compose_config(compose_cli, tmp_path, SAMPLE_SECRETS)

    # then it finds nothing wrong
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("missing", REQUIRED_SECRETS)
def test_compose_cli_refuses_the_file_without_a_required_secret(compose_cli, tmp_path, missing):
    # given every required secret but one
    secrets = {name: value for name, value in SAMPLE_SECRETS.items() if name != missing}

    # when the Compose CLI loads the file
    result = _compose_config(compose_cli, tmp_path, secrets)

    # then it refuses, naming the missing variable
    assert result.returncode != 0
    assert missing in result.stderr
