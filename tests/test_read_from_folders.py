"""Lists stated once, where they live: the degradation presets (their folder), the document types
(``doctypes.available()``) and the kinds (the meta-schema), read from there by help texts, defaults
and the loader."""

from __future__ import annotations

import argparse

from docfoundry.config import add_arguments


def test_preset_help_lists_the_preset_folder():
    from docfoundry.cli import all_commands
    from synth.degrade import preset_names

    for command, flag in [("synth", "--degrade"), ("degrade", "--preset"), ("label audit", "--degrade")]:
        parser = argparse.ArgumentParser()
        add_arguments(parser, all_commands()[command].config)
        action = next(a for a in parser._actions if flag in a.option_strings)
        assert "|".join(preset_names()) in action.help, (command, action.help)


def test_doc_types_and_kinds_come_from_their_folder_and_meta_schema():
    from docfoundry.doctypes import KINDS, NUMERIC_KINDS, available, meta_schema
    from synth.generate import SynthConfig

    assert SynthConfig(out="o").doc_types == available()
    assert list(KINDS) == meta_schema()["properties"]["x-kind"]["enum"]
    assert set(NUMERIC_KINDS) <= set(KINDS)
