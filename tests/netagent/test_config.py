"""Loading the netagent's configuration: the file, environment overrides, loud failures."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from netagent.config import ConfigError, load_config

EXAMPLE = Path(__file__).resolve().parents[2] / "netagent" / "netagent.example.yaml"


def write(tmp_path: Path, document: dict[str, object], name: str = "netagent.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def minimal(**changes: object) -> dict[str, object]:
    document: dict[str, object] = {
        "routers": [{"name": "r1", "host": "10.0.0.1", "username": "enlace", "password": "pw"}],
        "kafka": {"bootstrap_servers": ["127.0.0.1:9092"]},
        "state_file": "state.sqlite3",
    }
    document.update(changes)
    return document


def test_the_example_config_loads_once_its_secret_files_exist(tmp_path: Path) -> None:
    document = yaml.safe_load(EXAMPLE.read_text())
    for key in ("ssl_cafile", "password_file"):
        (tmp_path / key).write_text("secret\n")
    document["routers"][0].update(
        ssl_cafile=str(tmp_path / "ssl_cafile"), password_file=str(tmp_path / "password_file")
    )
    document["kafka"].update(
        ssl_cafile=str(tmp_path / "ssl_cafile"), sasl_password_file=str(tmp_path / "password_file")
    )

    config = load_config(write(tmp_path, document), environ={})

    assert [r.name for r in config.routers] == ["core-1", "olt-norte"]
    assert config.routers[0].password == "secret"
    assert config.routers[0].api_ssl and config.routers[0].port == 8729
    assert config.kafka.client_options()["sasl_plain_password"] == "secret"
    assert config.kafka.group_id == "netagent"
    assert (config.suspension_list, config.comment_tag, config.speed_mode) == ("morosos", "enlace", "queue")


def test_defaults_and_relative_paths_resolve_next_to_the_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, minimal()), environ={})

    assert config.state_file == str(tmp_path / "state.sqlite3")
    assert config.routers[0].port == 8728
    assert config.kafka.group_id == "netagent"
    assert config.metrics_port == 9108


def test_environment_variables_override_the_file(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    environ = {
        "NETAGENT_KAFKA_BOOTSTRAP_SERVERS": "k1:9092, k2:9092",
        "NETAGENT_KAFKA_GROUP_ID": "site-7",
        "NETAGENT_SPEED_MODE": "profile",
        "NETAGENT_ROUTER_R1_PASSWORD_FILE": str(secret),
        "NETAGENT_ROUTER_R1_PORT": "18728",
        "NETAGENT_METRICS_PORT": "off",
    }

    config = load_config(write(tmp_path, minimal()), environ=environ)

    assert config.kafka.bootstrap_servers == ("k1:9092", "k2:9092")
    assert config.kafka.group_id == "site-7"
    assert config.speed_mode == "profile"
    assert config.routers[0].password == "from-file"
    assert config.routers[0].port == 18728
    assert config.metrics_port is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"routers": []}, "routers: list at least one router"),
        ({"routers": [{"name": "r1", "host": "h", "username": "u"}]}, "routers[0].password"),
        ({"speed_mode": "fast"}, "speed_mode: 'fast'"),
        ({"kafka": {"bootstrap_servers": ["nohost"]}}, "kafka.bootstrap_servers: 'nohost' is not host:port"),
        ({"kafka": {"bootstrap_servers": ["h:1"], "security_protocol": "SASL_SSL"}}, "kafka.sasl_mechanism"),
        ({"reconcile_interval": "soon"}, "reconcile_interval: 'soon' is not a number"),
        ({"colour": "blue"}, "unknown keys colour"),
    ],
)
def test_a_bad_config_fails_loudly_naming_the_key(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, minimal(**changes)), environ={})
    assert message in str(error.value)


def test_duplicate_router_names_are_refused(tmp_path: Path) -> None:
    router = {"name": "r1", "host": "h", "username": "u", "password": "p"}
    with pytest.raises(ConfigError, match="duplicate names r1"):
        load_config(write(tmp_path, minimal(routers=[router, router])), environ={})
