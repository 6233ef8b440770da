"""The netagent's configuration: one YAML (or JSON) file plus ``NETAGENT_*`` environment overrides.

Everything is checked at load time and a bad value is a start-up error naming the key
(:class:`ConfigError`), never a silent default. Secrets may come from files (``password_file``,
``sasl_password_file``, or ``*_FILE`` environment variables) so containers can mount them.

Environment overrides (all optional)::

    NETAGENT_KAFKA_BOOTSTRAP_SERVERS   comma-separated host:port list
    NETAGENT_KAFKA_GROUP_ID
    NETAGENT_KAFKA_SECURITY_PROTOCOL   PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL
    NETAGENT_KAFKA_SSL_CAFILE / _SSL_CERTFILE / _SSL_KEYFILE
    NETAGENT_KAFKA_SASL_MECHANISM      PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512
    NETAGENT_KAFKA_SASL_USERNAME / NETAGENT_KAFKA_SASL_PASSWORD[_FILE]
    NETAGENT_STATE_FILE, NETAGENT_METRICS_PORT, NETAGENT_RECONCILE_INTERVAL,
    NETAGENT_PROBE_INTERVAL,
    NETAGENT_SPEED_MODE, NETAGENT_SUSPENSION_LIST, NETAGENT_COMMENT_TAG
    NETAGENT_ROUTER_<NAME>_HOST / _PORT / _USERNAME / _PASSWORD[_FILE]
        (<NAME>: the router's name upper-cased, every other character than A-Z0-9 as ``_``)
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from backoffice.messaging.catalog import NETWORK_COMMANDS, NETWORK_RESULTS

SpeedMode = Literal["queue", "profile"]

_ROUTER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_TAG = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
_SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class ConfigError(ValueError):
    """The configuration is missing something or holds a bad value; the message names the key."""


@dataclass(frozen=True)
class RouterConfig:
    """How to reach one MikroTik router's API."""

    name: str
    host: str
    username: str
    password: str = field(repr=False)
    port: int = 8728
    api_ssl: bool = False
    ssl_verify: bool = True
    ssl_cafile: str | None = None
    timeout: float = 10.0


@dataclass(frozen=True)
class KafkaConfig:
    """How to reach Kafka, and how the consumer group behaves."""

    bootstrap_servers: tuple[str, ...]
    group_id: str = "netagent"
    commands_topic: str = NETWORK_COMMANDS
    results_topic: str = NETWORK_RESULTS
    security_protocol: str = "PLAINTEXT"
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    max_poll_interval_ms: int = 300_000

    @property
    def bootstrap(self) -> str:
        return ",".join(self.bootstrap_servers)

    def client_options(self) -> dict[str, Any]:
        """TLS/SASL settings as the Kafka client takes them (only the ones that are set)."""
        options: dict[str, Any] = {"security_protocol": self.security_protocol}
        for key in ("ssl_cafile", "ssl_certfile", "ssl_keyfile", "sasl_mechanism"):
            value = getattr(self, key)
            if value is not None:
                options[key] = value
        if self.sasl_username is not None:
            options["sasl_plain_username"] = self.sasl_username
            options["sasl_plain_password"] = self.sasl_password
        return options


@dataclass(frozen=True)
class NetagentConfig:
    """Everything the netagent needs; build it with :func:`load_config` or directly in tests."""

    routers: tuple[RouterConfig, ...]
    kafka: KafkaConfig
    state_file: str
    suspension_list: str = "morosos"
    comment_tag: str = "enlace"
    speed_mode: SpeedMode = "queue"
    #: Seconds between automatic reconciles of each router (0 disables them).
    reconcile_interval: float = 300.0
    #: Seconds between liveness probes of an idle router (0 disables them): a router reached
    #: again after being lost, or whose uptime went backwards, is reconciled at once.
    probe_interval: float = 5.0
    #: Also remove tagged items the netagent does not know (off: a lost state file must not
    #: wipe every subscriber from the routers).
    reconcile_remove_unknown: bool = False
    #: Port of the Prometheus endpoint; None disables it, 0 picks a free port.
    metrics_port: int | None = 9108
    metrics_address: str = "0.0.0.0"
    retry_initial: float = 0.5
    retry_max: float = 30.0
    #: Timeout of a diagnosis (its own connection per router, so a busy queue does not delay it).
    diagnose_timeout: float = 5.0
    #: Skip (acknowledge silently) commands for routers not listed here, for sites sharing a topic
    #: with their own group ids; off: such commands are reported failed and dead-lettered.
    ignore_unknown_routers: bool = False
    #: Pause a partition while this many of its records are fetched but not yet done.
    max_in_flight: int = 10_000

    def router(self, name: str) -> RouterConfig | None:
        return next((r for r in self.routers if r.name == name), None)


