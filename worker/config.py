"""Load the user's configuration: YAML file or folder, ${ENV} expansion, validation.

Every problem is collected (not just the first) and reported as
`file:line: key: what is wrong`, so a user fixes a config in one pass.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, overload

import yaml

from .durations import parse_duration
from .errors import NewswatchError
from .models import Channel, Config, RetryPolicy, Settings, Source, Topic

DEFAULT_CONFIG = "config"
# libyaml's loader when PyYAML was built with it: ten times faster on 10,000 sources.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

SOURCE_KEYS = {"id", "url", "kind", "every", "full_text", "language", "name", "selector",
               "adaptive", "min_every", "max_every", "websub"}
TOPIC_KEYS = {"id", "name", "query", "channels", "languages", "sources", "min_score"}
CHANNEL_COMMON_KEYS = {"id", "type", "mode", "every", "at", "retry"}
_DAILY_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
RETRY_KEYS = {"backoff", "max_backoff", "max_age"}
SETTINGS_KEYS = {f.name for f in fields(Settings)}
# min_every / max_every: 0 = derived from each source's every (the default).
ZERO_OK_SETTINGS = {"per_host_interval", "near_duplicate_hold", "history", "backlog_window",
                    "min_every", "max_every", "websub_poll_every"}
# Settings whose text must have a form: (key, pattern, what the error says).
SETTING_FORMATS = (
    ("redis_url", r"^rediss?://|^unix://", "must start with redis://, rediss:// or unix://"),
    ("database_url", r"^postgres(ql)?://", "must start with postgresql:// (or postgres://)"),
    ("public_url", r"^https?://[^/\s?#]+(/[^\s?#]*)?$",
     "must be an http(s) URL without query, e.g. https://news.example.org"),
)
TOP_KEYS = {"sources", "topics", "channels", "settings", "terms"}


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.key}: {self.message}"


class ConfigError(NewswatchError, ValueError):
    """The configuration is invalid; `.problems` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class _Node:
    """A YAML value with where it was written."""

    value: Any  # dict[str, _Node] | list[_Node] | scalar
    file: str
    line: int


