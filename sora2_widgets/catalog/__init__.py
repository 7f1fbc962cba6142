"""The catalog as data: one JSON file per fal endpoint, read into typed entries.

Each file in ``data/`` (and in ``$SORA2_WIDGETS_CATALOG_DIR``, when set: models of your own,
or a refreshed copy) holds fal's input JSON Schema for one endpoint, its output shape and our
metadata (id, name, family, mode, price rule with its source and date, retirement, facts still
to confirm, UI hints). :mod:`sora2_widgets._catalog` builds the :class:`~sora2_widgets.ModelSpec`
objects from them; the pydantic input models are built from the schemas on first use
(:func:`input_model_for`), so importing the package does not pay for them.
"""

from __future__ import annotations

from ._build import input_model_for
from ._entry import CATALOG_DIR_ENV, CatalogEntry, OutputShape, load_entries, parse_entry

__all__ = ["CATALOG_DIR_ENV", "CatalogEntry", "OutputShape", "input_model_for", "load_entries", "parse_entry"]