def load_config(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> NetagentConfig:
    """Reads the config file at ``path``, applies ``NETAGENT_*`` overrides and validates it all.

    Raises ConfigError naming the first bad or missing key.
    """
    env = os.environ if environ is None else environ
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {file}: {exc}") from exc
    try:
        raw = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"{file} is not valid {'JSON' if file.suffix == '.json' else 'YAML'}: {exc}"
        ) from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{file} must hold a mapping at the top level")
    return config_from_dict(raw, env, base_dir=file.parent)


def config_from_dict(
    raw: Mapping[str, Any], environ: Mapping[str, str] | None = None, *, base_dir: Path | None = None
) -> NetagentConfig:
    """Builds and validates a config from a parsed document plus environment overrides.

    Relative secret files and the state file resolve against ``base_dir``. Raises ConfigError.
    """
    env = os.environ if environ is None else environ
    base = base_dir or Path.cwd()
    doc = _Section(raw, "")
    doc.reject_unknown(
        {
            "routers",
            "kafka",
            "state_file",
            "suspension_list",
            "comment_tag",
            "speed_mode",
            "reconcile_interval",
            "probe_interval",
            "reconcile_remove_unknown",
            "metrics_port",
            "metrics_address",
            "retry",
            "diagnose_timeout",
            "max_in_flight",
            "ignore_unknown_routers",
        }
    )

    routers_raw = doc.get("routers")
    if not isinstance(routers_raw, list) or not routers_raw:
        raise ConfigError("routers: list at least one router")
    routers = tuple(_router(_Section(item, f"routers[{i}]"), env, base) for i, item in enumerate(routers_raw))
    names = [r.name for r in routers]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"routers: duplicate names {', '.join(duplicates)}")

    kafka = _kafka(_Section(doc.get("kafka") or {}, "kafka"), env, base)

    speed_mode = env.get("NETAGENT_SPEED_MODE", doc.get("speed_mode", "queue"))
    if speed_mode not in ("queue", "profile"):
        raise ConfigError(f"speed_mode: {speed_mode!r} is neither 'queue' nor 'profile'")
    tag = env.get("NETAGENT_COMMENT_TAG", doc.get("comment_tag", "enlace"))
    if not isinstance(tag, str) or not _TAG.match(tag):
        raise ConfigError(f"comment_tag: {tag!r} must be 1-32 letters, digits, '-' or '_'")
    suspension_list = env.get("NETAGENT_SUSPENSION_LIST", doc.get("suspension_list", "morosos"))
    if not isinstance(suspension_list, str) or not suspension_list.strip():
        raise ConfigError("suspension_list: must be a non-empty string")

    state_file = env.get("NETAGENT_STATE_FILE", doc.get("state_file"))
    if not isinstance(state_file, str) or not state_file:
        raise ConfigError("state_file: required (path of the SQLite state file)")
    if state_file != ":memory:":
        state_file = str(base / state_file) if not os.path.isabs(state_file) else state_file

    metrics_port_raw = env.get("NETAGENT_METRICS_PORT", doc.get("metrics_port", 9108))
    metrics_port = (
        None
        if metrics_port_raw in (None, "", "off", "none")
        else _int(metrics_port_raw, "metrics_port", 0, 65535)
    )
    retry = _Section(doc.get("retry") or {}, "retry")
    retry.reject_unknown({"initial", "max"})
    retry_initial = _float(retry.get("initial", 0.5), "retry.initial", minimum=0.001)
    retry_max = _float(retry.get("max", 30.0), "retry.max", minimum=retry_initial)

    return NetagentConfig(
        routers=routers,
        kafka=kafka,
        state_file=state_file,
        suspension_list=suspension_list,
        comment_tag=tag,
        speed_mode=speed_mode,
        reconcile_interval=_float(
            env.get("NETAGENT_RECONCILE_INTERVAL", doc.get("reconcile_interval", 300)),
            "reconcile_interval",
            minimum=0,
        ),
        probe_interval=_float(
            env.get("NETAGENT_PROBE_INTERVAL", doc.get("probe_interval", 5)), "probe_interval", minimum=0
        ),
        reconcile_remove_unknown=_bool(
            doc.get("reconcile_remove_unknown", False), "reconcile_remove_unknown"
        ),
        metrics_port=metrics_port,
        metrics_address=str(doc.get("metrics_address", "0.0.0.0")),
        retry_initial=retry_initial,
        retry_max=retry_max,
        diagnose_timeout=_float(doc.get("diagnose_timeout", 5.0), "diagnose_timeout", minimum=0.1),
        ignore_unknown_routers=_bool(doc.get("ignore_unknown_routers", False), "ignore_unknown_routers"),
        max_in_flight=_int(doc.get("max_in_flight", 10_000), "max_in_flight", 1, 10_000_000),
    )


