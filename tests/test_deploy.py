"""deploy/ agrees with itself and with the bot: the Grafana dashboard and the alert rules query only
metrics that bot/metrics.py exports (and the dashboard shows every one of them), Prometheus scrapes the
bot services docker-compose.yml defines on their metrics port, every file compose mounts exists, and
the systemd unit runs `picket run`. Static checks only: no network, no Docker engine."""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path, PurePosixPath

import pytest

from bot.metrics import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "picket.json"
COMPOSE = DEPLOY / "docker-compose.yml"
PROMETHEUS = DEPLOY / "prometheus" / "prometheus.yml"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
DATASOURCES = DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
DASHBOARD_PROVIDERS = DEPLOY / "grafana" / "provisioning" / "dashboards" / "picket.yml"
UNIT = DEPLOY / "systemd" / "picket@.service"
DOCKERFILE = DEPLOY / "Dockerfile"

PANEL_TYPES = {
    "row",
    "timeseries",
    "stat",
    "gauge",
    "bargauge",
    "table",
    "state-timeline",
    "status-history",
    "heatmap",
    "text",
}
# Metric families deliberately left off the dashboard (none today: it shows everything the bot exports).
NOT_ON_DASHBOARD: set[str] = set()
BOT_ENV = (
    "DATABASE_URL",
    "REDIS_URL",
    "DISCORD_TOKEN",
    "VAR_DIR",
    "SIGNING_KEY_PATH",
    "METRICS_PORT",
    "SHARD_COUNT",
    "SHARD_IDS",
    "INSTANCE_ID",
)
# Prometheus' own series for the bot's scrape job (processes up), the one non-Picket query allowed.
SCRAPE_UP = 'sum(up{job="picket"})'
METRIC_NAME = re.compile(r"(?<![A-Za-z0-9_:])picket_[a-z_]+")


# --- helpers -------------------------------------------------------------------------------------


def load_yaml(path: Path):
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def exported() -> tuple[dict[str, str], dict[str, str]]:
    """(series name a scrape can show -> its family, family -> type), from the bot's registry.
    prometheus-client names a counter family without ``_total``; a histogram's series are its
    ``_bucket``, ``_sum`` and ``_count``."""
    series: dict[str, str] = {}
    types: dict[str, str] = {}
    for family in REGISTRY.collect():
        types[family.name] = family.type
        if family.type == "counter":
            series[family.name + "_total"] = family.name
        elif family.type == "histogram":
            for suffix in ("_bucket", "_sum", "_count"):
                series[family.name + suffix] = family.name
        else:
            series[family.name] = family.name
    return series, types


def metric_names(expr: str) -> set[str]:
    return set(METRIC_NAME.findall(expr))


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def query_panels(board: dict) -> list[dict]:
    return [p for p in board["panels"] if p["type"] not in ("row", "text")]


def dashboard_exprs() -> list[str]:
    return [t["expr"] for p in query_panels(dashboard()) for t in p["targets"]]


def alert_rules() -> list[dict]:
    return [rule for group in load_yaml(ALERTS)["groups"] for rule in group["rules"]]


def compose() -> dict:
    return load_yaml(COMPOSE)


def as_argv(command) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command or []]


def env_of(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: str(v) for k, v in env.items()}


def bot_services(spec: dict) -> dict[str, dict]:
    return {name: svc for name, svc in spec["services"].items() if as_argv(svc.get("command")) == ["picket", "run"]}


def mounts(service: dict) -> list[tuple[str, str]]:
    """(source, target) of each volume entry, short or long syntax."""
    out = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            out.append((str(volume.get("source", "")), str(volume["target"])))
        else:
            parts = volume.split(":")
            out.append((parts[0], parts[1]) if len(parts) > 1 else ("", parts[0]))
    return out


def is_bind(source: str) -> bool:
    return source.startswith((".", "/", "~"))


def unit_directives() -> list[tuple[str, str, str]]:
    """(section, key, value) for every line of the unit, repeated keys included (configparser keeps
    only the last one)."""
    out, section = [], ""
    for raw in UNIT.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, _, value = line.partition("=")
        out.append((section, key.strip(), value.strip()))
    return out


