"""The files read outside a workspace load (venue map, emulator profile, market model) report
problems as `validate` does: file, line and column of the offending key or value."""
from __future__ import annotations

import pytest

from kxrules.broker.emulator.config import load_emulator_config
from kxrules.broker.venues import load_venue_map_file
from kxrules.config.model_file import ConfigFileError
from kxrules.config.workspace import bundled_workspace
from kxrules.marketdata.sim_config import load_market_config

ROOT = bundled_workspace()


def _broken(tmp_path, shipped: str, old: str, new: str):
    text = (ROOT / shipped).read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "broken.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    line = text[:text.index(old)].count("\n") + 1
    return path, line


@pytest.mark.parametrize("load, shipped, old, new, where", [
    (load_venue_map_file, "config/venues/kiwoom.yaml", "cancel_hoga:", "cancel_hogaa:", "cancel_hogaa"),
    (load_emulator_config, "config/sim/default.yaml", "seed:", "seeed:", "seeed"),
    (load_market_config, "config/sim/market.yaml", "version:", "versio:", "versio"),
])
def test_an_unknown_key_is_reported_at_its_line(tmp_path, load, shipped, old, new, where):
    path, line = _broken(tmp_path, shipped, old, new)
    with pytest.raises(ConfigFileError, match=rf"broken\.yaml:{line}:\d+: {where}: Extra inputs"):
        load(path)


@pytest.mark.parametrize("load", [load_venue_map_file, load_emulator_config, load_market_config])
def test_a_syntax_error_is_reported_at_its_line(tmp_path, load):
    path = tmp_path / "bad.yaml"
    path.write_text("a: 1\nb: [2\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.yaml:\d+:\d+: "):
        load(path)


def test_the_shipped_side_files_load():
    assert load_venue_map_file().venues["KRX"].index == 0
    assert load_emulator_config(ROOT / "config/sim/default.yaml").seed >= 0
    assert load_market_config(ROOT / "config/sim/market.yaml").version == 1


def test_side_files_take_numbers_written_as_numbers_only(tmp_path):
    """They share the workspace files' base model: "5" is not the integer 5."""
    path, line = _broken(tmp_path, "config/sim/default.yaml", "seed: 20260812", 'seed: "20260812"')
    with pytest.raises(ConfigFileError, match=rf"broken\.yaml:{line}:\d+: seed: expected a whole number"):
        load_emulator_config(path)


def test_every_config_model_derives_from_the_one_strict_base():
    import importlib
    import inspect
    import pkgutil

    from pydantic import BaseModel

    import kxrules.config.schema as schema
    from kxrules.config.schema.common import Strict

    models = [obj for info in pkgutil.iter_modules(schema.__path__)
              for obj in vars(importlib.import_module(f"{schema.__name__}.{info.name}")).values()
              if inspect.isclass(obj) and issubclass(obj, BaseModel) and obj.__module__.startswith(schema.__name__)]
    assert len(models) > 40
    assert [m.__qualname__ for m in models if not issubclass(m, Strict)] == []