class _Section:
    """A mapping from the config document that knows its path, for error messages."""

    def __init__(self, raw: Any, path: str) -> None:
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{path or 'the config'}: must be a mapping")
        self.raw = raw
        self.path = path

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def get(self, name: str, default: Any = None) -> Any:
        return self.raw.get(name, default)

    def require(self, name: str) -> Any:
        value = self.raw.get(name)
        if value in (None, ""):
            raise ConfigError(f"{self.key(name)}: required")
        return value

    def reject_unknown(self, known: set[str]) -> None:
        unknown = sorted(set(self.raw) - known)
        if unknown:
            raise ConfigError(f"{self.path or 'the config'}: unknown keys {', '.join(map(str, unknown))}")


def _env_name(router: str) -> str:
    return "NETAGENT_ROUTER_" + re.sub(r"[^A-Z0-9]", "_", router.upper())


def _router(section: _Section, env: Mapping[str, str], base: Path) -> RouterConfig:
    section.reject_unknown(
        {
            "name",
            "host",
            "port",
            "api_ssl",
            "ssl_verify",
            "ssl_cafile",
            "username",
            "password",
            "password_file",
            "timeout",
        }
    )
    name = section.require("name")
    if not isinstance(name, str) or not _ROUTER_NAME.match(name):
        raise ConfigError(f"{section.key('name')}: {name!r} is not a valid router name")
    prefix = _env_name(name)
    api_ssl = _bool(section.get("api_ssl", False), section.key("api_ssl"))
    host = env.get(f"{prefix}_HOST") or section.require("host")
    port = _int(
        env.get(f"{prefix}_PORT", section.get("port", 8729 if api_ssl else 8728)),
        section.key("port"),
        1,
        65535,
    )
    username = env.get(f"{prefix}_USERNAME") or section.require("username")
    password = _secret(
        env.get(f"{prefix}_PASSWORD"),
        env.get(f"{prefix}_PASSWORD_FILE"),
        section.get("password"),
        section.get("password_file"),
        where=f"{section.key('password')} (or password_file, {prefix}_PASSWORD[_FILE])",
        base=base,
        required=True,
    )
    assert password is not None
    cafile = section.get("ssl_cafile")
    if cafile is not None:
        cafile = _existing_file(cafile, section.key("ssl_cafile"), base)
    return RouterConfig(
        name=name,
        host=str(host),
        port=port,
        api_ssl=api_ssl,
        ssl_verify=_bool(section.get("ssl_verify", True), section.key("ssl_verify")),
        ssl_cafile=cafile,
        username=str(username),
        password=password,
        timeout=_float(section.get("timeout", 10.0), section.key("timeout"), minimum=0.1),
    )