# --- Grafana dashboard ---------------------------------------------------------------------------


def test_dashboard_is_a_grafana_dashboard():
    board = dashboard()
    assert board["uid"] == "picket"
    assert board["title"] == "Picket"
    assert board["schemaVersion"] == 39
    panels = board["panels"]
    assert panels, "the dashboard has no panels"
    ids = [p["id"] for p in panels]
    assert all(isinstance(i, int) for i in ids) and len(ids) == len(set(ids)), f"panel ids must be unique ints: {ids}"
    cells: dict[tuple[int, int], str] = {}
    for panel in panels:
        title = panel.get("title", panel["id"])
        assert panel["type"] in PANEL_TYPES, f"{title}: unknown panel type {panel['type']!r}"
        pos = panel["gridPos"]
        assert all(isinstance(pos[k], int) and not isinstance(pos[k], bool) for k in ("x", "y", "w", "h")), (
            f"{title}: {pos}"
        )
        assert pos["x"] >= 0 and pos["y"] >= 0 and pos["w"] >= 1 and pos["h"] >= 1, f"{title}: {pos}"
        assert pos["x"] + pos["w"] <= 24, f"{title} is wider than the 24-column grid: {pos}"
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{title} overlaps {cells[(x, y)]}"
                cells[(x, y)] = title
        if panel["type"] == "row":
            assert pos["w"] == 24 and pos["h"] == 1, f"row {title}: {pos}"
            assert not panel.get("targets"), f"row {title} has queries"
            continue
        assert panel.get("title"), f"panel {panel['id']} has no title"
        assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}, f"{title}: {panel['datasource']}"
        targets = panel.get("targets") or []
        assert targets, f"{title} has no queries"
        ref_ids = [t["refId"] for t in targets]
        assert all(ref_ids) and len(ref_ids) == len(set(ref_ids)), f"{title}: refIds {ref_ids}"
        for target in targets:
            assert isinstance(target["expr"], str) and target["expr"].strip(), f"{title} {target['refId']}: empty expr"
            assert target.get("datasource", panel["datasource"]) == panel["datasource"], f"{title} {target['refId']}"


def test_dashboard_uses_the_provisioned_datasource():
    (source,) = [d for d in load_yaml(DATASOURCES)["datasources"] if d["type"] == "prometheus"]
    wanted = {"type": source["type"], "uid": source["uid"]}
    for panel in query_panels(dashboard()):
        assert panel["datasource"] == wanted, f"{panel['title']}: {panel['datasource']} is not the provisioned {wanted}"


def test_dashboard_queries_only_exported_metrics():
    series, _ = exported()
    for expr in dashboard_exprs():
        names = metric_names(expr)
        assert names or expr == SCRAPE_UP, f"query names no picket metric: {expr}"
        unknown = names - series.keys()
        assert not unknown, f"{expr}: {sorted(unknown)} are not exported by bot/metrics.py (exported: {sorted(series)})"


def test_dashboard_shows_every_exported_metric():
    series, types = exported()
    shown = {series[name] for expr in dashboard_exprs() for name in metric_names(expr) if name in series}
    missing = set(types) - NOT_ON_DASHBOARD - shown
    assert not missing, f"exported but on no dashboard panel: {sorted(missing)}"


def test_dashboard_aggregates_by_metric_type():
    """Counters are rates summed over processes; gauges of shared state are the same in every process,
    so they are taken with max (or min), never summed; histograms go through histogram_quantile by le."""
    series, types = exported()
    for expr in dashboard_exprs():
        for name in metric_names(expr) & series.keys():  # unknown names: test_dashboard_queries_only_exported_metrics
            kind = types[series[name]]
            if kind == "counter":
                assert re.search(rf"\b(rate|increase)\(\s*{name}\b", expr), f"counter {name} must be rated: {expr}"
                assert re.search(r"\bsum\b", expr), f"counter {name} must be summed over processes: {expr}"
            elif kind == "gauge":
                assert re.search(rf"\b(max|min)(\s+by\s*\([^)]*\))?\s*\(\s*{name}\b", expr), (
                    f"gauge {name} must be taken with max/min: {expr}"
                )
            elif kind == "histogram":
                assert name.endswith("_bucket"), f"{expr}: quantiles come from {name}'s buckets"
                assert "histogram_quantile(" in expr and re.search(r"by\s*\([^)]*\ble\b", expr), (
                    f"{expr}: histogram_quantile over sum by (le)"
                )