class _Loader:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def problem(self, node: _Node, key: str, message: str) -> None:
        self.problems.append(Problem(node.file, node.line, key, message))

    # ------------------------------------------------------------------ reading YAML

    def read_file(self, path: Path) -> _Node | None:
        display = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            self.problems.append(Problem(display, 1, "-", f"cannot read: {error}"))
            return None
        try:
            root = yaml.compose(text, Loader=_YAML_LOADER)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            line = mark.line + 1 if mark else 1
            reason = getattr(error, "problem", None) or str(error)
            self.problems.append(Problem(display, line, "-", f"invalid YAML: {reason}"))
            return None
        if root is None:
            return _Node({}, display, 1)
        return self._convert(root, display)

    def _convert(self, node: yaml.Node, file: str) -> _Node:
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            mapping: dict[str, _Node] = {}
            for key_node, value_node in node.value:
                key = str(key_node.value)
                if key in mapping:
                    self.problems.append(
                        Problem(file, key_node.start_mark.line + 1, key, "duplicate key")
                    )
                converted = self._convert(value_node, file)
                converted.line = key_node.start_mark.line + 1
                mapping[key] = converted
            return _Node(mapping, file, line)
        if isinstance(node, yaml.SequenceNode):
            return _Node([self._convert(item, file) for item in node.value], file, line)
        # The composer already resolved plain scalars' tags (int, bool, null…).
        value = yaml.constructor.SafeConstructor().construct_object(node, deep=True)
        return _Node(self._expand(value, file, line), file, line)

    def _expand(self, value: Any, file: str, line: int) -> Any:
        if not isinstance(value, str) or "${" not in value:
            return value

        def replace(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in os.environ:
                return os.environ[name]
            if default is not None:
                return default
            self.problems.append(
                Problem(file, line, f"${{{name}}}", "environment variable is not set")
            )
            return ""

        return _ENV.sub(replace, value)


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    return [path]


class _Validator:
    """Turns the merged YAML nodes into typed config values, collecting problems."""

    def __init__(self, loader: _Loader) -> None:
        self.loader = loader

    def problem(self, node: _Node, key: str, message: str) -> None:
        self.loader.problem(node, key, message)

    def unknown_keys(self, node: _Node, allowed: set[str], where: str) -> None:
        for key, child in node.value.items():
            if key not in allowed:
                hint = ", ".join(sorted(allowed))
                self.problem(child, f"{where}.{key}", f"unknown key (expected one of: {hint})")

    def text(self, node: _Node | None, key: str, required: bool = False) -> str | None:
        if node is None or node.value is None or node.value == "":
            if required and node is not None:
                self.problem(node, key, "is required")
            return None
        if isinstance(node.value, dict | list):
            self.problem(node, key, "must be a text value")
            return None
        return str(node.value)

    def text_list(self, node: _Node | None, key: str) -> tuple[str, ...]:
        if node is None or node.value is None:
            return ()
        if isinstance(node.value, str):
            return (node.value,)
        if not isinstance(node.value, list):
            self.problem(node, key, "must be a list")
            return ()
        return tuple(str(item.value) for item in node.value if item.value is not None)

    def boolean(self, node: _Node | None, key: str, default: bool) -> bool:
        if node is None or node.value is None:
            return default
        if isinstance(node.value, bool):
            return node.value
        lowered = str(node.value).strip().lower()
        if lowered in ("true", "yes", "on", "1"):
            return True
        if lowered in ("false", "no", "off", "0", ""):
            return False
        self.problem(node, key, f"must be true or false, not {node.value!r}")
        return default

    # A default of None reads "no interval unless one is given"; a number never yields None.
    @overload
    def interval(self, node: _Node | None, key: str, default: float,
                 allow_zero: bool = False) -> float: ...

    @overload
    def interval(self, node: _Node | None, key: str, default: None,
                 allow_zero: bool = False) -> float | None: ...

    def interval(self, node: _Node | None, key: str, default: float | None,
                 allow_zero: bool = False) -> float | None:
        if node is None or node.value is None:
            return default
        seconds = parse_duration(node.value)
        if seconds is None or (seconds == 0 and not allow_zero):
            self.problem(node, key, f"bad interval {node.value!r} (use e.g. 30s, 5m, 1h)")
            return default
        return seconds

    def number(self, node: _Node | None, key: str, default: float) -> float:
        if node is None or node.value is None:
            return default
        try:
            return float(node.value)
        except (TypeError, ValueError):
            self.problem(node, key, f"must be a number, not {node.value!r}")
            return default

    def identifier(self, node: _Node, where: str, seen: dict[str, _Node]) -> str | None:
        fields_ = node.value
        id_node = fields_.get("id")
        ident = self.text(id_node, f"{where}.id")
        if id_node is None or ident is None:
            self.problem(node, f"{where}.id", "is required")
            return None
        if not _ID.match(ident):
            self.problem(id_node, f"{where}.id", f"{ident!r} must match [a-z0-9-]")
        if ident in seen:
            first = seen[ident]
            self.problem(id_node, f"{where}.id", f"duplicate id {ident!r} (first at {first.file}:{first.line})")
        seen[ident] = id_node
        return ident

    def entries(self, node: _Node | None, key: str) -> list[_Node]:
        if node is None or node.value is None:
            return []
        if not isinstance(node.value, list):
            self.problem(node, key, "must be a list")
            return []
        good = []
        for index, item in enumerate(node.value):
            if isinstance(item.value, dict):
                good.append(item)
            else:
                self.problem(item, f"{key}[{index}]", "must be a mapping")
        return good

    # ------------------------------------------------------------------ sections

    def source(self, node: _Node, where: str, seen: dict[str, _Node]) -> Source | None:
        from .sources import READERS  # late: the readers are not needed to load a config

        self.unknown_keys(node, SOURCE_KEYS, where)
        f = node.value
        ident = self.identifier(node, where, seen)
        url = self.text(f.get("url"), f"{where}.url")
        if url is None:
            self.problem(f.get("url", node), f"{where}.url", "is required")
        elif not re.match(r"^https?://[^/\s]+", url):
            self.problem(f["url"], f"{where}.url", f"{url!r} is not an http(s) URL")
        kind = self.text(f.get("kind"), f"{where}.kind") or "feed"
        if kind not in READERS:
            self.problem(f["kind"], f"{where}.kind", f"{kind!r} is not one of {', '.join(READERS)}")
        every = self.interval(f.get("every"), f"{where}.every", 300.0) or 300.0
        min_every = self.interval(f.get("min_every"), f"{where}.min_every", None)
        max_every = self.interval(f.get("max_every"), f"{where}.max_every", None)
        if min_every is not None and min_every > every:
            self.problem(f["min_every"], f"{where}.min_every", "must not be longer than every")
        if max_every is not None and max_every < every:
            self.problem(f["max_every"], f"{where}.max_every", "must not be shorter than every")
        adaptive_node = f.get("adaptive")
        adaptive = None if adaptive_node is None or adaptive_node.value is None else \
            self.boolean(adaptive_node, f"{where}.adaptive", True)
        if ident is None or url is None:
            return None
        return Source(
            id=ident, url=url, kind=kind, every=every,
            full_text=self.boolean(f.get("full_text"), f"{where}.full_text", False),
            language=self.text(f.get("language"), f"{where}.language"),
            name=self.text(f.get("name"), f"{where}.name"),
            selector=self.text(f.get("selector"), f"{where}.selector"),
            adaptive=adaptive, min_every=min_every, max_every=max_every,
            websub=self.boolean(f.get("websub"), f"{where}.websub", True),
        )

    def channel(self, node: _Node, where: str, seen: dict[str, _Node]) -> Channel | None:
        from .alerts.base import CHANNEL_TYPES, channel_option_problems

        f = node.value
        ident = self.identifier(node, where, seen)
        channel_type = self.text(f.get("type"), f"{where}.type")
        if channel_type is None:
            self.problem(f.get("type", node), f"{where}.type", f"is required ({', '.join(CHANNEL_TYPES)})")
            return None
        if channel_type not in CHANNEL_TYPES:
            self.problem(f["type"], f"{where}.type", f"{channel_type!r} is not one of {', '.join(CHANNEL_TYPES)}")
            return None
        # An option that expands to nothing (`${WEBHOOK_SECRET:-}`) counts as not given.
        options = {
            k: _plain(v) for k, v in f.items()
            if k not in CHANNEL_COMMON_KEYS and v.value not in (None, "")
        }
        for key, message in channel_option_problems(channel_type, options):
            self.problem(f.get(key, node), f"{where}.{key}", message)
        mode = self.text(f.get("mode"), f"{where}.mode") or "instant"
        if mode not in ("instant", "digest"):
            self.problem(f["mode"], f"{where}.mode", f"{mode!r} is not one of instant, digest")
        every = self.interval(f.get("every"), f"{where}.every", None)
        at = self.text(f.get("at"), f"{where}.at")
        if at is not None and not _DAILY_TIME.match(at):
            self.problem(f["at"], f"{where}.at", f"{at!r} is not a time of day like 08:00")
            at = None
        if mode == "digest" and every is None and at is None:
            self.problem(f.get("mode", node), f"{where}.every",
                         "digest mode needs every: (e.g. 1h) or at: (a daily time, e.g. 08:00)")
        retry = RetryPolicy()
        retry_node = f.get("retry")
        if retry_node is not None:
            if not isinstance(retry_node.value, dict):
                self.problem(retry_node, f"{where}.retry", "must be a mapping")
            else:
                self.unknown_keys(retry_node, RETRY_KEYS, f"{where}.retry")
                r = retry_node.value
                retry = RetryPolicy(
                    backoff=self.interval(r.get("backoff"), f"{where}.retry.backoff", retry.backoff),
                    max_backoff=self.interval(
                        r.get("max_backoff"), f"{where}.retry.max_backoff", retry.max_backoff
                    ),
                    max_age=self.interval(r.get("max_age"), f"{where}.retry.max_age", retry.max_age),
                )
        if ident is None:
            return None
        return Channel(id=ident, type=channel_type, options=options, mode=mode, every=every, at=at,
                       retry=retry)

    def topic(self, node: _Node, where: str, seen: dict[str, _Node],
              channel_ids: set[str], source_ids: set[str],
              term_lists: dict[str, tuple[str, ...]]) -> Topic | None:
        from .topics import QueryError, parse_query

        self.unknown_keys(node, TOPIC_KEYS, where)
        f = node.value
        ident = self.identifier(node, where, seen)
        query_node = f.get("query")
        query = self.text(query_node, f"{where}.query")
        used: tuple[str, ...] = ()
        if query is None:
            self.problem(query_node or node, f"{where}.query", "is required")
        else:
            try:
                used = parse_query(query, term_lists).lists
            except QueryError as error:
                self.problem(query_node, f"{where}.query", str(error))
        channels = self.text_list(f.get("channels"), f"{where}.channels")
        for name in channels:
            if name not in channel_ids:
                self.problem(f["channels"], f"{where}.channels", f"no channel with id {name!r}")
        sources = self.text_list(f.get("sources"), f"{where}.sources")
        for name in sources:
            if name not in source_ids:
                self.problem(f["sources"], f"{where}.sources", f"no source with id {name!r}")
        if ident is None or query is None:
            return None
        return Topic(
            id=ident, name=self.text(f.get("name"), f"{where}.name") or ident, query=query,
            channels=channels, sources=sources,
            languages=self.text_list(f.get("languages"), f"{where}.languages"),
            min_score=self.number(f.get("min_score"), f"{where}.min_score", 0.0),
            term_lists=tuple((name, term_lists[name]) for name in used),
        )

    def term_lists(self, nodes: list[_Node]) -> dict[str, tuple[str, ...]]:
        """`terms:` -> name -> its terms, with lists naming lists resolved.

        Each problem (a bad term, an unknown list, a cycle) is reported once, where
        it is written; a broken list still resolves to its good terms so topics
        using it are not reported a second time.
        """
        from .topics.query import LIST_NAME

        items: dict[str, list[tuple[str, _Node]]] = {}
        where_defined: dict[str, _Node] = {}
        for node in nodes:
            if not isinstance(node.value, dict):
                self.problem(node, "terms", "must be a mapping of list names to lists of terms")
                continue
            for name, child in node.value.items():
                key = f"terms.{name}"
                if not LIST_NAME.match(name):
                    self.problem(child, key, "a list name is letters, digits, '_' or '-'")
                elif name in where_defined:
                    first = where_defined[name]
                    self.problem(child, key, f"duplicate list (first at {first.file}:{first.line})")
                else:
                    where_defined[name] = child
                    items[name] = self._term_list(child, key)
        flat: dict[str, tuple[str, ...]] = {}
        for name in items:
            self._resolve_list(name, [], items, flat)
        return flat

    def _term_list(self, child: _Node, key: str) -> list[tuple[str, _Node]]:
        """One list's good items (terms and `@list` references), each with its node."""
        from .topics import QueryError
        from .topics.query import term_item

        values = child.value if isinstance(child.value, list) else None
        if not values:
            self.problem(child, key, "must be a non-empty list of terms")
            return []
        good: list[tuple[str, _Node]] = []
        for index, item in enumerate(values):
            if isinstance(item.value, dict | list) or item.value in (None, ""):
                self.problem(item, f"{key}[{index}]", "must be a term (a word, prefix* or phrase)")
                continue
            text = str(item.value)
            if not text.startswith("@"):
                try:
                    term_item(text)
                except QueryError as error:
                    self.problem(item, f"{key}[{index}]", str(error))
                    continue
            good.append((text, item))
        return good

    def _resolve_list(self, name: str, path: list[str], items: dict[str, list[tuple[str, _Node]]],
                      flat: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
        """List `name`'s terms with its `@list` references expanded (into `flat`), in order and
        without repeats; `path` is the chain of lists being expanded, to report cycles."""
        if name in flat:
            return flat[name]
        path = [*path, name]
        out: dict[str, None] = {}  # ordered, without repeats
        for index, (text, item) in enumerate(items[name]):
            if not text.startswith("@"):
                out[text] = None
                continue
            other = text[1:]
            where = f"terms.{name}[{index}]"
            if other not in items:
                self.problem(item, where, f"no term list '@{other}'")
            elif other in path:
                cycle = " -> ".join("@" + n for n in [*path[path.index(other):], other])
                self.problem(item, where, f"'@{other}' makes a cycle: {cycle}")
            else:
                out.update(dict.fromkeys(self._resolve_list(other, path, items, flat)))
        flat[name] = tuple(out)
        return flat[name]

    def settings(self, nodes: list[_Node]) -> Settings:
        values: dict[str, Any] = {}
        defaults = Settings()
        for node in nodes:
            if not isinstance(node.value, dict):
                self.problem(node, "settings", "must be a mapping")
                continue
            self.unknown_keys(node, SETTINGS_KEYS, "settings")
            for key, child in node.value.items():
                if key not in SETTINGS_KEYS:
                    continue
                default = getattr(defaults, key)
                name = f"settings.{key}"
                if isinstance(default, bool):
                    values[key] = self.boolean(child, name, default)
                elif isinstance(default, tuple):
                    values[key] = self.text_list(child, name)
                elif isinstance(default, float):
                    values[key] = self.interval(child, name, default, allow_zero=key in ZERO_OK_SETTINGS)
                elif isinstance(default, int):
                    values[key] = int(self.number(child, name, default))
                    if values[key] < 0:
                        self.problem(child, name, f"must be 0 or more, not {values[key]}")
                        values[key] = default
                else:
                    values[key] = self.text(child, name) or default
        for key, pattern, message in SETTING_FORMATS:
            value = values.get(key) or ""
            if value and not re.match(pattern, value):
                self.setting_problem(nodes, key, message)
        low, high = values.get("min_every", 0.0), values.get("max_every", 0.0)
        if low and high and low > high:
            self.setting_problem(nodes, "max_every", "must not be shorter than settings.min_every")
        return Settings(**values)

    def setting_problem(self, nodes: list[_Node], key: str, message: str) -> None:
        """A problem with `settings.<key>`, reported at the line of the file that set it."""
        node = next(n for n in nodes if key in n.value)
        self.problem(node.value[key], f"settings.{key}", message)


def _plain(node: _Node) -> Any:
    if isinstance(node.value, dict):
        return {k: _plain(v) for k, v in node.value.items()}
    if isinstance(node.value, list):
        return [_plain(v) for v in node.value]
    return node.value


def config_path(path: str | os.PathLike[str] | None = None) -> Path:
    return Path(path or os.environ.get("NEWSWATCH_CONFIG") or DEFAULT_CONFIG)


def _sections(validator: _Validator, documents: list[_Node]) -> dict[str, list[_Node]]:
    """Each top-level key's nodes, over every file (a folder may split a section)."""
    sections: dict[str, list[_Node]] = {key: [] for key in TOP_KEYS}
    for document in documents:
        if not isinstance(document.value, dict):
            validator.problem(document, "-", "the top level must be a mapping")
            continue
        for key, node in document.value.items():
            if key not in TOP_KEYS:
                validator.problem(node, key,
                                  "unknown key (expected sources, topics, channels, settings, terms)")
            else:
                sections[key].append(node)
    return sections


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load and validate a config file or folder; raise ConfigError listing every problem."""
    root = config_path(path)
    loader = _Loader()
    if not root.exists():
        raise ConfigError([Problem(str(root), 0, "-", "no such file or folder")])
    documents = [doc for doc in (loader.read_file(p) for p in _files(root)) if doc is not None]
    if not documents and not loader.problems:
        raise ConfigError([Problem(str(root), 0, "-", "no *.yaml files in this folder")])
    validator = _Validator(loader)
    sections = _sections(validator, documents)

    def items(key: str) -> list[_Node]:
        return [item for node in sections[key] for item in validator.entries(node, key)]

    seen_sources: dict[str, _Node] = {}
    sources = [
        validator.source(node, f"sources[{i}]", seen_sources)
        for i, node in enumerate(items("sources"))
    ]
    seen_channels: dict[str, _Node] = {}
    channels = [
        validator.channel(node, f"channels[{i}]", seen_channels)
        for i, node in enumerate(items("channels"))
    ]
    term_lists = validator.term_lists(sections["terms"])
    seen_topics: dict[str, _Node] = {}
    topics = [
        validator.topic(node, f"topics[{i}]", seen_topics, set(seen_channels), set(seen_sources),
                        term_lists)
        for i, node in enumerate(items("topics"))
    ]
    settings = validator.settings(sections["settings"])
    for name in settings.ops_channels:
        if name not in seen_channels:
            validator.setting_problem(sections["settings"], "ops_channels", f"no channel with id {name!r}")
    if loader.problems:
        raise ConfigError(loader.problems)
    return Config(
        sources=tuple(s for s in sources if s),
        topics=tuple(t for t in topics if t),
        channels=tuple(c for c in channels if c),
        settings=settings,
        terms=term_lists,
    )


def secrets_of(config: Config) -> list[str]:
    """Values that must never reach a log line: channel secrets, passwords in URLs."""
    found: list[str] = []
    for channel in config.channels:
        for key, value in channel.options.items():
            if key in ("secret", "password", "token") and isinstance(value, str) and value:
                found.append(value)
            if isinstance(value, str):
                found.extend(_url_password(value))
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, str):
                        found.extend(_url_password(item))
    found.extend(_url_password(config.settings.redis_url))
    found.extend(_url_password(config.settings.database_url))
    found.append(config.settings.web_password)
    return [s for s in found if len(s) >= 3]


def _url_password(value: str) -> list[str]:
    match = re.match(r"^[a-z][a-z0-9+.-]*://[^/@:\s]*:([^@/\s]+)@", value)
    return [match.group(1)] if match else []