def _kafka(section: _Section, env: Mapping[str, str], base: Path) -> KafkaConfig:
    section.reject_unknown(
        {
            "bootstrap_servers",
            "group_id",
            "commands_topic",
            "results_topic",
            "security_protocol",
            "ssl_cafile",
            "ssl_certfile",
            "ssl_keyfile",
            "sasl_mechanism",
            "sasl_username",
            "sasl_password",
            "sasl_password_file",
            "session_timeout_ms",
            "heartbeat_interval_ms",
            "max_poll_interval_ms",
        }
    )
    servers_raw: Any = env.get("NETAGENT_KAFKA_BOOTSTRAP_SERVERS", section.get("bootstrap_servers"))
    if isinstance(servers_raw, str):
        servers_raw = [s.strip() for s in servers_raw.split(",") if s.strip()]
    if not isinstance(servers_raw, list) or not servers_raw:
        raise ConfigError("kafka.bootstrap_servers: list at least one host:port")
    for server in servers_raw:
        if not isinstance(server, str) or not re.match(r"^[^\s:]+:\d{1,5}$", server):
            raise ConfigError(f"kafka.bootstrap_servers: {server!r} is not host:port")

    protocol = str(env.get("NETAGENT_KAFKA_SECURITY_PROTOCOL", section.get("security_protocol", "PLAINTEXT")))
    if protocol not in _SECURITY_PROTOCOLS:
        raise ConfigError(
            f"kafka.security_protocol: {protocol!r} is not one of {', '.join(_SECURITY_PROTOCOLS)}"
        )

    def file_option(name: str) -> str | None:
        value = env.get(f"NETAGENT_KAFKA_{name.upper()}", section.get(name))
        return None if value is None else _existing_file(value, section.key(name), base)

    mechanism = env.get("NETAGENT_KAFKA_SASL_MECHANISM", section.get("sasl_mechanism"))
    username = env.get("NETAGENT_KAFKA_SASL_USERNAME", section.get("sasl_username"))
    password = _secret(
        env.get("NETAGENT_KAFKA_SASL_PASSWORD"),
        env.get("NETAGENT_KAFKA_SASL_PASSWORD_FILE"),
        section.get("sasl_password"),
        section.get("sasl_password_file"),
        where="kafka.sasl_password",
        base=base,
        required=False,
    )
    if protocol.startswith("SASL_"):
        if mechanism not in _SASL_MECHANISMS:
            raise ConfigError(
                f"kafka.sasl_mechanism: {mechanism!r} is not one of {', '.join(_SASL_MECHANISMS)}"
            )
        if not username or not password:
            raise ConfigError("kafka.sasl_username and kafka.sasl_password: required with SASL")
    elif mechanism or username:
        raise ConfigError("kafka.sasl_*: set only with security_protocol SASL_PLAINTEXT or SASL_SSL")

    timeouts = {
        name: _int(section.get(name, default), section.key(name), 100, 3_600_000)
        for name, default in (
            ("session_timeout_ms", 10_000),
            ("heartbeat_interval_ms", 3_000),
            ("max_poll_interval_ms", 300_000),
        )
    }
    if timeouts["heartbeat_interval_ms"] >= timeouts["session_timeout_ms"]:
        raise ConfigError("kafka.heartbeat_interval_ms: must be below session_timeout_ms")
    group_id = str(env.get("NETAGENT_KAFKA_GROUP_ID", section.get("group_id", "netagent")))
    if not group_id:
        raise ConfigError("kafka.group_id: must not be empty")
    return KafkaConfig(
        bootstrap_servers=tuple(servers_raw),
        group_id=group_id,
        commands_topic=str(section.get("commands_topic", NETWORK_COMMANDS)),
        results_topic=str(section.get("results_topic", NETWORK_RESULTS)),
        security_protocol=protocol,
        ssl_cafile=file_option("ssl_cafile"),
        ssl_certfile=file_option("ssl_certfile"),
        ssl_keyfile=file_option("ssl_keyfile"),
        sasl_mechanism=mechanism,
        sasl_username=username,
        sasl_password=password,
        **timeouts,
    )


def _secret(
    env_value: str | None,
    env_file: str | None,
    value: Any,
    file: Any,
    *,
    where: str,
    base: Path,
    required: bool,
) -> str | None:
    """The first of: env value, env file, config value, config file; ConfigError if required and none."""
    if env_value:
        return env_value
    for candidate in (env_file, file):
        if candidate:
            path = Path(_existing_file(candidate, where, base))
            secret = path.read_text(encoding="utf-8").strip()
            if not secret:
                raise ConfigError(f"{where}: the file {path} is empty")
            return secret
    if value not in (None, ""):
        return str(value)
    if required:
        raise ConfigError(f"{where}: required")
    return None


def _existing_file(value: Any, where: str, base: Path) -> str:
    path = Path(str(value))
    if not path.is_absolute():
        path = base / path
    if not path.is_file():
        raise ConfigError(f"{where}: no such file {path}")
    return str(path)


def _bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "yes", "on", "1"):
        return True
    if isinstance(value, str) and value.lower() in ("false", "no", "off", "0"):
        return False
    raise ConfigError(f"{where}: {value!r} is not a boolean")


def _int(value: Any, where: str, minimum: int, maximum: int) -> int:
    try:
        if isinstance(value, bool):
            raise ValueError
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {value!r} is not an integer") from None
    if not minimum <= number <= maximum:
        raise ConfigError(f"{where}: {number} is not between {minimum} and {maximum}")
    return number


def _float(value: Any, where: str, *, minimum: float) -> float:
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {value!r} is not a number") from None
    if number < minimum:
        raise ConfigError(f"{where}: {number} is below {minimum}")
    return number