def test_queries_parse_as_promql():
    promql_parser = pytest.importorskip("promql_parser")
    exprs = dashboard_exprs() + [rule["expr"] for rule in alert_rules()]
    for expr in exprs:
        try:
            promql_parser.parse(expr)
        except ValueError as exc:
            pytest.fail(f"not valid PromQL: {expr}\n{exc}")


def test_grafana_provisioning_matches_compose():
    grafana = compose()["services"]["grafana"]
    targets = {src: dst for src, dst in mounts(grafana)}
    (provider,) = load_yaml(DASHBOARD_PROVIDERS)["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == targets["./grafana/dashboards"], (
        "the provider must read the folder compose mounts the dashboards into"
    )
    provisioned = [dst for src, dst in targets.items() if src.startswith("./grafana/provisioning")]
    assert any(
        PurePosixPath(p)
        in (PurePosixPath("/etc/grafana/provisioning"), PurePosixPath("/etc/grafana/provisioning/dashboards"))
        for p in provisioned
    )
    assert any(
        PurePosixPath(p)
        in (PurePosixPath("/etc/grafana/provisioning"), PurePosixPath("/etc/grafana/provisioning/datasources"))
        for p in provisioned
    )
    (source,) = load_yaml(DATASOURCES)["datasources"]
    host = source["url"].split("//", 1)[1].split(":", 1)[0]
    assert source["uid"] == "prometheus" and host in compose()["services"], source["url"]


# --- Prometheus ----------------------------------------------------------------------------------


def test_prometheus_scrapes_every_bot_service_on_its_metrics_port():
    config = load_yaml(PROMETHEUS)
    assert config["global"]["scrape_interval"] == "15s"
    bots = bot_services(compose())
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "picket"]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    scraped = {}
    for static in job["static_configs"]:
        for target in static["targets"]:
            host, port = target.rsplit(":", 1)
            assert host in bots, f"{target} is not a bot service of docker-compose.yml ({sorted(bots)})"
            env = env_of(bots[host])
            assert port == env["METRICS_PORT"], f"{target}: {host} serves metrics on {env['METRICS_PORT']}"
            assert static.get("labels", {}).get("instance") == env["INSTANCE_ID"], (
                f"{target}: label instance should be {env['INSTANCE_ID']}"
            )
            scraped[host] = target
    assert set(scraped) == set(bots), f"bot services not scraped: {sorted(set(bots) - set(scraped))}"


def test_prometheus_loads_the_alert_rules_compose_mounts():
    config = load_yaml(PROMETHEUS)
    prometheus = compose()["services"]["prometheus"]
    by_target = {PurePosixPath(dst): src for src, dst in mounts(prometheus)}
    config_path = next(
        PurePosixPath(a.split("=", 1)[1]) for a in as_argv(prometheus["command"]) if a.startswith("--config.file=")
    )
    assert (DEPLOY / by_target[config_path]).resolve() == PROMETHEUS
    assert config["rule_files"], "no rule_files"
    for rule_file in config["rule_files"]:
        assert (PROMETHEUS.parent / rule_file).is_file(), rule_file
        in_container = config_path.parent / rule_file
        assert in_container in by_target, f"{in_container} is not mounted into prometheus"
        assert (DEPLOY / by_target[in_container]).resolve() == (PROMETHEUS.parent / rule_file).resolve()
    assert "alerts.yml" in config["rule_files"]


