"""Compiles the pages' message catalogues (``.po`` to ``.mo``) as part of every install.

Everything else about the package is in ``pyproject.toml``. The ``.mo`` files are written
beside their ``.po`` in the source tree, which an editable install reads directly and a wheel
build then copies as package data; they are never committed nor edited by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from setuptools import Command, setup
from setuptools.command.build import build

CATALOGUES = Path("registry") / "translations"  # relative: setuptools refuses absolute paths


class compile_catalogs(Command):  # noqa: N801 - setuptools names commands this way
    description = "compile registry/translations/*/LC_MESSAGES/*.po to .mo"
    user_options: ClassVar[list[tuple[str, str | None, str]]] = []
    editable_mode = False

    def initialize_options(self) -> None:
        pass

    def finalize_options(self) -> None:
        pass

    def run(self) -> None:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for po in sorted(CATALOGUES.glob("*/LC_MESSAGES/*.po")):
            with po.open("rb") as source:
                catalogue = read_po(source, locale=po.parent.parent.name)
            mo = po.with_suffix(".mo")
            partial = mo.with_suffix(".mo.part")
            with partial.open("wb") as target:
                write_mo(target, catalogue, use_fuzzy=False)
            partial.replace(mo)

    def get_source_files(self) -> list[str]:
        return [str(po) for po in CATALOGUES.glob("*/LC_MESSAGES/*.po")]

    def get_outputs(self) -> list[str]:
        return [str(po.with_suffix(".mo")) for po in CATALOGUES.glob("*/LC_MESSAGES/*.po")]

    def get_output_mapping(self) -> dict[str, str]:
        return {}


build.sub_commands = [("compile_catalogs", None), *build.sub_commands]

setup(cmdclass={"compile_catalogs": compile_catalogs})
