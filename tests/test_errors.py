"""Every error newswatch raises on purpose derives from one base, NewswatchError."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import worker
from worker.config import ConfigError, load_config
from worker.errors import NewswatchError
from worker.topics.index import TopicQueryError
from worker.topics.query import QueryError, parse_query

# Control-flow signals that never leave the module that raises them.
INTERNAL_SIGNALS = {"worker.sources.fastfeed.Unusual"}


def _worker_modules():
    for info in pkgutil.walk_packages(worker.__path__, prefix="worker."):
        yield importlib.import_module(info.name)


def _exception_classes_defined_in_worker():
    found = {}
    for module in _worker_modules():
        for name, value in vars(module).items():
            # type(value), not isinstance: a Celery task is a lazy proxy that would
            # finalize the app (and read the config) when asked for its class.
            if (
                issubclass(type(value), type)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
            ):
                found[f"{value.__module__}.{name}"] = value
    return found


def test_every_exception_class_in_worker_derives_from_newswatch_error():
    classes = _exception_classes_defined_in_worker()
    assert len(classes) >= 12, sorted(classes)
    strays = sorted(
        name for name, cls in classes.items()
        if name not in INTERNAL_SIGNALS and not issubclass(cls, NewswatchError)
    )
    assert strays == []


@pytest.mark.parametrize(
    ("dotted", "kept_base"),
    [
        ("worker.config.ConfigError", ValueError),
        ("worker.topics.query.QueryError", ValueError),
        ("worker.sources.common.SourceError", ValueError),
        ("worker.parser.errors.ParseError", ValueError),
        ("worker.alerts.base.UnknownChannelType", ValueError),
        ("worker.web.WebError", ValueError),
        ("worker.history.base.HistoryUnavailable", RuntimeError),
    ],
)
def test_errors_keep_the_standard_base_callers_already_catch(dotted, kept_base):
    module, _, name = dotted.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, NewswatchError)
    assert issubclass(cls, kept_base)


def test_a_bad_config_and_a_bad_query_are_caught_by_the_one_base(tmp_path):
    (tmp_path / "settings.yaml").write_text("settings: [not, a, mapping\n")
    with pytest.raises(NewswatchError) as caught:
        load_config(tmp_path)
    assert isinstance(caught.value, ConfigError)
    with pytest.raises(NewswatchError) as caught:
        parse_query('"unclosed')
    assert isinstance(caught.value, QueryError)
    assert issubclass(TopicQueryError, NewswatchError)