def test_alert_rules_query_exported_metrics():
    series, _ = exported()
    rules = alert_rules()
    names = [rule["alert"] for rule in rules]
    assert rules and len(names) == len(set(names)), names
    used = set()
    for rule in rules:
        expr = rule["expr"]
        found = metric_names(expr)
        assert found or 'up{job="picket"}' in expr, f"{rule['alert']}: names no Picket metric: {expr}"
        assert not found - series.keys(), f"{rule['alert']}: {sorted(found - series.keys())} are not exported"
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        used |= found
    for needed in (
        "picket_dependency_up",
        "picket_outbox_backlog",
        "picket_holds_overdue",
        "picket_discord_rate_limited_total",
    ):
        assert needed in used, f"no alert on {needed}"


# --- docker compose ------------------------------------------------------------------------------


def test_compose_has_the_services():
    spec = compose()
    services = spec["services"]
    assert {"mariadb", "redis", "migrate", "prometheus", "grafana"} <= services.keys()
    assert services["mariadb"]["image"].startswith("mariadb:11")
    assert services["mariadb"].get("healthcheck", {}).get("test")
    assert services["redis"]["image"].startswith("redis:7")
    redis_argv = as_argv(services["redis"]["command"])
    assert redis_argv[redis_argv.index("--appendonly") + 1] == "yes"
    migrate = services["migrate"]
    assert "picket db upgrade" in " ".join(as_argv(migrate["command"]))
    # The command tree is sent once per `up`, from migrate; the shards never send it.
    assert "picket sync" in " ".join(as_argv(migrate["command"]))
    assert re.fullmatch(r"\$\{DISCORD_TOKEN(:?[?-].*)?\}", env_of(migrate)["DISCORD_TOKEN"])
    assert migrate["depends_on"]["mariadb"]["condition"] == "service_healthy"
    assert migrate.get("restart", "no") == "no"
    declared = set(spec.get("volumes") or {})
    for name, svc in services.items():
        for source, _ in mounts(svc):
            if source and not is_bind(source):
                assert source in declared, f"{name} mounts undeclared volume {source}"


def test_compose_bot_services_run_picket_with_their_shard_settings():
    spec = compose()
    bots = bot_services(spec)
    assert len(bots) >= 2, f"expected two bot processes, got {sorted(bots)}"
    counts, shard_ids, instances, key_volumes = set(), [], set(), set()
    for name, svc in bots.items():
        env = env_of(svc)
        missing = [k for k in BOT_ENV if not env.get(k)]
        assert not missing, f"{name} lacks {missing}"
        assert env["DATABASE_URL"].startswith("mysql+aiomysql://") and "@mariadb:" in env["DATABASE_URL"], name
        assert env["REDIS_URL"].startswith("redis://redis:"), name
        assert re.fullmatch(r"\$\{DISCORD_TOKEN(:?[?-].*)?\}", env["DISCORD_TOKEN"]), (
            f"{name}: the token comes from deploy/.env, not the file"
        )
        counts.add(int(env["SHARD_COUNT"]))
        ids = json.loads(env["SHARD_IDS"])
        assert isinstance(ids, list) and all(isinstance(i, int) for i in ids), f"{name}: SHARD_IDS {env['SHARD_IDS']}"
        shard_ids += ids
        instances.add(env["INSTANCE_ID"])
        assert svc["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
        keys = PurePosixPath(env["SIGNING_KEY_PATH"])
        holding = [src for src, dst in mounts(svc) if keys == PurePosixPath(dst) or PurePosixPath(dst) in keys.parents]
        assert holding and not is_bind(holding[0]), f"{name}: {keys} must be on a named volume"
        key_volumes.add(holding[0])
    assert len(counts) == 1, f"every bot needs the same SHARD_COUNT: {counts}"
    assert sorted(shard_ids) == list(range(counts.pop())), f"SHARD_IDS must cover 0..SHARD_COUNT-1 once: {shard_ids}"
    assert len(instances) == len(bots), "each bot needs its own INSTANCE_ID"
    assert len(key_volumes) == 1, f"every shard must share one signing-keys volume: {key_volumes}"
    migrate_env = env_of(spec["services"]["migrate"])
    assert migrate_env["DATABASE_URL"] == env_of(next(iter(bots.values())))["DATABASE_URL"]


def test_compose_mounts_and_builds_files_that_exist():
    spec = compose()
    for name, svc in spec["services"].items():
        for source, _ in mounts(svc):
            if is_bind(source):
                assert (DEPLOY / source).exists(), f"{name} mounts {source}, which is missing from deploy/"
        build = svc.get("build")
        if build:
            context = DEPLOY / (build if isinstance(build, str) else build.get("context", "."))
            dockerfile = context / (build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile")
            assert dockerfile.resolve() == DOCKERFILE, f"{name} builds {dockerfile}"
            assert (context / "pyproject.toml").is_file(), f"{name}: build context {context} is not the repository root"


def test_compose_variables_are_in_env_example():
    text = COMPOSE.read_text(encoding="utf-8")
    used = set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)", text))
    example = {
        line.split("=", 1)[0].strip()
        for line in (DEPLOY / ".env.example").read_text(encoding="utf-8").splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    }
    assert "DISCORD_TOKEN" in used
    assert used <= example, f"missing from deploy/.env.example: {sorted(used - example)}"


def test_docker_compose_config_accepts_the_file():
    """`docker compose config` validates client-side, without an engine; skipped where the compose
    plugin is not installed."""
    docker = shutil.which("docker")
    if not docker or subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30).returncode != 0:
        pytest.skip("docker compose is not installed")
    env = dict(
        os.environ, DISCORD_TOKEN="x", MARIADB_PASSWORD="x", MARIADB_ROOT_PASSWORD="x", GRAFANA_ADMIN_PASSWORD="x"
    )
    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


# --- Dockerfile ----------------------------------------------------------------------------------


def test_dockerfile_installs_every_package_and_runs_the_bot():
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.M)
    assert re.search(r"pip install \.(\s|$)", text)
    assert re.search(r'^CMD \["picket", "run"\]$', text, re.M)
    copied = {m.rstrip("/") for m in re.findall(r"^COPY (?!--)(\S+)", text, re.M)}
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"][
        "find"
    ]["include"]
    for package in {p.rstrip("*") for p in patterns}:
        assert package in copied, f"the image does not copy the {package} package"
        assert (ROOT / package).is_dir()


# --- systemd -------------------------------------------------------------------------------------


def test_systemd_unit_runs_one_shard_per_instance():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # systemd keys are case-sensitive
    unit.read_string(UNIT.read_text(encoding="utf-8"))
    assert {"Unit", "Service", "Install"} <= set(unit.sections())
    service = unit["Service"]
    argv = shlex.split(service["ExecStart"])
    assert PurePosixPath(argv[0]).name == "picket" and PurePosixPath(argv[0]).is_absolute() and argv[1:] == ["run"], (
        argv
    )
    assert service["Restart"] == "always"
    assert service["KillSignal"] == "SIGTERM"
    assert service["TimeoutStopSec"] == "30"
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert unit["Install"]["WantedBy"] == "multi-user.target"

    directives = unit_directives()
    env_files = [v for s, k, v in directives if s == "Service" and k == "EnvironmentFile"]
    assert env_files == ["/etc/picket/picket.env", "/etc/picket/shard-%i.env"]
    for _section, key, value in directives:
        if key.startswith("ExecStart") or key.startswith("ExecReload"):
            assert "db upgrade" not in value, f"{key}: migrations are run once by the operator, not by every shard"
    environment = dict(
        item.split("=", 1) for s, k, v in directives if s == "Service" and k == "Environment" for item in shlex.split(v)
    )
    writable = [PurePosixPath(p) for s, k, v in directives if k == "ReadWritePaths" for p in v.split()]
    var_dir = PurePosixPath(environment["VAR_DIR"])
    assert any(var_dir == w or w in var_dir.parents for w in writable), (
        f"VAR_DIR {var_dir} is not in ReadWritePaths {writable}"
    )
    keys = PurePosixPath(environment["SIGNING_KEY_PATH"])
    assert any(keys == w or w in keys.parents for w in writable), (
        f"the signing keys {keys} are not writable for `picket keys rotate`"
    )
